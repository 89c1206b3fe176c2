"""The experts JSON API: pool, draws (commit–reveal), seats, publication, fairness report.

Thin: parse, check the permission, call one service, commit, serialise (STYLE habit 3).  There is
no parameter anywhere that names an expert for a committee.
"""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core.db import db, get_or_404
from core.events import commit
from core.permissions import permission
from experts import permissions as _permissions  # noqa: F401  (declares the operations)
from experts import schemas as s
from experts import services
from experts.models import Draw, Expert, Member, Specialty
from experts.services import report
from experts.services.pool import get_expert
from trading.models import Lot

blp = Blueprint("experts", __name__, url_prefix="/api/experts", description="Expert pool and verifiable draws")


@blp.route("/specialties")
class Specialties(MethodView):
    @permission("experts.pool.read")
    @blp.response(200, s.SpecialtySchema(many=True))
    def get(self):
        """The specialty classification."""
        return db.session.scalars(select(Specialty).order_by(Specialty.code)).all()

    @permission("experts.pool.manage")
    @blp.arguments(s.SpecialtySchema)
    @blp.response(201, s.SpecialtySchema)
    def post(self, data):
        """Add or rename a specialty code."""
        row = services.ensure_specialty(**data)
        commit()
        return row


@blp.route("/pool")
class Pool(MethodView):
    @permission("experts.pool.read")
    @blp.response(200, s.ExpertSchema(many=True))
    def get(self):
        """The pool (first 500 by id)."""
        return db.session.scalars(select(Expert).order_by(Expert.id).limit(500)).all()

    @permission("experts.pool.manage")
    @blp.arguments(s.ExpertCreateSchema)
    @blp.response(201, s.ExpertSchema)
    def post(self, data):
        """Admit an expert: ≥ 8 years and a senior title, or an attested equivalence (PBE Art.11)."""
        expert = services.admit_expert(actor=g.user, **data)
        commit()
        return expert


@blp.route("/pool/<int:expert_id>")
class PoolItem(MethodView):
    @permission("experts.pool.read")
    @blp.response(200, s.ExpertSchema)
    def get(self, expert_id):
        """One expert with credit records."""
        return get_expert(expert_id)


@blp.route("/pool/<int:expert_id>/status")
class PoolStatus(MethodView):
    @permission("experts.pool.manage")
    @blp.arguments(s.StatusSchema)
    @blp.response(200, s.ExpertSchema)
    def post(self, data, expert_id):
        """Suspend, ban until a date, or reactivate."""
        expert = services.set_status(actor=g.user, expert=get_expert(expert_id), **data)
        commit()
        return expert


@blp.route("/pool/<int:expert_id>/credit")
class PoolCredit(MethodView):
    @permission("experts.pool.manage")
    @blp.arguments(s.CreditCreateSchema)
    @blp.response(201, s.CreditEventSchema)
    def post(self, data, expert_id):
        """Record a credit event; a penalty bars the expert from draws."""
        event = services.add_credit_event(actor=g.user, expert=get_expert(expert_id), **data)
        commit()
        return event


@blp.route("/lots/<int:lot_id>/draws")
class LotDraws(MethodView):
    @permission("experts.draws.create")
    @blp.arguments(s.DrawCreateSchema)
    @blp.response(201)
    def post(self, data, lot_id):
        """Request the committee draw: make-up, quotas, avoidance parties and rules."""

        draw = services.request_draw(actor=g.user, lot=get_or_404(Lot, lot_id), **data)
        commit()
        return report.summary(draw)


@blp.route("/draws/<int:draw_id>")
class DrawItem(MethodView):
    @permission("experts.draws.read")
    @blp.response(200)
    def get(self, draw_id):
        """A draw as states, commitments, hashes and counts."""
        return report.summary(get_or_404(Draw, draw_id))


