"""Tables of opening-key custody: one X25519 opening key per lot, three encrypted shares.

The private half of an opening key is never stored: only its public half and, per custodian, a
Shamir share sealed to that custodian's registered X25519 key (bidding/custody.py).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.db import UTCDateTime, db

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
