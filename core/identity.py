"""Identity services: organisations, users, passwords, sign-in with a rate limit, API tokens, TOTP,
password reset and grants.  Services flush, never commit (STYLE habit 3).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core import events
from core.audit import audit
from core.clock import now
from core.db import db
from core.errors import Conflict, TooManyRequests, Unauthorized, ValidationFailed
from core.models import (
    GRANT_ROLES,
    GRANTS,
    ORG_KINDS,
    ROLES,
    RULE_GRANTS,
    ApiToken,
    Grant,
    LoginAttempt,
    Organisation,
    PasswordReset,
    User,
)
from core.second_factor import verify_totp

logger = logging.getLogger(__name__)
_hasher = PasswordHasher()

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
RULE_USCC = "GB 32100-2015 法人和其他组织统一社会信用代码编码规则"
TOKEN_PREFIX = "ggzy_"
RESET_MAX_AGE = 3600


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC: 31 − (Σ value·weight mod 31), mod 31 (GB 32100-2015 §5)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def validate_uscc(uscc: str) -> str:
    """Return the normalised USCC or raise ``ValidationFailed`` naming the standard."""
    code = (uscc or "").strip().upper()
    if len(code) != 18:
        raise ValidationFailed("a USCC has 18 characters", code="invalid_uscc", rule=RULE_USCC)
    bad = sorted({c for c in code if c not in USCC_CHARS})
    if bad:
        raise ValidationFailed(f"characters not allowed in a USCC: {''.join(bad)} (I, O, S, V, Z never occur)",
                               code="invalid_uscc", rule=RULE_USCC)
    if not code[2:8].isdigit():
        raise ValidationFailed("characters 3-8 of a USCC are the region code (digits)",
                               code="invalid_uscc", rule=RULE_USCC)
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationFailed("the USCC check character does not match", code="invalid_uscc", rule=RULE_USCC)
    return code


def make_uscc(body17: str) -> str:
    """Complete 17 characters with their check character (demo data and tests)."""
    return body17 + uscc_check_char(body17)


def hash_id_number(id_number: str) -> str:
    """Personal id numbers are kept only as a salted hash: enough to match, not to disclose."""
    salt = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(salt + id_number.strip().upper().encode()).hexdigest()


def create_organisation(*, uscc: str, name: str, kind: str = "enterprise", region: str = "",
                        legal_rep: dict | None = None, shareholders: list | None = None,
                        contacts: list | None = None, affiliated_with_operator: bool = False) -> Organisation:
    """Register an organisation; the USCC must be valid and unique."""
    code = validate_uscc(uscc)
    if kind not in ORG_KINDS:
        raise ValidationFailed(f"unknown organisation kind {kind!r}", code="invalid_kind")
    if db.session.scalar(select(Organisation.id).where(Organisation.uscc == code)):
        raise Conflict(f"an organisation with USCC {code} is already registered", code="duplicate_uscc")
    org = Organisation(uscc=code, name=name.strip(), kind=kind, region=region, legal_rep=legal_rep or {},
                       shareholders=shareholders or [], contacts=contacts or [],
                       affiliated_with_operator=affiliated_with_operator)
    db.session.add(org)
    db.session.flush()
    audit("organisation.created", object_type="organisation", object_id=org.id, uscc=code)
    return org


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise ValidationFailed("a password needs at least 10 characters", code="weak_password")


def create_user(*, email: str, name: str, role: str, password: str,
                organisation: Organisation | None = None) -> User:
    """Create a user with an argon2 password hash and one global role."""
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; roles are {', '.join(ROLES)}", code="invalid_role")
    if role in ("bidder", "agency") and organisation is None:
        raise ValidationFailed(f"a {role} belongs to an organisation", code="organisation_required")
    check_password_strength(password)
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("this e-mail address is already registered", code="duplicate_email")
    user = User(email=email, name=name, role=role, organisation=organisation,
                password_hash=_hasher.hash(password))
    db.session.add(user)
    db.session.flush()
    audit("user.created", object_type="user", object_id=user.id, role=role)
    return user


def grant(*, user: User, grant_name: str, scope_id: int, scope_type: str = "lot") -> Grant:
    """Give a user a duty on one existing lot (idempotent).

    :raises ValidationFailed: unknown grant; ``grant_role_mismatch`` — the duty is not one the user's
        role may hold (``GRANT_ROLES``: e.g. a bidder can never operate the draw and read the committee);
        ``unknown_scope`` — no such lot
    """
    if grant_name not in GRANTS:
        raise ValidationFailed(f"unknown grant {grant_name!r}", code="invalid_grant")
    if user.role not in GRANT_ROLES[grant_name]:
        raise ValidationFailed(f"the {grant_name} duty is for {' or '.join(sorted(GRANT_ROLES[grant_name]))} "
                               f"accounts, not a {user.role} account", code="grant_role_mismatch", rule=RULE_GRANTS)
    _require_scope(scope_type, scope_id)
    if user.has_grant(grant_name, scope_type, scope_id):
        return next(g for g in user.grants if g.grant == grant_name and g.scope_id == scope_id)
    row = Grant(user=user, grant=grant_name, scope_type=scope_type, scope_id=scope_id)
    db.session.add(row)
    db.session.flush()
    audit("grant.added", object_type="user", object_id=user.id, grant=grant_name, scope_id=scope_id)
    return row


def _require_scope(scope_type: str, scope_id: int) -> None:
    """The object a grant names exists (its model is the one the permission checks load for
    ``<scope_type>_id``: trading registers the lot)."""
    from core.permissions import PARAM_MODELS

    model = PARAM_MODELS.get(f"{scope_type}_id")
    if model is None or db.session.get(model, scope_id) is None:
        raise ValidationFailed(f"there is no {scope_type} {scope_id} to give a duty on", code="unknown_scope")


def _window_start() -> dt.datetime:
    return now() - dt.timedelta(seconds=current_app.config["GGZY_LOGIN_WINDOW_SECONDS"])


def _recent_failures(*conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(LoginAttempt)
                             .where(*conditions, LoginAttempt.at > _window_start())) or 0


#: failures of one account (from any address) before each further attempt must wait
ACCOUNT_FREE_FAILURES_FACTOR = 2
#: one address (an office behind one NAT) is limited only far above one person's typing errors
ADDRESS_LIMIT_FACTOR = 50


def _account_backoff(email: str) -> int:
    """Seconds the account must still wait: after ``2 × GGZY_LOGIN_MAX_FAILURES`` failures in the
    window (from anywhere), each further try waits 2, 4, 8 … seconds after the last failure, capped at
    ``GGZY_LOGIN_BACKOFF_MAX_SECONDS``.  Guessing from many addresses slows to a crawl, and the owner
    waits at most the cap, never the whole window."""
    free = ACCOUNT_FREE_FAILURES_FACTOR * current_app.config["GGZY_LOGIN_MAX_FAILURES"]
    count, last = db.session.execute(select(func.count(), func.max(LoginAttempt.at)).select_from(LoginAttempt)
                                     .where(LoginAttempt.email == email, LoginAttempt.at > _window_start())).one()
    if count < free or last is None:
        return 0
    delay = min(2 ** min(count - free + 1, 20), current_app.config["GGZY_LOGIN_BACKOFF_MAX_SECONDS"])
    last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
    return max(0, int((last + dt.timedelta(seconds=delay) - now()).total_seconds() + 0.999))


def _rate_limited(email: str, ip: str) -> int:
    """Seconds to wait before another try, 0 if none.  Three limits: per (account, address) the hard
    limit of the window (a stranger elsewhere cannot lock a bidder out before a deadline); per account
    from any address, a growing backoff (no distributed guessing); per address only far above one
    person's mistakes (a whole office signs in from one address)."""
    limit = current_app.config["GGZY_LOGIN_MAX_FAILURES"]
    window = current_app.config["GGZY_LOGIN_WINDOW_SECONDS"]
    if (_recent_failures(LoginAttempt.email == email, LoginAttempt.ip == ip) >= limit
            or _recent_failures(LoginAttempt.ip == ip) >= ADDRESS_LIMIT_FACTOR * limit):
        return window
    return _account_backoff(email)


