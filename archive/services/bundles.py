"""Export: a BagIt bundle for one record or a whole chain (a lot so far), checkable offline.

The record bytes come from the write-once store, not from the database, and are checked against
the log's leaf hashes before anything is exported: a bundle never carries bytes the log does not.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import func, select

from archive import bag, jcs, merkle
from archive.models import ArchiveChainHead, ArchiveCheckpoint, ArchiveRecord, ArchiveSegment
from archive.services.log import NodeStore, latest_checkpoint, origin, rfc3339, signer
from archive.services.sequencer import storage
from archive.verify import STATEMENT_TYPE
from core.clock import now
from core.db import db
from core.errors import Conflict, NotFound
from core.storage.base import ObjectNotFound, content_key

logger = logging.getLogger(__name__)
#: attachments larger than this are referenced by hash only (fetch them separately)
MAX_ATTACHMENT_BYTES = 256 * 1024 * 1024


class StoredRecordMismatch(Conflict):
    """The stored bytes of a record no longer hash to its log leaf: the auditor must look."""

    code = "stored_record_mismatch"


def record_bytes(rec: ArchiveRecord, cache: dict | None = None) -> bytes:
    """The signed envelope from the record's segment, checked against the log's leaf hash."""
    cache = {} if cache is None else cache
    seg: ArchiveSegment = rec.segment
    if seg.id not in cache:
        try:
            cache[seg.id] = storage().get_bytes(seg.key)
        except ObjectNotFound:
            raise StoredRecordMismatch(f"segment {seg.key} is missing from the store") from None
    data = cache[seg.id][rec.offset:rec.offset + rec.length]
    if merkle.leaf_hash(data).hex() != rec.leaf_hash:
        raise StoredRecordMismatch(f"record {rec.id} in {seg.key} does not match its log leaf")
    return data


def chain_records(chain: str, up_to_size: int) -> list[ArchiveRecord]:
    return list(db.session.scalars(select(ArchiveRecord).where(ArchiveRecord.chain == chain,
                                                               ArchiveRecord.leaf_index < up_to_size)
                                   .order_by(ArchiveRecord.seq)))


RULE_INTEGRITY = "档案法 第二十一条 (禁止篡改、损毁、伪造档案); 档案法实施条例 第三十九条"


class ArchiveCut(Conflict):
    """Rows of the signed log are missing from the database: an export would be a shorter truth."""


def check_uncut(size: int, chain: str) -> None:
    """Every leaf the signed checkpoint of ``size`` covers has its row (leaves are numbered 0…size−1
    without gaps), and the chain's rows run 1…n to its head: a record deleted from the database is an
    error here, whichever chain it was in (档案法 第二十一条: no record may be destroyed or altered).

    :raises ArchiveCut: 409 ``archive_cut`` naming what is missing
    """
    rows = db.session.scalar(select(func.count()).select_from(ArchiveRecord)
                             .where(ArchiveRecord.leaf_index < size)) or 0
    if rows != size:
        raise ArchiveCut(f"the signed checkpoint covers {size} records but the database holds {rows} of them: "
                         "records were removed from the archive", code="archive_cut", rule=RULE_INTEGRITY)
    head = db.session.get(ArchiveChainHead, chain)
    held = db.session.scalar(select(func.count()).select_from(ArchiveRecord).where(ArchiveRecord.chain == chain))
    if head is not None and held != head.last_seq:
        raise ArchiveCut(f"chain {chain} ends at record {head.last_seq} but the database holds {held} of its "
                         "records: records were removed from the archive", code="archive_cut", rule=RULE_INTEGRITY)


def _first_checkpoints(recs: list[ArchiveRecord], below: int) -> dict[int, str]:
    """For each record the first checkpoint that covered it: the one a party may have kept then."""
    out = {}
    for rec in recs:
        row = db.session.execute(select(ArchiveCheckpoint.size, ArchiveCheckpoint.root)
                                 .where(ArchiveCheckpoint.size > rec.leaf_index)
                                 .order_by(ArchiveCheckpoint.size).limit(1)).first()
        if row and row.size < below:
            out[row.size] = row.root
    return out


def build(*, record: ArchiveRecord | None = None, chain: str | None = None,
          priors: list[dict] | None = None) -> dict[str, bytes]:
    """The bag (``{path: bytes}``) for one record or for a chain up to the newest checkpoint.

    :param priors: checkpoint bodies (size, root) the recipient already trusts; the bundle then
        carries consistency proofs from them (``ggzy archive verify --prior``)
    :raises Conflict: the record is not sealed yet, or the store disagrees with the log
    """
    cp = latest_checkpoint()
    if cp is None or (record is not None and record.leaf_index >= cp.size):
        raise Conflict("not sealed yet: wait for the next checkpoint", code="not_sealed")
    check_uncut(cp.size, record.chain if record is not None else chain)
    recs = [record] if record is not None else chain_records(chain, cp.size)
    if not recs:
        raise NotFound(f"no sealed records in chain {chain!r}", code="unknown_chain")
    store, cache, payload = NodeStore(), {}, {}
    entries, attachments = [], {}
    nodes, proofs = merkle.share_nodes(store.run(merkle.inclusion_path, rec.leaf_index, cp.size) for rec in recs)
    for rec, proof in zip(recs, proofs, strict=True):
        data = record_bytes(rec, cache)
        path = f"records/{rec.leaf_index:012d}.json"
        payload[path] = data
        entries.append({"file": f"data/{path}", "sha256": hashlib.sha256(data).hexdigest(), "seq": rec.seq,
                        "leaf_index": rec.leaf_index, "proof": proof})
        for att in rec.attachments:
            attachments.update(_attachment(att))
    for sha, content in attachments.items():
        payload[f"attachments/{sha}"] = content
    firsts = _first_checkpoints(recs, cp.size)
    firsts.update({p["size"]: p["root"] for p in priors or [] if 0 < p["size"] < cp.size})
    statement = {
        "type": STATEMENT_TYPE, "origin": origin(),
        "scope": {"kind": "record" if record is not None else "chain", "chain": recs[0].chain,
                  "record": record.leaf_index if record is not None else None},
        "exported_at": rfc3339(now()), "checkpoint": {"size": cp.size, "root": cp.root},
        "nodes": [h.hex() for h in nodes], "records": entries,
        "attachments": [{"file": f"data/attachments/{sha}", "sha256": sha, "size": len(c)}
                        for sha, c in sorted(attachments.items())],
        "consistency": [{"first_size": size, "first_root": root,
                         "path": [h.hex() for h in store.run(merkle.consistency_path, size, cp.size)]}
                        for size, root in sorted(firsts.items())],
    }
    sign = signer()
    sig = {"alg": sign.alg, "kid": sign.kid, "value": sign.sign(jcs.dumps(statement))}
    payload["statement.json"] = jcs.dumps({"statement": statement, "signature": sig})
    payload["checkpoint.json"] = cp.document.encode()
    ident = f"record {record.leaf_index}" if record is not None else f"chain {recs[0].chain}"
    return bag.make(payload, {"Source-Organization": origin(), "Bag-Software-Agent": "ggzy archive export",
                              "Bagging-Date": dt.date.today().isoformat(), "External-Identifier": ident})


def _attachment(att: dict) -> dict[str, bytes]:
    """The attachment bytes if the store has them (re-hashed), else nothing: referenced by hash only."""
    if att["size"] > MAX_ATTACHMENT_BYTES:
        return {}
    try:
        data = storage().get_bytes(content_key(att["sha256"]))
    except ObjectNotFound:
        return {}
    if hashlib.sha256(data).hexdigest() != att["sha256"]:
        raise StoredRecordMismatch(f"attachment {att['sha256']} in the store does not match its hash")
    return {att["sha256"]: data}
