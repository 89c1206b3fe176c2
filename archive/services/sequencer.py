"""The one sequencer: captured events → signed, hash-linked records → stored segment → Merkle log →
signed checkpoint, one batch per transaction.

Order inside a batch (ARCHIVE.md §4.10): the segment object is written (write-once, locked) first,
then the records, nodes, chain heads and checkpoint are added to the session; the caller commits.
A crash before the commit leaves an orphan segment and the events still pending — they are
sequenced again, never lost and never half-logged.

Only one sequencer runs at a time (a lease row); even if two ran, the unique leaf index, node and
(chain, seq) constraints make the slower batch fail as a whole at commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time

from flask import current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from archive import confidential, jcs, merkle, signing
from archive.models import (
    ArchiveChainHead,
    ArchiveCheckpoint,
    ArchiveNode,
    ArchivePending,
    ArchiveRecord,
    ArchiveSegment,
)
from archive.services import records, retention
from archive.services.log import NodeStore, log_size, rfc3339, sign_checkpoint, signer
from core import events, leases
from core.clock import now
from core.db import db
from core.storage.base import ObjectNotFound, content_key

logger = logging.getLogger(__name__)
LEASE = "sequencer"
LEASE_SECONDS = 30
BATCH = 2000


def storage():
    return current_app.extensions["storage"]


def archive_public_key():
    return confidential.archive_key(current_app.config["GGZY_KEY_DIR"]).public_key()


class _Chains:
    """Chain heads for one batch: read once, advanced in memory, written back at the end."""

    def __init__(self, names: set[str]):
        rows = db.session.scalars(select(ArchiveChainHead).where(ArchiveChainHead.chain.in_(names))) if names else []
        self.rows = {r.chain: r for r in rows}
        self.heads = {c: (r.last_seq, r.last_hash) for c, r in self.rows.items()}
        self.categories: dict[str, str] = {}

    def next(self, chain: str) -> tuple[int, str | None]:
        seq, last = self.heads.get(chain, (0, None))
        return seq + 1, last

    def advance(self, chain: str, seq: int, payload_hash: str) -> None:
        self.heads[chain] = (seq, payload_hash)

    def save(self) -> None:
        for chain, (seq, last) in self.heads.items():
            row = self.rows.get(chain)
            if row is None:
                db.session.add(ArchiveChainHead(chain=chain, last_seq=seq, last_hash=last))
            else:
                row.last_seq, row.last_hash = seq, last


def _category(chains: _Chains, chain: str, data: dict) -> str:
    """A lot keeps the category its first categorised event gave it (usually lot_published)."""
    given = retention.category_of(data.get("category"))
    if given != "unspecified":
        chains.categories[chain] = given
        return given
    if chain not in chains.categories:
        previous = db.session.scalar(select(ArchiveRecord.category).where(ArchiveRecord.chain == chain)
                                     .order_by(ArchiveRecord.seq.desc()).limit(1))
        chains.categories[chain] = previous or ("platform" if chain == records.PLATFORM_CHAIN else "unspecified")
    return chains.categories[chain]


class _Batch:
    """What every record of one batch shares: the moment, the keys, retention per category, and the
    signer that signs the canonical bytes on another core while the next records are built."""

    def __init__(self, moment: dt.datetime, count: int):
        self.moment, self.sign, self.archive_pub = moment, signer(), archive_public_key()
        self.retention: dict[str, tuple[int, str]] = {}
        self.archived_text = rfc3339(moment)
        self.signer = signing.BatchSigner(self.sign.raw, count)
        # the signature object's canonical bytes around its base64 value (which needs no escaping)
        template = jcs.dumps_prechecked({"alg": self.sign.alg, "kid": self.sign.kid, "value": "@"})
        head, tail = template.rsplit(b'"@"', 1)
        self.sig_head, self.sig_tail = b',"sig":' + head + b'"', b'"' + tail + b"}"

    def retention_of(self, category: str) -> tuple[int, str]:
        if category not in self.retention:
            years = retention.years_for(category)
            self.retention[category] = years, rfc3339(retention.retain_until(category, self.moment, years))
        return self.retention[category]


def _build_one(pending, chains: _Chains, batch: _Batch) -> tuple[dict, bytes]:
    """The record's payload and canonical bytes; queued for signing; the chain head advanced."""
    data = records.normalise(pending.payload)
    chain, _lot = records.chain_of(data)
    seq, prev = chains.next(chain)
    category = _category(chains, chain, data)
    sealed = confidential.seal(data, batch.archive_pub, pending.event_id) \
        if records.is_confidential(pending.name) else None
    payload = records.build_payload(pending=pending, chain=chain, seq=seq, prev=prev, category=category,
                                    archived_at=batch.moment, sealed=sealed, data=data,
                                    retention_of=batch.retention_of, archived_text=batch.archived_text)
    payload_bytes = jcs.dumps_prechecked(payload) if records.bmp_keys(data) else jcs.dumps(payload)
    batch.signer.add(payload_bytes)
    payload_hash = hashlib.sha256(payload_bytes).hexdigest()
    chains.advance(chain, seq, payload_hash)
    return payload | {"_payload_sha256": payload_hash}, payload_bytes


