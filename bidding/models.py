"""Tables of the bidding domain: opening-key custody, upload sessions, bids with receipts, bonds.

The private half of an opening key is never stored: only its public half and, per custodian, a
Shamir share sealed to that custodian's registered X25519 key (bidding/package/custody.py).  A bid exists
only once its whole package has been checked and stored (bidding/services/bids.py): an upload
session is not a bid, and its chunks live outside the database.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.db import JSONText, UTCDateTime, db

#: custody slots, in share order (x = 1, 2, 3)
SLOTS = ("opening_host", "supervisor", "trading_centre")


class OpeningKey(db.Model):
    """The lot's opening key (public half); bidders wrap their data keys to it."""

    __tablename__ = "bidding_opening_keys"
    #: one opening key per lot, so the lot id is the key
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), primary_key=True, autoincrement=False)
    kid: Mapped[str] = mapped_column(String(40), unique=True)
    #: base64 of the 32 raw X25519 public-key bytes
    public_key: Mapped[str] = mapped_column(String(64))
    #: Shamir threshold and number of shares (2-of-3 by DESIGN §5)
    threshold: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    shares: Mapped[list[KeyShare]] = relationship(back_populates="opening_key", order_by="KeyShare.x")


class KeyShare(db.Model):
    """One custodian's share of a lot's opening key, encrypted to the custodian's X25519 key."""

    __tablename__ = "bidding_key_shares"
    __table_args__ = (UniqueConstraint("lot_id", "x"), UniqueConstraint("lot_id", "user_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("bidding_opening_keys.lot_id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"), index=True)
    #: opening_host | supervisor | trading_centre
    slot: Mapped[str] = mapped_column(String(20))
    #: the Shamir x coordinate (1..3)
    x: Mapped[int] = mapped_column(Integer)
    #: key id of the custodian's registered X25519 key the share is sealed to
    recipient_kid: Mapped[str] = mapped_column(String(40))
    ephemeral_public_key: Mapped[str] = mapped_column(String(64))
    #: base64 AES-256-GCM ciphertext of the 32-byte share (custody envelope v1)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    opening_key: Mapped[OpeningKey] = relationship(back_populates="shares")

    @property
    def owner_user_id(self) -> int:
        return self.user_id

    @property
    def opening_key_id(self) -> str:
        return self.opening_key.kid

    def record(self) -> dict:
        """What the custodian's tool needs to decrypt the share (custody.decrypt_share)."""
        return {"lot_id": self.lot_id, "opening_key_id": self.opening_key.kid, "x": self.x, "slot": self.slot,
                "recipient_kid": self.recipient_kid, "ephemeral_public_key": self.ephemeral_public_key,
                "ciphertext": self.ciphertext}


class Upload(db.Model):
    """A resumable upload session of one package: declared size and SHA-256, chunks on disk.

    Owned by the uploading organisation.  Finishing it makes a :class:`Bid`; an upload still open
    at the deadline is never a bid, and ``bidding.collect_uploads`` removes it and its chunks.
    """

    __tablename__ = "bidding_uploads"
    #: 32 hex digits (uuid4): not guessable, and does not reveal how many uploads exist
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    #: open | finished
    state: Mapped[str] = mapped_column(String(10), default="open")
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bidding_bids.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def owner_org_id(self) -> int:
        return self.organisation_id


class Bid(db.Model):
    """One submitted package of one organisation for one lot, with its signed receipt.

    At most one bid per (lot, organisation) is active: ``active_key`` is ``"<lot>:<org>"`` while the
    bid stands and NULL once replaced or withdrawn, and it is unique (NULLs never collide on SQLite
    or PostgreSQL), so two concurrent submissions cannot both stand.
    """

    __tablename__ = "bidding_bids"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    active_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: submitted | replaced | withdrawn
    state: Mapped[str] = mapped_column(String(12), default="submitted", index=True)
    #: object-store key of the package (write-once)
    package_key: Mapped[str] = mapped_column(String(200))
    package_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    opening_key_id: Mapped[str] = mapped_column(String(40))
    #: server time the complete package was received (the instant the deadline is judged at)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("bidding_bids.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: set when an amendment was issued after this bid; the bidder confirms or replaces it
    needs_reconfirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the platform-signed receipt exactly as issued (bidding/package/receipts.py)
    receipt: Mapped[dict] = mapped_column(JSONText)
    # -- evidence for monitoring (电子招标投标办法 第四十九条), captured at submission, never changed --
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    #: the manifest's device fingerprint: component → list of values
    device: Mapped[dict] = mapped_column(JSONText, default=dict)
    #: kid of the organisation key that signed the manifest
    signer_kid: Mapped[str] = mapped_column(String(40))
    #: payer account of the bond on record at submission (null: no bond recorded yet)
    bond_payer_account: Mapped[str | None] = mapped_column(String(64))

    @property
    def owner_org_id(self) -> int:
        return self.organisation_id


#: what a bid is and where it came from: fixed once submitted (the evidence of 电子招标投标办法
#: 第四十九条 and what its receipt signs); the receipt itself is written once, just after the insert
FIXED_AT_SUBMISSION = ("lot_id", "organisation_id", "submitted_by", "package_key", "package_sha256", "size",
                       "ciphertext_sha256", "opening_key_id", "received_at", "ip", "user_agent", "device",
                       "signer_kid", "bond_payer_account")
RULE_EVIDENCE = "电子招标投标办法 第四十九条"


@event.listens_for(Bid, "before_update")
def _fixed_at_submission(_mapper, _connection, bid: Bid) -> None:
    """Refuse any flush that would change a submitted bid's evidence or its issued receipt."""
    from core.errors import Conflict

    attrs = inspect(bid).attrs
    # ``added`` without ``deleted`` is a value set on an attribute that was not loaded (expired after
    # a commit): its old value is unknown here, and nothing may set a fixed attribute anyway
    changed = [name for name in FIXED_AT_SUBMISSION if attrs[name].history.added]
    receipt = attrs.receipt.history
    if receipt.added and (not receipt.deleted or any(receipt.deleted)):  # {} → issued is its one write
        changed.append("receipt")
    if changed:
        raise Conflict(f"bid {bid.id}: {', '.join(changed)} cannot change after submission",
                       code="evidence_fixed", rule=RULE_EVIDENCE)


class BidBond(db.Model):
    """A bid bond (投标保证金): transfer from the bidder's basic account, or a guarantee.

    The payer account is evidence for the collusion detector (条例 第四十条(六)).
    """

    __tablename__ = "bidding_bonds"
    __table_args__ = (UniqueConstraint("lot_id", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: transfer | guarantee
    method: Mapped[str] = mapped_column(String(10))
    payer_account: Mapped[str] = mapped_column(String(64), index=True)
    payer_uscc: Mapped[str] = mapped_column(String(18))
    payer_name: Mapped[str] = mapped_column(String(200), default="")
    #: bank transfer reference or guarantee number
    reference: Mapped[str] = mapped_column(String(100), default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    #: held | refund_due | refunded
    state: Mapped[str] = mapped_column(String(12), default="held")
    refund_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refund_reason: Mapped[str] = mapped_column(String(200), default="")
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def owner_org_id(self) -> int:
        return self.organisation_id


# --- the remote opening (不见面开标, 电子招标投标办法 第二十九条至第三十二条) ------------------------------

class OpeningSession(db.Model):
    """The online opening of one lot: started by the scheduler at the deadline, run by the host.

    ``stage``: ``waiting`` (bids extracted, bidders sign in) → ``listed`` (the host published who bid
    in time) → ``unsealing`` (the window is open) → ``confirming`` (the opening table is published,
    bidders confirm or object) → ``closed`` (the final record is signed and public).  ``version``
    grows with every change, so the hall's live stream sends a snapshot only when something moved.
    """

    __tablename__ = "bidding_opening_sessions"
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lots.id"), primary_key=True, autoincrement=False)
    stage: Mapped[str] = mapped_column(String(12), default="waiting")
    version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    listed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    window_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    window_closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    table_published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirm_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remedy_used: Mapped[bool] = mapped_column(Boolean, default=False)


class Attendance(db.Model):
    """A bidder's sign-in to the hall: who, with which key, from where, when (EBM Art.29)."""

    __tablename__ = "bidding_attendance"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("bidding_opening_sessions.lot_id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    key_id: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class Unsealing(db.Model):
    """The unsealing of one bid at the opening.  ``status``: pending → unsealed | failed →
    (at the window's close) timed_out; ``cause`` of a failure: bidder | platform (EBM Art.31).

    The price and the opening facts are written only once the package decrypted and every file
    checked against the bidder's signed manifest, so nothing about a price exists before that.
    """

    __tablename__ = "bidding_unsealings"
    bid_id: Mapped[int] = mapped_column(ForeignKey("bidding_bids.id"), primary_key=True, autoincrement=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("bidding_opening_sessions.lot_id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    cause: Mapped[str | None] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: decimal string of the priced schedule's total; None until unsealed (or no schedule sealed)
    price: Mapped[str | None] = mapped_column(String(24))
    #: the tender's further opening fields, from the sealed ``opening`` facts
    fields: Mapped[dict] = mapped_column(JSONText, default=dict)
    #: name → {sha256, size, key} of the decrypted files kept for the archive
    files: Mapped[dict] = mapped_column(JSONText, default=dict)
    #: bidder (its own key) | remedy (the rebuilt opening key)
    via: Mapped[str | None] = mapped_column(String(10))
    unsealed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def owner_org_id(self) -> int:
        return self.organisation_id


class RemedyShare(db.Model):
    """A custodian's decrypted share for the remedy, held sealed to the platform's key until a second
    arrives; both are deleted the moment the opening key has been rebuilt and used."""

    __tablename__ = "bidding_remedy_shares"
    __table_args__ = (UniqueConstraint("lot_id", "x"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("bidding_opening_sessions.lot_id"), index=True)
    x: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    sealed: Mapped[dict] = mapped_column(JSONText)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class OpeningRecord(db.Model):
    """The signed opening record (开标记录, EBM Art.32): first the opening table, then — after the
    confirmation window — the final record with confirmations, objections and answers.  Public."""

    __tablename__ = "bidding_opening_records"
    __table_args__ = (UniqueConstraint("lot_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("bidding_opening_sessions.lot_id"), index=True)
    #: table | final
    kind: Mapped[str] = mapped_column(String(8))
    body: Mapped[dict] = mapped_column(JSONText)
    #: SHA-256 (hex) of the canonical body: what bidders sign to confirm
    digest: Mapped[str] = mapped_column(String(64))
    #: the platform's Ed25519 signature over the canonical body, and its key id
    signature: Mapped[str] = mapped_column(String(100))
    kid: Mapped[str] = mapped_column(String(40))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class RecordResponse(db.Model):
    """A bidder's answer to the opening table: a signed confirmation, or an objection raised on the
    spot and answered on the spot by the host (TBR Art.44 ¶3)."""

    __tablename__ = "bidding_record_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("bidding_opening_sessions.lot_id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    #: confirmation | objection
    kind: Mapped[str] = mapped_column(String(12))
    #: confirmation: the bidder's Ed25519 signature over the table digest, and its key id
    key_id: Mapped[str] = mapped_column(String(40), default="")
    signature: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def owner_org_id(self) -> int:
        return self.organisation_id
