"""The experts domain's use cases (keyword-only; flush, never commit; DomainError citing the rule).

``bidder_sources`` is the hook through which the bidding domain (not built yet) will tell the draw
who bid on a lot: each callable takes a lot id and returns bidder organisation ids.  A draw request
may also name bidder organisations explicitly, so the domain works before that wiring exists.
"""
from __future__ import annotations

from collections.abc import Callable

#: callables(lot_id) -> bidder organisation ids; bidding appends its source here
bidder_sources: list[Callable[[int], list[int]]] = []

from experts.services.draws import commit, request_draw, reveal  # noqa: E402
from experts.services.members import confirm, declare, decline, expire, replace_member  # noqa: E402
from experts.services.pool import (  # noqa: E402
    add_credit_event,
    admit_expert,
    ensure_specialty,
    import_rows,
    read_rows,
    set_status,
)
from experts.services.report import fairness_report, publication_bundle, publish  # noqa: E402

__all__ = ["bidder_sources", "request_draw", "commit", "reveal", "confirm", "decline", "declare", "expire",
           "replace_member", "admit_expert", "ensure_specialty", "import_rows", "read_rows", "set_status",
           "add_credit_event", "fairness_report", "publication_bundle", "publish"]
