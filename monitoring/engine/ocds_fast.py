"""Fast paths of the OCDS reader: msgspec decodes only the fields the scan uses.

``json.loads`` builds every dict and string of a release (ids, names, roles, dates of each
bid...), which costs more than the whole analysis of the market.  Here typed msgspec
schemas skip the unused fields while decoding, in three tiers:

1. the *clean* schema: required fields and exact types (``amount: float``, ``id: str``,
   the closed OCDS status code lists as ``Literal``), so msgspec checks a release in C; a
   clean release's columns are then moved a release at a time, ids and contacts coded on
   the way (:meth:`Reader._clean`) — no Python loop per bid, no string kept per row;
2. the *lenient* schema (``Any`` values): a release the clean schema refuses (a missing
   amount, an integer id, a null telephone...) is decoded again and read bid by bid with
   the generic path's checks and warnings (:meth:`Reader._lenient`);
3. a line msgspec refuses (or a release package) makes :meth:`Reader.release` return False
   *before anything is recorded*, and the caller reads it with ``json.loads`` and the
   tolerant generic code (:func:`monitoring.engine.io._release_rows`).

All tiers give the same rows, codes and warnings for the same release
(``tests/monitoring/test_ocds_fast.py`` checks each odd case against the generic code).
"""

from __future__ import annotations

import math
from itertools import repeat
from operator import attrgetter
from typing import Any, Literal

import msgspec

from monitoring.engine.io import OcdsColumns, WarningLog, parse_date, parse_float

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



# Clean schema (tier 1): the shape of a clean release, with the types the columns take as
# they are.  A release that does not fit is decoded again with the lenient schema above.

#: the closed OCDS code lists: a Literal decodes to one shared string, not a new one per bid
_BidStatus = Literal["invited", "pending", "valid", "disqualified", "withdrawn"]
_AwardStatus = Literal["pending", "active", "cancelled", "unsuccessful"]


class _CleanRef(msgspec.Struct, **_S):
    id: str


class _CleanAmount(msgspec.Struct, **_S):
    amount: float


class _CleanBid(msgspec.Struct, **_S):
    value: _CleanAmount
    tenderers: list[_CleanRef]
    status: _BidStatus | None = None


class _CleanBids(msgspec.Struct, **_S):
    details: list[_CleanBid] | None = None


class _CleanAward(msgspec.Struct, **_S):
    status: _AwardStatus | None = None
    suppliers: list[_CleanRef] | None = None


class _CleanContact(msgspec.Struct, **_S):
    telephone: str = ""
    email: str = ""


class _CleanParty(msgspec.Struct, **_S):
    id: str
    contactPoint: _CleanContact = msgspec.field(default_factory=_CleanContact)  # noqa: N815


class _CleanEstimate(msgspec.Struct, **_S):
    amount: float | None = None


class _CleanTender(msgspec.Struct, **_S):
    value: _CleanEstimate | None = None
    tenderPeriod: _Period | None = None  # noqa: N815


class _CleanRelease(msgspec.Struct, **_S):
    ocid: str
    date: Any = None
    tender: _CleanTender | None = None
    bids: _CleanBids | None = None
    awards: list[_CleanAward] | None = None
    parties: list[_CleanParty] | None = None
    releases: msgspec.Raw = msgspec.UNSET


_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)
_SKIP = ("withdrawn", "invited")


def _number(x: Any) -> float | None:
    """``parse_float(str(x))`` of the generic path, without the round trip for floats."""
    if type(x) is float:
        return x if math.isfinite(x) else None
    return parse_float(str(x))


_SKIP_SET = frozenset(_SKIP)
_STATUS = attrgetter("status")
_NO_CONTACT = _CleanContact()
_NO_CONTACTS: dict[str, _CleanContact] = {}


def _winners(awards: list | None) -> set[str]:
    """Supplier ids of active awards (either schema: the same attribute names)."""
    winners = set()
    for award in awards or ():
        if award.status in ("active", None):
            for s in award.suppliers or ():
                if s.id is not None:
                    winners.add(str(s.id))
    return winners


class _LowerCodes(dict):
    """Email as written -> code of its lower-case form in ``book``: one lookup per bid, and
    ``str.lower`` (a new string each call) only once per distinct spelling."""

    def __init__(self, book: dict[str, int]) -> None:
        super().__init__()
        self.book = book

    def __missing__(self, raw: str) -> int:
        code = self[raw] = self.book[raw.lower()]
        return code


