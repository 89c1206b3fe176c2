"""The archive's operations in the one permission table: archivists, supervisors and admins only.

Everything here is read-only except the legal hold.  Nobody else — bidders, agencies, experts,
the public — reads the archive through these endpoints (records include other parties' bids and,
sealed, expert identities).
"""
from __future__ import annotations

from core.permissions import _r, declare

READERS = {"archivist", "supervisor", "admin"}

OPERATIONS = {
    "archive.records.list": _r(roles=READERS, description="find records by lot, party, type, date"),
    "archive.records.read": _r(roles=READERS, description="a record with its inclusion proof"),
    "archive.records.verify": _r(roles=READERS, description="run the offline checks on a record"),
    "archive.records.export": _r(roles=READERS, description="download a verification bundle (BagIt tar)"),
    "archive.records.hold": _r(roles=READERS, writes=True, description="set or release a legal hold"),
    "archive.log.read": _r(roles=READERS, description="checkpoints, consistency proofs, trust anchors"),
    "archive.pages.search": _r(roles=READERS, description="archivist search page"),
    "archive.pages.record": _r(roles=READERS, description="archivist record page and its verify button"),
}

for _op, _rule in OPERATIONS.items():
    declare(_op, _rule)
