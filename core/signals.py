"""In-process signals through which a lower layer asks the layer above it (blinker, as Indico does).

A domain may call the layers below it; to let a lower layer reach a higher one without importing it,
the lower one *sends* a signal declared here and the higher one connects a receiver to it.  Receivers
are connected by each domain's ``register(app)`` (in its ``tasks.py``), which the app factory calls;
never as a side effect of an import.  A signal in :data:`REQUIRED` that has no receiver once the
domains are registered stops the app at start-up (:func:`check_required`): a rule that silently
stops being applied is worse than a process that does not start.

Signals run synchronously in the sender's transaction, so a receiver that raises a ``DomainError``
refuses the sender's change as a whole.  What can happen later goes through the outbox instead.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

lot_publishing = _signals.signal("lot-publishing", doc="""
Sent by trading (sender: the lot) just before a lot is published; a receiver raises a DomainError
naming its rule to refuse the publication (bidding: the opening key's custodians must exist).""")

deadline_set = _signals.signal("deadline-set", doc="""
Sent by trading (sender: the lot) whenever a published lot's bid deadline is set or moved, or the lot
takes bids again after a suspension or an answered objection; bidding arms its close at the deadline
(条例 第四十四条 is judged by the close, so a lot that nobody closes never fails).""")

open_lots_query = _signals.signal("open-lots-query", doc="""
Sent by core's disclosure rules (sender: None); the one receiver (trading) returns a SELECT of one
column ``id``: the lots whose bid deadline is still ahead (who bid is secret until then).""")

#: signal → why the platform cannot run without a receiver
REQUIRED = {
    lot_publishing: "no lot may be published without its opening key's custodians (电子招标投标办法 第二十七条)",
    deadline_set: "every published lot must be closed at its deadline (招标投标法实施条例 第四十四条)",
    open_lots_query: "who bid is secret until the deadline (电子招标投标办法 第二十一条)",
}


class MissingRegistration(RuntimeError):
    """A required signal has no receiver: a domain's ``register(app)`` did not run."""


def check_required() -> None:
    """Raise :class:`MissingRegistration` naming every required signal that nobody receives."""
    missing = [f"{sig.name}: {why}" for sig, why in REQUIRED.items() if not sig.receivers]
    if missing:
        raise MissingRegistration("signals without a receiver (is every domain registered?): " + "; ".join(missing))


def ask_one(signal, sender=None, **kwargs):
    """The answer of the single receiver of a query signal."""
    answers = [value for _receiver, value in signal.send(sender, **kwargs)]
    if len(answers) != 1:
        raise MissingRegistration(f"signal {signal.name!r} needs exactly one receiver, has {len(answers)}")
    return answers[0]
