"""Bidding use cases, split by concern (STYLE: a room past ~400 lines becomes a package).

Keyword-only functions that flush, never commit, and raise DomainError subclasses citing the
article.  The public names are re-exported here: callers import ``bidding.services``.
"""
from bidding.services.bids import (
    bids_of,
    collect_uploads,
    confirm_bid,
    mark_for_reconfirmation,
    withdraw_bid,
)
from bidding.services.bonds import (
    BondRefused,
    bonds_of,
    check_refund,
    mark_refunded,
    record_bond,
    refund_due,
)
from bidding.services.closing import (
    CLOSE_GRACE,
    arm_close,
    close_bidding,
    close_due_lots,
    count_standing_bids,
)
from bidding.services.eligibility import DeadlinePassed, NotEligible, check_eligible, check_open
from bidding.services.opening import (
    RULE_CUSTODY,
    RULE_ENCRYPTION,
    Custodian,
    CustodiansMissing,
    PackageRefused,
    create_opening_key,
    custodians_for,
    opening_key,
    rebuild_opening_key,
    require_custodians,
    shares_of,
    validate_package,
)
from bidding.services.submission import discard_chunks, finish_upload, package_key, submit_package
from bidding.services.uploads import (
    UploadError,
    active_bid,
    cancel_upload,
    chunk_area,
    put_chunk,
    start_upload,
    upload_status,
)

__all__ = [
    "CLOSE_GRACE", "RULE_CUSTODY", "arm_close", "close_bidding", "close_due_lots", "RULE_ENCRYPTION", "BondRefused", "Custodian", "CustodiansMissing", "DeadlinePassed",
    "NotEligible", "PackageRefused", "UploadError", "active_bid", "bids_of", "bonds_of", "cancel_upload",
    "check_eligible", "check_open", "check_refund", "chunk_area", "collect_uploads", "confirm_bid",
    "count_standing_bids", "create_opening_key", "custodians_for", "discard_chunks", "finish_upload",
    "mark_for_reconfirmation", "mark_refunded", "opening_key", "package_key", "put_chunk", "rebuild_opening_key",
    "record_bond", "refund_due", "require_custodians", "shares_of", "start_upload", "submit_package", "upload_status", "validate_package",
    "withdraw_bid",
]