def _seal_all(pending, chains: _Chains, moment: dt.datetime) -> list[tuple[dict, bytes]]:
    """(payload, signed envelope) per pending event, in order."""
    batch = _Batch(moment, len(pending))
    built = [_build_one(p, chains, batch) for p in pending]
    head, tail = batch.sig_head, batch.sig_tail
    return [(payload, b'{"payload":' + payload_bytes + head + sig.encode() + tail)
            for (payload, payload_bytes), sig in zip(built, batch.signer.signatures(), strict=True)]


def sequence_batch(*, limit: int = BATCH) -> int:
    """Seal up to ``limit`` pending events as one batch (the caller commits); returns how many."""
    pending = db.session.execute(select(ArchivePending.id, ArchivePending.event_id, ArchivePending.name,
                                        ArchivePending.payload, ArchivePending.created_at)
                                 .order_by(ArchivePending.id).limit(limit)).all()
    if not pending:
        return 0
    moment, size = now(), log_size()
    chains = _Chains({records.chain_of(p.payload if isinstance(p.payload, dict) else {})[0] for p in pending})
    sealed = _seal_all(pending, chains, moment)
    segment = _store_segment([env for _p, env in sealed], size, sealed, moment)
    leaves = [merkle.leaf_hash(env) for _p, env in sealed]
    store = NodeStore()
    store.prefetch(merkle.frontier(size))
    new_nodes = merkle.append(store.node, size, leaves)
    store.cache.update(new_nodes)
    _insert_rows(pending, sealed, leaves, size, segment)
    db.session.execute(insert(ArchiveNode.__table__), [{"level": lv, "index": ix, "hash": h}
                                             for (lv, ix), h in new_nodes.items()])
    chains.save()
    db.session.execute(delete(ArchivePending).where(ArchivePending.id.in_([p.id for p in pending])),
                       execution_options={"synchronize_session": False})
    _checkpoint(size + len(pending), merkle.root(store.node, size + len(pending)), moment)
    _protect_attachments(sealed)
    db.session.flush()
    return len(pending)


def _store_segment(envelopes: list[bytes], first_leaf: int, sealed, moment) -> ArchiveSegment:
    """Write the batch as one write-once, COMPLIANCE-locked object (one fsync / one PUT per batch)."""
    body = b"".join(env + b"\n" for env in envelopes)
    digest = hashlib.sha256(body).hexdigest()
    until = max(dt.datetime.fromisoformat(p["retention"]["until"]) for p, _env in sealed)
    info = storage().put_content_addressed(body, length=len(body), sha256=digest, retain_until=until,
                                           content_type="application/x-ndjson")
    segment = ArchiveSegment(key=info.key, sha256=digest, size=len(body), first_leaf=first_leaf,
                             count=len(envelopes), retain_until=until, created_at=moment)
    db.session.add(segment)
    db.session.flush()
    return segment


