"""What the API and the archivist page show: a record with its proof, and the in-app verify button.

The button runs exactly the offline verifier (``archive.verify``) on the same bundle an export
would produce, against the trust document the platform publishes — same code, same checks.
"""
from __future__ import annotations

import json

from archive import verify
from archive.models import ArchiveRecord
from archive.services import bundles, log
from core.errors import Conflict, ValidationFailed


def record_detail(record: ArchiveRecord, tree_size: int | None = None) -> dict:
    """The signed envelope, an inclusion proof and the checkpoint it leads to."""
    cp = log.latest_checkpoint() if tree_size is None else log.checkpoint_at(tree_size)
    if cp is None or record.leaf_index >= cp.size:
        raise Conflict("not sealed yet: wait for the next checkpoint", code="not_sealed")
    envelope = json.loads(bundles.record_bytes(record))
    return {"record": record, "envelope": envelope,
            "proof": {"leaf_index": record.leaf_index, "tree_size": cp.size,
                      "path": log.inclusion(record.leaf_index, cp.size)},
            "checkpoint": json.loads(cp.document)}


def verify_record(record: ArchiveRecord) -> dict:
    files = bundles.build(record=record)
    trust = verify.load_trust(json.dumps(log.trust_document()).encode())
    _code, report = verify.verify_files(files, trust)
    return report


def consistency_detail(first: int, second: int | None) -> dict:
    second = second if second is not None else log.log_size()
    if second == 0:
        raise ValidationFailed("the log is empty", code="tree_size_out_of_range")
    path = log.consistency(first, second)
    first_root = log.root_at(first).hex() if first else None
    return {"first": first, "second": second, "first_root": first_root,
            "second_root": log.root_at(second).hex(), "path": path}
