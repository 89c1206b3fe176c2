"""Tables of the trading domain: projects, lots, notices, documents, downloads, amendments,
objections, lot transitions (the timeline) and the credit blacklist.

Ownership for :mod:`core.permissions`: a lot and everything hanging off it is owned by the
project's agency organisation (``owner_org_id``) and carries ``lot_id``, so per-lot grants
(``tenderee_rep`` …) apply to it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.db import JSONText, UTCDateTime, db


class Project(db.Model):
    """A procurement (项目) registered by an agency on behalf of a tenderee; awarded per lot."""

    __tablename__ = "trading_projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: 项目编号, unique and human-readable, e.g. "NBGC-2026-0001"
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(20))
    #: GB/T 2260 administrative division code (6 digits); the portal filters by prefix
    region: Mapped[str] = mapped_column(String(6), index=True)
    tenderee_name: Mapped[str] = mapped_column(String(200))
    tenderee_contact: Mapped[str] = mapped_column(String(200), default="")
    funding: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    lots: Mapped[list[Lot]] = relationship(back_populates="project", order_by="Lot.number")

    @property
    def owner_org_id(self) -> int:
        return self.agency_org_id

    @property
    def procedure_key(self) -> str:
        return f"{self.category}.{self.mode}"


class Lot(db.Model):
    """A separately awarded part (标段) with its own schedule and lifecycle state (:mod:`trading.fsm`)."""

    __tablename__ = "trading_lots"
    __table_args__ = (UniqueConstraint("project_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("trading_projects.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    #: 估算价 (construction) or 预算金额 (government procurement): the base of the 2 % bond cap
    estimate: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: 最高投标限价; public if set (TBR Art.27); there is deliberately no minimum price
    max_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    bond_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    #: the state to return to when a suspension is lifted
    resume_state: Mapped[str | None] = mapped_column(String(20))
    issue_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issue_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the bid deadline = the opening time (TBL Art.34); set in the draft, checked at publication
    bid_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: invited tendering: organisation ids of the invitees (TBL Art.17: ≥ 3)
    invitees: Mapped[list] = mapped_column(JSONText, default=list)
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    # -- the opening terms of the tender (电子招标投标办法 第三十条至第三十一条), read by bidding's hall --
    #: minutes bidders have to unseal once the host opens the window
    decrypt_window_minutes: Mapped[int] = mapped_column(Integer, default=30)
    #: minutes bidders have to confirm or object to the opening table (an absent bidder accepts)
    confirm_window_minutes: Mapped[int] = mapped_column(Integer, default=15)
    #: the remedy plan (备用方案): two custodians may rebuild the opening key and unseal the rest
    unseal_remedy: Mapped[bool] = mapped_column(Boolean, default=False)
    #: names of further opening-table fields, read from the sealed package's ``opening`` facts
    opening_fields: Mapped[list] = mapped_column(JSONText, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    project: Mapped[Project] = relationship(back_populates="lots")
    documents: Mapped[list[TenderDocument]] = relationship(back_populates="lot", order_by="TenderDocument.id")
    amendments: Mapped[list[Amendment]] = relationship(back_populates="lot", order_by="Amendment.number")

    @property
    def lot_id(self) -> int:
        return self.id

    @property
    def owner_org_id(self) -> int:
        return self.project.agency_org_id


class _LotChild:
    """Rows that belong to a lot: owned by its agency, reachable by its grants."""

    @property
    def owner_org_id(self) -> int:
        return db.session.get(Lot, self.lot_id).project.agency_org_id


class Notice(_LotChild, db.Model):
    """A public announcement on the portal: tender notice, amendment, suspension, cancellation…

    The portal lists notices newest first under filters; each filter has an index that yields its
    notices already in that order, so a page costs its own rows, not a sort of every match.
    """

    __tablename__ = "trading_notices"
    __table_args__ = (Index("ix_trading_notices_published", "published_at", "id"),
                      Index("ix_trading_notices_category_published", "category", "published_at", "id"),
                      Index("ix_trading_notices_region_published", "region", "published_at", "id"),
                      Index("ix_trading_notices_city_published", "city", "published_at", "id"),
                      Index("ix_trading_notices_category_city_published", "category", "city", "published_at", "id"),
                      Index("ix_trading_notices_kind_published", "kind", "published_at", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    #: the project's category and region, copied when the notice is posted (a project never changes
    #: them), so the portal filters notices without joining every project first
    category: Mapped[str] = mapped_column(String(30))
    region: Mapped[str] = mapped_column(String(6))
    #: the region's first four digits (its city, 地级市): the portal's commonest region filter
    city: Mapped[str] = mapped_column(String(4))


class PortalVersion(db.Model):
    """One row (id 1) whose ``token`` changes, in the same transaction, with every change to what the
    portal lists (notices, lots, projects, amendments): the key of the portal's cached counts
    (:mod:`trading.services.portal_cache`).  Without the row nothing is cached; the first change
    writes it."""

    __tablename__ = "trading_portal_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))



class TenderDocument(_LotChild, db.Model):
    """A tender document in the object store, content-addressed and write-once (same bytes, same key)."""

    __tablename__ = "trading_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    #: set when an amendment issued this document (a new version or an addition)
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("trading_amendments.id"))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    lot: Mapped[Lot] = relationship(back_populates="documents")


class Download(db.Model):
    """Who got which document when: confidential until the deadline (EBM Art.21, TBL Art.22)."""

    __tablename__ = "trading_downloads"
    __table_args__ = (Index("ix_trading_downloads_lot_org", "lot_id", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("trading_documents.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisations.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class Amendment(_LotChild, db.Model):
    """A clarification or change (澄清、修改); may move the deadline (TBR Art.21)."""

    __tablename__ = "trading_amendments"
    __table_args__ = (UniqueConstraint("lot_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    issued_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    old_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    new_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: the 15-day rule moved it (not merely a postponement the agency chose)
    moved_by_rule: Mapped[bool] = mapped_column(Boolean, default=False)
    notified: Mapped[int] = mapped_column(Integer, default=0)

    lot: Mapped[Lot] = relationship(back_populates="amendments")


class Objection(db.Model):
    """An objection (异议) to the tender documents and its answer (TBR Art.22, EBM Art.39).

    Owned by its filer (``owner_user_id``) and by the lot's agency (``owner_org_id``).
    """

    __tablename__ = "trading_objections"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    target: Mapped[str] = mapped_column(String(20), default="tender_doc")
    filed_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    filer_org_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisations.id"))
    body: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    reply_due: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"))

    @property
    def owner_user_id(self) -> int:
        return self.filed_by

    @property
    def owner_org_id(self) -> int:
        return db.session.get(Lot, self.lot_id).project.agency_org_id

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


class LotTransition(db.Model):
    """Every state change of a lot: the public timeline and part of the per-lot audit trail."""

    __tablename__ = "trading_lot_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")


class BlacklistEntry(db.Model):
    """失信黑名单: an enterprise or a person barred for a period, with reason and legal basis.

    Listed publicly while in force.  A person is matched by the salted hash of the id number
    (:func:`core.identity.hash_id_number`), never stored in clear.
    """

    __tablename__ = "trading_blacklist"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisations.id"))
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(300))
    #: the deciding authority and document number (处罚决定书文号)
    decision: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: None: until revoked
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str] = mapped_column(String(300), default="")

    def in_force(self, at: dt.datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)
