"""Archive use cases (DESIGN §8), one module per concern; the public names are re-exported here.

``records`` (capture, payloads, search), ``sequencer`` (batches → log → checkpoints), ``log``
(proofs, checkpoints, trust), ``bundles`` (export), ``custody`` (auditor, legal hold, deletion),
``retention`` (periods per category).  Services flush, never commit.
"""
from archive.services.bundles import build as build_bundle
from archive.services.bundles import record_bytes
from archive.services.custody import audit_storage, delete_object, set_legal_hold
from archive.services.log import (
    checkpoint_at,
    consistency,
    inclusion,
    latest_checkpoint,
    log_size,
    trust_document,
)
from archive.services.records import capture, check_disclosable, get_record, pending_count, search
from archive.services.sequencer import run as run_sequencer
from archive.services.sequencer import sequence_batch

__all__ = ["audit_storage", "build_bundle", "capture", "check_disclosable", "checkpoint_at", "consistency",
           "delete_object", "get_record", "inclusion", "latest_checkpoint", "log_size", "pending_count",
           "record_bytes", "run_sequencer", "search", "sequence_batch", "set_legal_hold", "trust_document"]
