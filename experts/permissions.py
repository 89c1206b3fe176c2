"""The experts operations in the one permission table, and the path parameters they load.

Confidentiality (TBL Art.37 ¶5): names of drawn experts are readable only through
``experts.committee.read`` — the lot's ``draw_operator`` grant — until publication at the award.
Supervisors see draws as states, hashes and counts, take part in the draw as the second party,
and read the fairness report (published draws only).  The pool manager keeps the pool but sees no
committee.  An expert reaches only their own seats.
"""
from __future__ import annotations

from core.permissions import PARAM_MODELS, _r, declare
from experts.models import Draw, Expert, Member

POOL_READERS = {"pool_manager", "supervisor", "admin"}

OPERATIONS = {
    "experts.pool.read": _r(roles=POOL_READERS, description="the pool, specialties, credit records"),
    "experts.pool.manage": _r(roles={"pool_manager"}, writes=True,
                              description="admit, import, suspend, ban, record credit events"),
    "experts.draws.create": _r(grants={"draw_operator"}, writes=True,
                               description="request a committee draw for the lot (after the bid deadline)"),
    "experts.draws.read": _r(roles={"supervisor", "admin"}, grants={"draw_operator"},
                             description="states, commitments, hashes and counts; never names"),
    "experts.draws.take_part": _r(roles={"supervisor"}, grants={"draw_operator"}, writes=True,
                                  description="commit and reveal a contribution (operator and supervisor)"),
    "experts.committee.read": _r(grants={"draw_operator"}, description="names of the drawn experts"),
    "experts.draws.publish": _r(grants={"draw_operator"}, roles={"admin"}, writes=True,
                                description="publish the draw material once the award is determined"),
    "experts.draws.publication": _r(public=True, description="the published material for verify-draw"),
    "experts.memberships.list": _r(roles={"expert"}, description="own seats"),
    "experts.members.respond": _r(owner_roles={"expert"}, writes=True,
                                  description="confirm, decline, declare conflicts (own seat)"),
    "experts.fairness.read": _r(roles={"supervisor", "admin"}, description="fairness report"),
    "experts.pages.pool": _r(roles={"pool_manager"}, writes=True, description="pool manager pages"),
}

for _op, _rule in OPERATIONS.items():
    declare(_op, _rule)

PARAM_MODELS.update({"expert_id": Expert, "draw_id": Draw, "member_id": Member})