def authenticate(*, email: str, password: str, ip: str, totp_code: str | None = None) -> User:
    """Check a password (and TOTP where required) under the login rate limit.

    :raises TooManyRequests: too many failures for this account or address in the window
    :raises Unauthorized: wrong credentials (the same message whether the account exists or not)
    """
    email = (email or "").strip().lower()
    if wait := _rate_limited(email, ip):
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait} seconds", code="login_rate_limited",
                              retry_after=wait)
    user = db.session.scalar(select(User).where(User.email == email))
    # verify even without an account, so the response time does not tell whether it exists
    password_ok = _verify(user, password) if user is not None else _verify_nobody(password)
    if user is None or not user.active or not password_ok:
        db.session.add(LoginAttempt(email=email, ip=ip))
        db.session.flush()
        raise Unauthorized("e-mail or password is wrong", code="bad_credentials")
    if user.needs_totp and user.totp_confirmed and not verify_totp(user, totp_code):
        db.session.add(LoginAttempt(email=email, ip=ip))
        db.session.flush()
        raise Unauthorized("a valid one-time code is required", code="totp_required")
    audit("user.login", object_type="user", object_id=user.id, actor=user)
    return user


def _verify(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


_NOBODY: dict[PasswordHasher, str] = {}


def _verify_nobody(password: str) -> bool:
    """Spend one argon2 verification, as for a real account; always False."""
    dummy = _NOBODY.get(_hasher) or _NOBODY.setdefault(_hasher, _hasher.hash(secrets.token_hex(16)))
    try:
        _hasher.verify(dummy, password or "")
    except VerifyMismatchError:
        pass
    return False


def set_password(user: User, password: str) -> None:
    """A new password ends every session and API token of the user and voids pending reset links:
    whoever knew the old one (or stole a cookie or token with it) is out."""
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    end_sessions(user)
    revoked = revoke_all_tokens(user)
    db.session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                       .values(used_at=now()))
    audit("user.password_changed", object_type="user", object_id=user.id, tokens_revoked=revoked)