def _insert_rows(pending, sealed, leaves, size: int, segment: ArchiveSegment) -> None:
    rows, offset = [], 0
    for i, (p, (payload, env)) in enumerate(zip(pending, sealed, strict=True)):
        rows.append({
            "leaf_index": size + i, "chain": payload["chain"], "seq": payload["seq"], "lot_id": payload["lot_id"],
            "event_name": p.name, "event_id": p.event_id, "event_time": p.created_at,
            "archived_at": dt.datetime.fromisoformat(payload["archived_at"]),
            "parties": " " + " ".join(payload["parties"]) + " ", "category": payload["category"],
            "retain_until": dt.datetime.fromisoformat(payload["retention"]["until"]),
            "confidential": payload["sealed"] is not None, "payload_sha256": payload["_payload_sha256"],
            "leaf_hash": leaves[i].hex(), "attachments": payload["attachments"], "segment_id": segment.id,
            "offset": offset, "length": len(env)})
        offset += len(env) + 1
    db.session.execute(insert(ArchiveRecord.__table__), rows)


def _checkpoint(size: int, root: bytes, moment: dt.datetime) -> ArchiveCheckpoint:
    doc, data = sign_checkpoint(size=size, root=root, moment=moment)
    key = f"archive/checkpoints/{size:012d}-{hashlib.sha256(data).hexdigest()[:16]}.json"
    until = retention.retain_until("platform", moment)
    storage().put(key, data, sha256=hashlib.sha256(data).hexdigest(), content_type="application/json",
                  retain_until=until, write_once=True)
    row = ArchiveCheckpoint(size=size, root=root.hex(), timestamp=moment, kid=doc["body"]["kid"],
                            document=data.decode(), storage_key=key)
    db.session.add(row)
    events.record("archive.checkpoint_signed", {"size": size, "root": root.hex(),
                                                "timestamp": doc["body"]["timestamp"], "kid": row.kid})
    return row


def _protect_attachments(sealed) -> None:
    """Attachments already in the store get the record's retention too (never shortened)."""
    for payload, _env in sealed:
        for att in payload["attachments"]:
            key = content_key(att["sha256"])
            until = dt.datetime.fromisoformat(payload["retention"]["until"])
            try:
                info = storage().stat(key)
            except ObjectNotFound:
                logger.info("attachment %s not in the store (referenced by hash only)", att["sha256"])
                continue
            if info.retain_until is None or info.retain_until < until:
                storage().extend_retention(key, until, info.version_id)


# --- the guarded loop the periodic task runs ------------------------------------------------------

def acquire_lease(holder: str, seconds: float = LEASE_SECONDS) -> bool:
    """Take or renew the sequencer's lease (core.leases; committed at once so other workers see it)."""
    return leases.acquire(LEASE, holder, seconds)


def release_lease(holder: str) -> None:
    leases.release(LEASE, holder)


def run(*, max_seconds: float = 0.9, batch: int = BATCH, holder: str | None = None) -> int:
    """Seal batches until nothing is pending or ``max_seconds`` passed; one commit per batch.

    Returns the number sealed, or -1 if another sequencer holds the lease.
    """
    holder = holder or leases.holder_id()
    if not acquire_lease(holder):
        return -1
    sealed, started = 0, time.monotonic()
    renewed = started
    try:
        while True:
            count = sequence_batch(limit=batch)
            if count == 0:
                break
            events.commit()
            sealed += count
            if time.monotonic() - started > max_seconds:
                break
            if time.monotonic() - renewed > LEASE_SECONDS / 3:  # renew well before the lease runs out
                acquire_lease(holder)
                renewed = time.monotonic()
    except IntegrityError:
        db.session.rollback()
        logger.warning("another sequencer committed first; this batch is dropped and will be retried")
    finally:
        release_lease(holder)
    return sealed