@blp.route("/draws/<int:draw_id>/commit")
class DrawCommit(MethodView):
    @permission("experts.draws.take_part")
    @blp.arguments(s.CommitSchema)
    @blp.response(200)
    def post(self, data, draw_id):
        """Commit to a secret contribution (SHA-256 of the domain-separated contribution, see docs)."""
        draw = services.commit(actor=g.user, draw=get_or_404(Draw, draw_id), commitment=data["commitment"])
        commit()
        return report.summary(draw)


@blp.route("/draws/<int:draw_id>/reveal")
class DrawReveal(MethodView):
    @permission("experts.draws.take_part")
    @blp.arguments(s.RevealSchema)
    @blp.response(200)
    def post(self, data, draw_id):
        """Reveal the contribution; the second reveal draws the committee."""
        draw = services.reveal(actor=g.user, draw=get_or_404(Draw, draw_id), contribution=data["contribution"])
        commit()
        return report.summary(draw)


@blp.route("/draws/<int:draw_id>/committee")
class DrawCommittee(MethodView):
    @permission("experts.committee.read")
    @blp.response(200, s.CommitteeSeatSchema(many=True))
    def get(self, draw_id):
        """The seats of the committee with names (draw operator only, until the award)."""
        draw = get_or_404(Draw, draw_id)
        ids = [draw.id, *db.session.scalars(select(Draw.id).where(Draw.parent_id == draw.id))]
        return db.session.scalars(select(Member).where(Member.draw_id.in_(ids)).order_by(Member.id)).all()


@blp.route("/draws/<int:draw_id>/publish")
class DrawPublish(MethodView):
    @permission("experts.draws.publish")
    @blp.response(200)
    def post(self, draw_id):
        """Publish the draw material once the award is determined."""
        draw = services.publish(draw=get_or_404(Draw, draw_id))
        commit()
        return report.summary(draw)


@blp.route("/draws/<int:draw_id>/publication")
class DrawPublication(MethodView):
    @permission("experts.draws.publication")
    @blp.response(200)
    def get(self, draw_id):
        """The published material (409 before the award); feed it to ``ggzy experts verify-draw``."""
        return services.publication_bundle(draw=get_or_404(Draw, draw_id))


@blp.route("/memberships")
class Memberships(MethodView):
    @permission("experts.memberships.list")
    @blp.response(200, s.SeatSchema(many=True))
    def get(self):
        """Own seats (an expert without a pool record has none)."""
        expert = db.session.scalar(select(Expert).where(Expert.user_id == g.user.id))
        if expert is None:
            return []
        return db.session.scalars(select(Member).where(Member.expert_id == expert.id).order_by(Member.id)).all()


@blp.route("/members/<int:member_id>/confirm")
class MemberConfirm(MethodView):
    @permission("experts.members.respond")
    @blp.response(200, s.SeatSchema)
    def post(self, member_id):
        """Confirm the seat within the time limit."""
        member = services.confirm(actor=g.user, member=get_or_404(Member, member_id))
        commit()
        return member


@blp.route("/members/<int:member_id>/decline")
class MemberDecline(MethodView):
    @permission("experts.members.respond")
    @blp.arguments(s.DeclineSchema)
    @blp.response(200, s.SeatSchema)
    def post(self, data, member_id):
        """Decline; a replacement is drawn automatically."""
        member = services.decline(actor=g.user, member=get_or_404(Member, member_id), **data)
        commit()
        return member


@blp.route("/members/<int:member_id>/declaration")
class MemberDeclaration(MethodView):
    @permission("experts.members.respond")
    @blp.arguments(s.DeclarationSchema)
    @blp.response(200, s.SeatSchema)
    def post(self, data, member_id):
        """Declare (no) conflict against the bidder list; a conflict triggers a replacement."""
        member = services.declare(actor=g.user, member=get_or_404(Member, member_id), **data)
        commit()
        return member


@blp.route("/fairness")
class Fairness(MethodView):
    @permission("experts.fairness.read")
    @blp.response(200)
    def get(self):
        """Seats per expert against the expected frequency, repeats, declines (published draws)."""
        return services.fairness_report()