def end_sessions(user: User) -> None:
    """End every browser session of the user (each carries the generation it started in)."""
    user.session_generation = (user.session_generation or 0) + 1
    audit("user.sessions_ended", object_type="user", object_id=user.id)


def session_user(session_id: str) -> User | None:
    """The user of a session id ``<id>:<generation>``; None if unknown, inactive or ended."""
    user_id, _sep, generation = (session_id or "").partition(":")
    if not user_id.isdigit() or not generation.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or int(generation) != (user.session_generation or 0):
        return None
    return user


# --- API tokens -------------------------------------------------------------------------------

def issue_token(*, user: User, name: str, days: int | None = 365) -> tuple[ApiToken, str]:
    """Create a token; the clear value is returned once and never stored."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, token_sha256=hashlib.sha256(clear.encode()).hexdigest(),
                   prefix=clear[:12], expires_at=now() + dt.timedelta(days=days) if days else None)
    db.session.add(row)
    db.session.flush()
    audit("token.issued", object_type="api_token", object_id=row.id, actor=user)
    return row, clear


#: how often a token's use is written down: ``last_used_at`` says "in use lately", it is no access log
TOKEN_USE_EVERY = dt.timedelta(minutes=5)
_TOKEN_USE = "ggzy_token_use"


def user_for_token(clear: str) -> User | None:
    """Resolve a bearer token to an active user, or None if unknown, revoked or expired.

    One query loads the token, its user and the user's organisation (every API request needs all
    three).  The use is written with the request's own commit (:func:`_token_use_with_commit`), or
    apart after a request that commits nothing (:func:`record_token_use`): never as a commit of its
    own at the start of a write, and never by setting the attribute (autoflush would then write the
    row at the request's first query and hold its lock, on SQLite the database's, until the end)."""
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.organisation))
                            .where(ApiToken.token_sha256 == hashlib.sha256(clear.encode()).hexdigest()))
    moment = now()
    if row is None or row.revoked_at or (row.expires_at and row.expires_at < moment) or not row.user.active:
        return None
    if row.last_used_at is None or moment - row.last_used_at > TOKEN_USE_EVERY:
        db.session.info[_TOKEN_USE] = (row.id, moment)
        set_committed_value(row, "last_used_at", moment)  # what the row will say; not a change to flush
    return row.user


def _token_use_statement(pending: tuple[int, dt.datetime]):
    token_id, moment = pending
    return update(ApiToken.__table__).where(ApiToken.__table__.c.id == token_id).values(last_used_at=moment)


@event.listens_for(Session, "before_commit")
def _token_use_with_commit(session: Session) -> None:
    """The request commits anyway: its token's use goes into the same transaction, as its last write.

    A savepoint's release also fires ``before_commit``; the use waits for the outer commit, which a
    later rollback may still undo.  Being the last statement, the UPDATE holds the token row's lock
    only for the commit itself: two requests with one token queue there briefly, never for longer."""
    if session.in_nested_transaction():
        return
    if (pending := session.info.pop(_TOKEN_USE, None)) is not None:
        session.execute(_token_use_statement(pending))


def record_token_use() -> None:
    """After a request that committed nothing (a GET, a refusal): the use in a short transaction of
    its own.  What the request left uncommitted is rolled back first (it would be at teardown), so
    only the token's row is written; the request's own connection is used, not a second one.  This is
    bookkeeping: if the database refuses it, the response already decided stands and a warning says so."""
    if (pending := db.session.info.pop(_TOKEN_USE, None)) is None:
        return
    try:
        db.session.rollback()
        db.session.execute(_token_use_statement(pending))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        logger.warning("token %s: its use could not be recorded", pending[0], exc_info=True)


def revoke_token(*, token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or now()
    audit("token.revoked", object_type="api_token", object_id=token.id)


def revoke_all_tokens(user: User) -> int:
    """Revoke every live API token of the user; returns how many."""
    result = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .values(revoked_at=now()).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


# --- signed, expiring tokens ---------------------------------------------------------------------

class _ClockSigner(TimestampSigner):
    """Timestamps from ``core.clock`` (not ``time.time``), so expiry follows the one source of now."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def timed_serializer(salt: str) -> URLSafeTimedSerializer:
    """A signed, expiring token serializer (password reset, key challenges) on the app's secret."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt, signer=_ClockSigner)


# --- password reset ---------------------------------------------------------------------------

def _reset_token_of(row: PasswordReset) -> str:
    """The link's token: an HMAC of the row under the secret key (never stored; recomputed to mail it)."""
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"ggzy-password-reset:{row.id}:{row.user_id}:{row.nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()


