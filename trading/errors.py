"""The refusals of the trading domain; each names its stable code and, where one applies, the article."""
from __future__ import annotations

from core.errors import Conflict, DomainError, ValidationFailed


class RuleViolation(ValidationFailed):
    """The request breaks a rule of the procedure table (422): a period too short, a bond too high."""

    code = "rule_violation"


class StateConflict(Conflict):
    """The lot is not in a state that allows this step (409): publishing twice, amending a closed lot."""

    code = "invalid_state"


class Confidential(DomainError):
    """Information that must stay hidden for now (EBM Art.21 downloaders before the deadline).

    403, as RULES asks: the permission table refuses it too (``Rule.when``); this is the services'
    own guard for callers that do not come through a view.
    """

    status = 403
    code = "confidential"
