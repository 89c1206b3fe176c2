"""The Merkle log in the database: node look-ups, proofs, checkpoints, the platform signer.

Nodes of every complete subtree are stored as they are appended (``archive_nodes``), so a proof
needs O(log² n) nodes.  Proofs are computed in two passes: a dry run collects which nodes are
needed, one query fetches them all, then ``archive.merkle`` computes the proof.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import current_app
from sqlalchemy import select, tuple_

from archive import jcs, merkle
from archive.models import ArchiveCheckpoint, ArchiveNode
from archive.verify import CHECKPOINT_TYPE, SIG_ALG, TRUST_TYPE
from core import crypto
from core.db import db
from core.errors import NotFound, ValidationFailed
from core.keys import platform_keys

logger = logging.getLogger(__name__)
_ZERO = bytes(32)
_SIGNERS: dict[tuple[str, str], object] = {}


def origin() -> str:
    """The log's name, pinned in every trust file (one log per installation)."""
    return current_app.config.get("GGZY_ARCHIVE_ORIGIN", "ggzy/archive/v1")


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Signer:
    kid: str
    key: object

    alg = SIG_ALG

    def sign(self, data: bytes) -> str:
        return crypto.b64e(self.key.sign(data))

    @property
    def raw(self) -> bytes:
        """The raw private key, for the batch signing worker (``archive.signing``)."""
        return self.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())


def signer() -> Signer:
    """The platform's current signing key, loaded once per key (``PlatformKeys.sign`` re-reads the PEM
    file on every call, which would cost more than the signature itself at thousands per second)."""
    keys = platform_keys()
    kid = keys.manifest()["current"]
    cache_key = (str(keys.dir), kid)
    if cache_key not in _SIGNERS:
        _SIGNERS[cache_key] = crypto.load_private(Path(keys.dir) / f"signing-{kid.split(':')[1]}.pem")
    return Signer(kid, _SIGNERS[cache_key])


def trust_document() -> dict:
    """TRUST.json for auditors: the origin and every platform signing key with its validity."""
    manifest = platform_keys().manifest()
    keys = {e["kid"]: {"alg": SIG_ALG, "public_key": e["public_key"], "valid_from": e["created_at"],
                       "valid_until": e.get("retired_at")} for e in manifest["signing"]}
    return {"type": TRUST_TYPE, "origin": origin(), "keys": keys}


# --- nodes ---------------------------------------------------------------------------------------

class NodeStore:
    """``node(level, index)`` over ``archive_nodes`` with a per-use cache."""

    def __init__(self, extra: dict | None = None):
        self.cache: dict[tuple[int, int], bytes] = dict(extra or {})

    def prefetch(self, wanted) -> None:
        missing = [k for k in set(wanted) if k not in self.cache]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            rows = db.session.execute(select(ArchiveNode.level, ArchiveNode.index, ArchiveNode.hash)
                                      .where(tuple_(ArchiveNode.level, ArchiveNode.index).in_(chunk)))
            self.cache.update({(lvl, idx): bytes(h) for lvl, idx, h in rows})

    def node(self, level: int, index: int) -> bytes:
        if (level, index) not in self.cache:
            self.prefetch([(level, index)])
        if (level, index) not in self.cache:
            raise LookupError(f"Merkle node ({level}, {index}) missing from archive_nodes")
        return self.cache[(level, index)]

    def run(self, fn, *args):
        """Dry-run ``fn(node_source, *args)`` to learn the nodes it reads, fetch them, run it."""
        wanted: list[tuple[int, int]] = []

        def record(level: int, index: int) -> bytes:
            wanted.append((level, index))
            return _ZERO
        fn(record, *args)
        self.prefetch(wanted)
        return fn(self.node, *args)


def log_size() -> int:
    """Leaves covered by the newest checkpoint (every committed batch ends with one)."""
    return db.session.scalar(select(db.func.max(ArchiveCheckpoint.size))) or 0


def latest_checkpoint() -> ArchiveCheckpoint | None:
    return db.session.scalar(select(ArchiveCheckpoint).order_by(ArchiveCheckpoint.size.desc()).limit(1))


def checkpoint_at(size: int) -> ArchiveCheckpoint:
    row = db.session.scalar(select(ArchiveCheckpoint).where(ArchiveCheckpoint.size == size))
    if row is None:
        raise NotFound(f"no checkpoint of size {size}", code="unknown_checkpoint")
    return row


def sign_checkpoint(*, size: int, root: bytes, moment: dt.datetime) -> tuple[dict, bytes]:
    """The checkpoint document ``{"body", "signature"}`` and its canonical bytes."""
    sign = signer()
    body = {"type": CHECKPOINT_TYPE, "origin": origin(), "size": size, "root": root.hex(),
            "timestamp": rfc3339(moment), "alg": sign.alg, "kid": sign.kid}
    doc = {"body": body, "signature": sign.sign(jcs.dumps(body))}
    return doc, jcs.dumps(doc)


def inclusion(leaf_index: int, size: int, store: NodeStore | None = None) -> list[str]:
    _check_sizes(leaf_index + 1, size)
    return [h.hex() for h in (store or NodeStore()).run(merkle.inclusion_path, leaf_index, size)]


def consistency(first: int, second: int, store: NodeStore | None = None) -> list[str]:
    if first < 0 or first > second:
        raise ValidationFailed("need 0 ≤ first ≤ second", code="invalid_tree_sizes")
    _check_sizes(first, second)
    return [h.hex() for h in (store or NodeStore()).run(merkle.consistency_path, first, second)]


def root_at(size: int, store: NodeStore | None = None) -> bytes:
    _check_sizes(size, size)
    return (store or NodeStore()).run(merkle.root, size)


def _check_sizes(needed: int, size: int) -> None:
    current = log_size()
    if size > current or needed > size or size < 0:
        raise ValidationFailed(f"the log has {current} sealed leaves", code="tree_size_out_of_range")
