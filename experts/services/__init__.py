"""The experts domain's use cases (keyword-only; flush, never commit; DomainError citing the rule).

Bidding hands a lot's bidders down when the lot closes (:func:`record_bidders`); a draw request may
also name bidder organisations explicitly (a draw before the close, or bidders from outside).
"""
from experts.services.bidders import bidders_of, record_bidders
from experts.services.draws import commit, request_draw, reveal
from experts.services.members import confirm, declare, decline, expire, replace_member
from experts.services.pool import (
    add_credit_event,
    admit_expert,
    ensure_specialty,
    import_rows,
    read_rows,
    set_status,
)
from experts.services.report import fairness_report, publication_bundle, publish

__all__ = ["bidders_of", "record_bidders", "request_draw", "commit", "reveal", "confirm", "decline", "declare", "expire",
           "replace_member", "admit_expert", "ensure_specialty", "import_rows", "read_rows", "set_status",
           "add_credit_event", "fairness_report", "publication_bundle", "publish"]
