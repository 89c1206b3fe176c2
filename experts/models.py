"""Tables of the experts domain: the pool, declarations, credit, draws and committee members.

Ownership for :mod:`core.permissions`: a draw and its members carry ``lot_id`` so the lot's
``draw_operator`` grant reaches them; a member is owned by the expert's own user account
(``owner_user_id``) so the expert can confirm, decline and declare conflicts — and nothing else.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.db import JSONText, UTCDateTime, db

STATUSES = ("active", "suspended", "banned")
MEMBER_STATES = ("notified", "confirmed", "declined", "timed_out", "conflict", "replaced")
DRAW_STATES = ("open", "committed", "drawn", "aborted")


class Specialty(db.Model):
    """A code of the national specialty classification; hierarchy is the code prefix (A01 ⊃ A0102)."""

    __tablename__ = "experts_specialties"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Expert(db.Model):
    """One evaluation expert of the pool."""

    __tablename__ = "experts_experts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the ID number (core.identity.hash_id_number); unique person in the pool
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    #: the expert's login (confirmations, declarations); optional until the expert enrols
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"), unique=True)
    title: Mapped[str] = mapped_column(String(60))
    senior_title: Mapped[bool] = mapped_column(Boolean, default=False)
    years: Mapped[int] = mapped_column(Integer)
    #: evidence of "equivalent level" when the title or the years fall short (PBE Art.11)
    attestation: Mapped[str] = mapped_column(String(500), default="")
    employer_uscc: Mapped[str] = mapped_column(String(18), index=True)
    employer_name: Mapped[str] = mapped_column(String(200), default="")
    #: GB/T 2260 code of the region where the expert works
    region: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    ban_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    specialties: Mapped[list[ExpertSpecialty]] = relationship(cascade="all, delete-orphan")
    declarations: Mapped[list[Declaration]] = relationship(cascade="all, delete-orphan")
    credit_events: Mapped[list[CreditEvent]] = relationship(cascade="all, delete-orphan",
                                                            order_by="CreditEvent.id")

    @property
    def specialty_codes(self) -> list[str]:
        return sorted(s.code for s in self.specialties)


class ExpertSpecialty(db.Model):
    """Expert × specialty; indexed by (code, expert) so a draw reads only the quota's part of a large
    pool, and the pseudonym look-up at the reveal reads the index alone."""

    __tablename__ = "experts_expert_specialties"
    __table_args__ = (UniqueConstraint("expert_id", "code"),
                      Index("ix_experts_expert_specialties_code", "code", "expert_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts_experts.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))


class Declaration(db.Model):
    """A declared near relative or economic interest, as an organisation USCC or a person hash."""

    __tablename__ = "experts_declarations"
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts_experts.id"), index=True)
    #: "relative" or "interest"
    kind: Mapped[str] = mapped_column(String(10))
    org_uscc: Mapped[str] = mapped_column(String(18), default="", index=True)
    person_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    note: Mapped[str] = mapped_column(String(200), default="")


class CreditEvent(db.Model):
    """A credit record (penalty, warning, praise); penalties bar the expert (PBE Art.12(4)).

    Indexed by (kind, expert) because every draw reads the penalised experts of the whole pool.
    """

    __tablename__ = "experts_credit_events"
    __table_args__ = (Index("ix_experts_credit_events_kind_expert", "kind", "expert_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts_experts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(500), default="")
    legal_basis: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class LotBidder(db.Model):
    """An organisation that bid on a lot, as bidding handed it down when the lot closed: the draw
    avoids experts employed by a bidder (招标投标法 第三十七条 第四款; 评标委员会和评标方法暂行规定 第十二条)."""

    __tablename__ = "experts_lot_bidders"
    lot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), primary_key=True)


class Draw(db.Model):
    """One draw for a lot: the request, both commitments, the frozen inputs and the result.

    A replacement is its own row (``parent_id`` → the original) with the next draw number.
    """

    __tablename__ = "experts_draws"
    __table_args__ = (UniqueConstraint("lot_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("experts_draws.id"))
    state: Mapped[str] = mapped_column(String(12), default="open")
    size: Mapped[int] = mapped_column(Integer)
    tenderee_reps: Mapped[int] = mapped_column(Integer, default=0)
    #: [{"specialty", "count"}] in canonical order
    quotas: Mapped[list] = mapped_column(JSONText, default=list)
    #: {"tenderee_uscc", "agency_uscc", "bidder_org_ids", "supervising_usccs", "region_exclude",
    #:  "region_include", "frequency_limit"}
    rules: Mapped[dict] = mapped_column(JSONText, default=dict)
    commit_operator: Mapped[str | None] = mapped_column(String(64))
    commit_supervisor: Mapped[str | None] = mapped_column(String(64))
    operator_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"))
    supervisor_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"))
    reveal_operator: Mapped[str | None] = mapped_column(String(64))
    reveal_supervisor: Mapped[str | None] = mapped_column(String(64))
    #: secret until publication; per-entry nonces derive from it
    salt: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[list] = mapped_column(JSONText, default=list)
    exclusions: Mapped[list] = mapped_column(JSONText, default=list)
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    exclusions_hash: Mapped[str | None] = mapped_column(String(64))
    quotas_hash: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[list] = mapped_column(JSONText, default=list)
    result_hash: Mapped[str | None] = mapped_column(String(64))
    #: replacement draws: {"specialty", "replaces", "exclusions", "picked", "position"}
    replacement: Mapped[dict] = mapped_column(JSONText, default=dict)
    created_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    members: Mapped[list[Member]] = relationship(back_populates="draw", order_by="Member.id")


class Member(db.Model):
    """A drawn expert's seat: notification, confirmation within the limit, conflict declaration."""

    __tablename__ = "experts_members"
    __table_args__ = (Index("ix_experts_members_lot_expert", "lot_id", "expert_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("experts_draws.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts_experts.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(64))
    specialty: Mapped[str] = mapped_column(String(20))
    #: position in the quota's shuffle (0 … count-1 members, then the reserve order)
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="notified")
    respond_by: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    declared_no_conflict_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("experts_members.id"))
    #: the tenderee key (USCC or name) and agency for the frequency rule and the fairness report
    tenderee_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    agency_org_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    note: Mapped[str] = mapped_column(Text, default="")

    draw: Mapped[Draw] = relationship(back_populates="members")
    expert: Mapped[Expert] = relationship()

    @property
    def owner_user_id(self) -> int | None:
        return self.expert.user_id
