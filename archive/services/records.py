"""From outbox events to record payloads; finding records again.

An event handler only *captures* the event (one insert, idempotent on the event id).  The single
sequencer (``services/sequencer.py``) turns captured events into signed, hash-linked records, so
per-lot sequence numbers never race between workers.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal

from sqlalchemy import or_, select

from archive import jcs
from archive.models import ArchivePending, ArchiveRecord
from archive.services import retention
from archive.services.log import rfc3339
from archive.verify import RECORD_SCHEMA
from core.db import db
from core.errors import Conflict, NotFound, ValidationFailed
from core.permissions import RULE_WHO_BIDS, lots_taking_bids, not_found_detail

logger = logging.getLogger(__name__)

#: events whose payload is sealed to the archive key (expert identities before the award)
CONFIDENTIAL_PREFIXES = ("experts.",)
PLATFORM_CHAIN = "platform"
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")


def capture(event) -> ArchivePending | None:
    """Queue one outbox event for sequencing; a repeat of the same event id is ignored."""
    if db.session.scalar(select(ArchivePending.id).where(ArchivePending.event_id == event.event_id)) or \
            db.session.scalar(select(ArchiveRecord.id).where(ArchiveRecord.event_id == event.event_id)):
        return None
    row = ArchivePending(event_id=event.event_id, name=event.name, payload=event.payload,
                         created_at=event.created_at)
    db.session.add(row)
    return row


def is_confidential(event_name: str) -> bool:
    return event_name.startswith(CONFIDENTIAL_PREFIXES)


def normalise(value):
    """JSON the canonical form accepts unchanged: floats become decimal strings (money must never be
    a binary float), integers beyond ±2^53 become strings."""
    kind = type(value)  # exact types first (what JSON payloads hold); subclasses take the rules below
    if kind is str or value is None or kind is bool:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): normalise(v) for k, v in value.items()}
    if kind is int and -jcs.MAX_SAFE_INT <= value <= jcs.MAX_SAFE_INT:
        return value
    if isinstance(value, float):
        logger.warning("float %r archived as a decimal string", value)
        return format(Decimal(repr(value)), "f")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= jcs.MAX_SAFE_INT else str(value)
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return str(value)


def bmp_keys(value) -> bool:
    """After :func:`normalise`, the only JCS fast-path condition left to check: object keys inside
    the BMP (``archive/jcs.py`` explains why)."""
    if isinstance(value, dict):
        return all((k.isascii() or max(k) <= "\uffff") and bmp_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return all(bmp_keys(v) for v in value)
    return True


def chain_of(payload: dict) -> tuple[str, int | None]:
    lot_id = payload.get("lot_id")
    if isinstance(lot_id, int) and not isinstance(lot_id, bool) and lot_id > 0:
        return f"lot:{lot_id}", lot_id
    return PLATFORM_CHAIN, None


def parties_of(data: dict) -> list[str]:
    """Who a record concerns, for search: ``org:<id>`` and ``user:<id>`` tokens."""
    found = set()
    for key, value in data.items():
        kind = "org" if key.endswith(("org_id", "org_ids", "organisation_id")) or key == "bidder_id" else \
            "user" if key.endswith(("user_id", "user_ids")) or key == "actor_id" else None
        values = value if isinstance(value, list) else [value]
        if kind:
            found.update(f"{kind}:{v}" for v in values if isinstance(v, int) and not isinstance(v, bool))
    return sorted(found)


def attachments_of(data: dict) -> list[dict]:
    """Attachment references the event names (``attachments: [{name, sha256, size}]``), validated."""
    out = []
    for item in data.get("attachments") or []:
        if not (isinstance(item, dict) and isinstance(item.get("sha256"), str) and _HEX64.match(item["sha256"])
                and isinstance(item.get("size"), int) and item["size"] >= 0):
            logger.warning("ignoring malformed attachment reference %r", item)
            continue
        out.append({"name": str(item.get("name") or item["sha256"])[:200], "sha256": item["sha256"],
                    "size": item["size"], "content_type": str(item.get("content_type") or
                                                              "application/octet-stream")[:100]})
    return out


def build_payload(*, pending: ArchivePending, chain: str, seq: int, prev: str | None, category: str,
                  archived_at: dt.datetime, sealed: dict | None, data: dict, retention_of=None,
                  archived_text: str | None = None) -> dict:
    """The record body that is canonicalised and signed (fields in docs/archive-bundle-format.md).

    ``retention_of(category) → (years, until as RFC 3339)`` and ``archived_text``: the sequencer's
    per-batch cache of the same values.
    """
    if retention_of is None:
        years = retention.years_for(category)
        until = rfc3339(retention.retain_until(category, archived_at, years))
    else:
        years, until = retention_of(category)
    confidential = sealed is not None
    return {
        "schema": RECORD_SCHEMA, "chain": chain, "seq": seq, "prev": prev,
        "lot_id": chain_of(data)[1],
        "event": {"id": pending.event_id, "name": pending.name, "created_at": rfc3339(pending.created_at)},
        "archived_at": archived_text or rfc3339(archived_at), "category": category,
        "retention": {"years": years, "until": until},
        "parties": [] if confidential else parties_of(data),
        "data": None if confidential else data, "sealed": sealed,
        "attachments": [] if confidential else attachments_of(data),
    }


# --- finding records -------------------------------------------------------------------------------

def search(*, lot_id: int | None = None, party: str | None = None, event: str | None = None,
           chain: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
           limit: int = 50, offset: int = 0) -> list[ArchiveRecord]:
    """Records by lot, party (``org:12``), event type (prefix), chain and event time."""
    q = select(ArchiveRecord).order_by(ArchiveRecord.leaf_index.desc())
    if lot_id is not None:
        q = q.where(ArchiveRecord.lot_id == lot_id)
    if party:
        if not re.fullmatch(r"(org|user):\d{1,10}", party):
            raise ValidationFailed("party is org:<id> or user:<id>", code="invalid_party")
        q = q.where(ArchiveRecord.parties.contains(f" {party} ", autoescape=True))
    if event:
        q = q.where(ArchiveRecord.event_name.startswith(event, autoescape=True))
    if chain:
        q = q.where(ArchiveRecord.chain == chain)
    if since is not None:
        q = q.where(ArchiveRecord.event_time >= since)
    if until is not None:
        q = q.where(ArchiveRecord.event_time < until)
    q = q.where(or_(ArchiveRecord.lot_id.is_(None), ArchiveRecord.lot_id.not_in(lots_taking_bids())))
    return list(db.session.scalars(q.limit(limit).offset(offset)))


def get_record(record_id: int) -> ArchiveRecord:
    """A record, answered as missing (the same words as an unknown id) while its lot takes bids."""
    row = db.session.get(ArchiveRecord, record_id)
    if row is None or _taking_bids(row.lot_id):
        raise NotFound(not_found_detail(ArchiveRecord, record_id))
    return row


def check_disclosable(chain: str) -> None:
    """A lot's chain is read only once the lot stops taking bids (RULE_WHO_BIDS).

    Why the whole chain and not only the records that name bidders: a chain's records are numbered
    and hash-linked, so the ones left out would still be counted by the gaps.  What the lot's
    publication says is on the public portal meanwhile.

    :raises Conflict: the lot's bid deadline is still ahead
    """
    lot_id = int(chain[4:]) if chain.startswith("lot:") and chain[4:].isdigit() else None
    if _taking_bids(lot_id):
        raise Conflict("this lot still takes bids: its archived records are read after the bid deadline",
                       code="before_deadline", rule=RULE_WHO_BIDS)


def _taking_bids(lot_id: int | None) -> bool:
    if lot_id is None:
        return False
    open_lots = lots_taking_bids().subquery()
    return db.session.scalar(select(open_lots.c.id).where(open_lots.c.id == lot_id)) is not None


def pending_count() -> int:
    return db.session.scalar(select(db.func.count(ArchivePending.id))) or 0