def request_password_reset(user: User) -> PasswordReset:
    """Start a reset: a row holding the token's hash, and an event whose handler mails the link
    (built on ``GGZY_BASE_URL``).  The token itself is never written anywhere."""
    row = PasswordReset(user_id=user.id, nonce=secrets.token_hex(16), token_sha256="",
                        expires_at=now() + dt.timedelta(seconds=RESET_MAX_AGE))
    db.session.add(row)
    db.session.flush()
    row.token_sha256 = hashlib.sha256(_reset_token_of(row).encode()).hexdigest()
    db.session.flush()
    events.record("core.password_reset_requested", {"reset_id": row.id, "user_id": user.id})
    audit("user.password_reset_requested", object_type="user", object_id=user.id)
    return row


def reset_token(user: User) -> str:
    """A new reset for ``user`` and its token (tests and the CLI; the pages mail it)."""
    return _reset_token_of(request_password_reset(user))


def reset_link_token(reset_id: int) -> tuple[PasswordReset, str] | None:
    """The pending reset and its token, for the mail handler; None if used or expired."""
    row = db.session.get(PasswordReset, reset_id)
    if row is None or row.used_at is not None or row.expires_at < now():
        return None
    return row, _reset_token_of(row)


def reset_password(*, token: str, password: str) -> User:
    """Set a new password through a reset link: once, within the hour, and only while the password
    has not changed meanwhile (every other pending link of the user is voided with it)."""
    digest = hashlib.sha256((token or "").encode()).hexdigest()
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_sha256 == digest))
    if row is None or not hmac.compare_digest(_reset_token_of(row), token):
        raise ValidationFailed("the reset link is not valid", code="reset_invalid")
    if row.used_at is not None:
        raise ValidationFailed("the reset link was already used", code="reset_invalid")
    if row.expires_at < now():
        raise ValidationFailed("the reset link has expired", code="reset_expired")
    check_password_strength(password)
    set_password(row.user, password)
    row.used_at = now()
    return row.user
