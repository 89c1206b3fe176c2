"""Identity tables: organisations, users, per-lot grants, API tokens, login attempts, audit rows.

Roles are global (DESIGN §3); grants attach a user to one lot for one duty.  Lots live in
``trading``, which core must not import, so a grant names its scope by type and id.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.db import JSONText, UTCDateTime, db

ROLES = ("bidder", "agency", "expert", "supervisor", "archivist", "pool_manager", "admin")
GRANTS = ("tenderee_rep", "opening_host", "custodian", "draw_operator")
#: which accounts a per-lot duty may be given to: the tenderee side represents and hosts; supervisors
#: and the trading centre keep key shares; only the trading centre operates the expert draw, whose
#: committee stays secret from bidders and from the lot's own agency until the award
#: (招标投标法 第三十七条; core.identity.grant refuses any other pairing)
GRANT_ROLES = {
    "tenderee_rep": frozenset({"agency"}),
    "opening_host": frozenset({"agency", "admin"}),
    "custodian": frozenset({"supervisor", "admin"}),
    "draw_operator": frozenset({"admin"}),
}
RULE_GRANTS = "招标投标法 第三十七条 (评标委员会成员名单在中标结果确定前应当保密); 电子招标投标办法 第二十五条"
#: roles whose login needs a TOTP second factor (DESIGN §3); custodians are handled per grant
TOTP_ROLES = ("supervisor", "admin")
#: grants whose holders keep a share of a lot's opening key
SHARE_GRANTS = ("custodian", "opening_host")

ORG_KINDS = ("enterprise", "agency", "tenderee", "trading_centre", "supervisor_dept", "platform_operator")


class Organisation(db.Model):
    """An enterprise, agency, tenderee or authority, identified by its USCC (GB 32100-2015)."""

    __tablename__ = "core_organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30), default="enterprise")
    region: Mapped[str] = mapped_column(String(12), default="")
    #: {"name": ..., "id_number_hash": ...}; the id number is kept only as a hash
    legal_rep: Mapped[dict] = mapped_column(JSONText, default=dict)
    #: [{"name", "uscc" or "id_number_hash", "share": "decimal string"}]
    shareholders: Mapped[list] = mapped_column(JSONText, default=list)
    #: [{"name", "phone", "email"}]
    contacts: Mapped[list] = mapped_column(JSONText, default=list)
    #: the operator's affiliates may not bid (电子招标投标办法 第二十三条)
    affiliated_with_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(db.Model):
    """A person who signs in; ``role`` is one global role of DESIGN §3."""

    __tablename__ = "core_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisations.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: base32 TOTP secret once enrolled; confirmed means a code was verified once
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a new secret being enrolled: it replaces ``totp_secret`` only when one of its codes is confirmed,
    #: so starting a re-enrolment never turns the second factor off
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    #: last accepted TOTP time step, so a code cannot be replayed within its window
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: part of every session's id: raised by sign-out and by a password change or reset, it ends every
    #: session of the user at once (the user loader refuses a session of an older generation)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    grants: Mapped[list[Grant]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session's user id: ``<id>:<generation>``, so that raising the generation ends it."""
        return f"{self.id}:{self.session_generation or 0}"

    @property
    def needs_totp(self) -> bool:
        """Supervisors, admins and anyone holding a key share (custodian, opening host) need a second factor."""
        return self.role in TOTP_ROLES or any(g.grant in SHARE_GRANTS for g in self.grants)

    def has_grant(self, grant: str, scope_type: str, scope_id: int) -> bool:
        return any(g.grant == grant and g.scope_type == scope_type and g.scope_id == scope_id
                   for g in self.grants)


class Grant(db.Model):
    """A duty on one object (a lot): tenderee_rep, opening_host, custodian, draw_operator."""

    __tablename__ = "core_grants"
    __table_args__ = (UniqueConstraint("user_id", "grant", "scope_type", "scope_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    grant: Mapped[str] = mapped_column(String(20))
    scope_type: Mapped[str] = mapped_column(String(20), default="lot")
    scope_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    user: Mapped[User] = relationship(back_populates="grants")


class ApiToken(db.Model):
    """A bearer token for the API and the bidder tool; only its SHA-256 is stored."""

    __tablename__ = "core_api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class PasswordReset(db.Model):
    """A pending password reset.  Only the SHA-256 of its link's token is stored: the token is an HMAC
    of the row under the app's secret key (so the mail can be sent later, from the outbox, without
    keeping it), and a copy of the database alone opens no account."""

    __tablename__ = "core_password_resets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"), index=True)
    #: random; with the secret key it gives the token
    nonce: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: set when the link is used, or when the password changed otherwise (the link is then void)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """Failed sign-ins, counted per account and per IP for the login rate limit."""

    __tablename__ = "core_login_attempts"
    __table_args__ = (Index("ix_core_login_attempts_email_at", "email", "at"),
                      Index("ix_core_login_attempts_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class AuditLog(db.Model):
    """Append-only trail: time, actor, IP, action, object (DESIGN §3).  Rows are never changed."""

    __tablename__ = "core_audit_log"
    __table_args__ = (Index("ix_core_audit_log_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(20), default="system")
    ip: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSONText, default=dict)
    #: the lot the entry concerns (its object, or the lot of its bid, bond…): disclosure is decided
    #: from the lot and the instant (core.audit.disclosed)
    lot_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Notification(db.Model):
    """An in-app inbox message; e-mail and other channels are sent from the same row."""

    __tablename__ = "core_notifications"
    __table_args__ = (Index("ix_core_notifications_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    #: id of the domain event that caused it (handlers are idempotent on it)
    source_event: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _audit_is_append_only(_mapper, _connection, target):
    raise RuntimeError(f"audit row {target.id} is append-only")


# ownership, read by core.permissions.owns
Organisation.owner_org_id = property(lambda self: self.id)
User.owner_user_id = property(lambda self: self.id)
ApiToken.owner_user_id = property(lambda self: self.user_id)