class Reader:
    """Appends the bid rows of msgspec-decodable releases to ``cols`` (tiers 1 and 2 of the
    module docstring); ids, telephones and emails go through the columns' code books."""

    def __init__(self, cols: OcdsColumns, log: WarningLog) -> None:
        self.cols = cols
        self.log = log
        self.decode = msgspec.json.Decoder(_Release).decode
        self.decode_clean = msgspec.json.Decoder(_CleanRelease).decode
        self.dates: dict[str, float | None] = {}
        books = cols.books
        self.code_tender = books["tender_id"].__getitem__
        self.code_bidder = books["bidder_id"].__getitem__
        self.code_phone = books["phone"].__getitem__
        self.code_email = _LowerCodes(books["email"]).__getitem__

    def _date(self, raw: Any) -> float | None:
        if not isinstance(raw, str):
            return None
        d = self.dates.get(raw, 0)
        if d == 0 and raw not in self.dates:
            d = self.dates[raw] = parse_date(raw)
        return d

    def _estimate_and_date(self, rel: _Release | _CleanRelease) -> tuple[float | None, float | None]:
        """Tender value and date (tender period end, else release date), either schema."""
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
        return est, date

    def release(self, line: bytes | memoryview, lineno: int) -> bool:
        """Read one line; False (nothing recorded) when the generic path must read it."""
        try:
            rel = self.decode_clean(line)
        except _ERRORS:
            return self._lenient(line, lineno)
        if rel.releases is not msgspec.UNSET:
            return False
        return self._clean(rel) or self._lenient(line, lineno)

    def _clean(self, rel: _CleanRelease) -> bool:
        """Record a release of the clean schema a column at a time (comprehensions and
        ``map`` over its bids: specialised attribute loads, no per-bid frame); False (nothing
        recorded) when it needs the lenient path's checks (a bid without tenderer, an empty
        id, two parties of one id)."""
        details = rel.bids.details if rel.bids is not None else None
        if details and not _SKIP_SET.isdisjoint(map(_STATUS, details)):
            details = [b for b in details if b.status not in _SKIP_SET]
        if not details:
            return True
        try:
            tids = [b.tenderers[0].id for b in details]
        except IndexError:
            return False
        parties = rel.parties or ()
        contacts = {p.id: p.contactPoint for p in parties} if parties else _NO_CONTACTS
        # two parties of one id: the generic path ignores a later one without contact
        # point, which the default contact here cannot tell from an empty one
        if "" in tids or len(contacts) != len(parties):
            return False
        cps = list(map(contacts.get, tids, repeat(_NO_CONTACT)))
        est, date = self._estimate_and_date(rel)
        winners = _winners(rel.awards)
        n, c = len(tids), self.cols
        codes = c.codes
        codes["tender_id"].extend(repeat(self.code_tender(rel.ocid), n))
        codes["bidder_id"].extend(map(self.code_bidder, tids))
        codes["phone"].extend(map(self.code_phone, [cp.telephone for cp in cps]))
        codes["email"].extend(map(self.code_email, [cp.email for cp in cps]))
        c.amount.extend([b.value.amount for b in details])
        c.winner.extend(map(winners.__contains__, tids))
        c.date.extend(repeat(math.nan if date is None else date, n))
        c.estimate.extend(repeat(math.nan if est is None else est, n))
        return True

    def _lenient(self, line: bytes | memoryview, lineno: int) -> bool:
        """The lenient schema, bid by bid with the generic path's checks and warnings."""
        try:
            rel = self.decode(line)
        except _ERRORS:
            return False
        if rel.releases is not msgspec.UNSET:
            return False
        where = lineno  # formatted "line N" by the warning log
        ocid = rel.ocid
        if not isinstance(ocid, str):
            self.log.add("ocid", where, ocid)
            return True
        details = (rel.bids.details if rel.bids is not None else None) or ()
        if not details:
            return True
        winners = _winners(rel.awards)
        contacts: dict[str, _Contact] = {}
        for party in rel.parties or ():
            if party.contactPoint is not None:
                contacts[str(party.id)] = party.contactPoint
        est, date = self._estimate_and_date(rel)
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
            cp = contacts.get(tid)
            phone, email = ("", "") if cp is None else (str(cp.telephone or ""), str(cp.email or "").lower())
            self.cols.add_row(ocid, tid, amount, tid in winners, date, est, phone, email)
        return True
