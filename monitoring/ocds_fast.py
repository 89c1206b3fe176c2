"""Fast path of the OCDS reader: msgspec decodes only the fields the scan uses.

``json.loads`` builds every dict and string of a release (ids, names, roles, dates of each
bid...), which costs more than the whole analysis of the market.  Here a typed msgspec
schema skips the unused fields while decoding.  The schema is strict about the types of the
fields it does read; a line that does not fit it (a value of an odd type, a release
package, JSON that msgspec refuses) makes :meth:`Reader.release` return False *before
anything is recorded*, and the caller reads that line with ``json.loads`` and the tolerant
generic code (:func:`monitoring.io._release_rows`).  Both paths give the same rows and
warnings for the same release.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from monitoring.io import WarningLog, parse_date, parse_float

_S = {"gc": False, "omit_defaults": False}


class _Ref(msgspec.Struct, **_S):
    id: Any = None
    name: Any = None


class _Value(msgspec.Struct, **_S):
    amount: Any = None


class _Bid(msgspec.Struct, **_S):
    id: Any = None
    status: Any = None
    value: _Value | None = None
    tenderers: list[_Ref] | None = None


class _Bids(msgspec.Struct, **_S):
    details: list[_Bid] | None = None


class _Award(msgspec.Struct, **_S):
    status: Any = None
    suppliers: list[_Ref] | None = None


class _Contact(msgspec.Struct, **_S):
    telephone: Any = None
    email: Any = None


class _Party(msgspec.Struct, **_S):
    id: Any = None
    contactPoint: _Contact | None = None  # noqa: N815 (OCDS field name)


class _Period(msgspec.Struct, **_S):
    endDate: Any = None  # noqa: N815


class _Tender(msgspec.Struct, **_S):
    value: _Value | None = None
    tenderPeriod: _Period | None = None  # noqa: N815


class _Release(msgspec.Struct, **_S):
    ocid: Any = None
    date: Any = None
    tender: _Tender | None = None
    bids: _Bids | None = None
    awards: list[_Award] | None = None
    parties: list[_Party] | None = None
    releases: Any = msgspec.UNSET


_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)
_SKIP = ("withdrawn", "invited")


def _number(x: Any) -> float | None:
    """``parse_float(str(x))`` of the generic path, without the round trip for floats."""
    if type(x) is float:
        return x if math.isfinite(x) else None
    return parse_float(str(x))


class Reader:
    """Appends the bid rows of fast-decodable releases to ``cols`` (the reader's columns)."""

    def __init__(self, cols: dict[str, list], log: WarningLog) -> None:
        self.cols = cols
        self.log = log
        self.decode = msgspec.json.Decoder(_Release).decode
        self.dates: dict[str, float | None] = {}

    def _date(self, raw: Any) -> float | None:
        if not isinstance(raw, str):
            return None
        d = self.dates.get(raw, 0)
        if d == 0 and raw not in self.dates:
            d = self.dates[raw] = parse_date(raw)
        return d

    def release(self, line: bytes, where: str) -> bool:
        """Read one line; False (nothing recorded) when the generic path must read it."""
        try:
            rel = self.decode(line)
        except _ERRORS:
            return False
        if rel.releases is not msgspec.UNSET:
            return False
        ocid = rel.ocid
        if not isinstance(ocid, str):
            self.log.add("ocid", where, ocid)
            return True
        details = (rel.bids.details if rel.bids is not None else None) or ()
        if not details:
            return True
        winners = set()
        for award in rel.awards or ():
            if award.status in ("active", None):
                for s in award.suppliers or ():
                    if s.id is not None:
                        winners.add(str(s.id))
        contacts: dict[str, _Contact] = {}
        for party in rel.parties or ():
            if party.contactPoint is not None:
                contacts[str(party.id)] = party.contactPoint
        tender = rel.tender
        est = date = None
        if tender is not None:
            est = _number(tender.value.amount if tender.value is not None else None)
            if tender.tenderPeriod is not None:
                date = self._date(tender.tenderPeriod.endDate)
        else:
            est = _number(None)
        if date is None:
            date = self._date(rel.date)
        c = self.cols
        t_ids, b_ids, amounts, wins = c["tender_id"], c["bidder_id"], c["amount"], c["winner"]
        dates, ests, phones, emails = c["date"], c["estimate"], c["phone"], c["email"]
        for bid in details:
            if bid.status in _SKIP:
                continue
            tenderers = bid.tenderers
            amount = _number(bid.value.amount if bid.value is not None else None)
            if not tenderers or amount is None:
                self.log.add("bid", where, bid.id)
                continue
            t0 = tenderers[0]
            tid = str(t0.id or t0.name or "")
            if not tid:
                self.log.add("bid", where, bid.id)
                continue
            t_ids.append(ocid)
            b_ids.append(tid)
            amounts.append(amount)
            wins.append(tid in winners)
            dates.append(date)
            ests.append(est)
            cp = contacts.get(tid)
            if cp is None:
                phones.append("")
                emails.append("")
            else:
                phones.append(str(cp.telephone or ""))
                emails.append(str(cp.email or "").lower())
        return True
