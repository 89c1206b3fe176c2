"""The second factor (TOTP, DESIGN §3): enrolment, confirmation, verification without replay, and the
two ways to take it off (the owner with a current code; an admin's audited reset).

Supervisors, admins and key-share holders need it (``User.needs_totp``).  Codes are read on
``core.clock`` so the demo clock and the tests move them as they move every other instant.
"""
from __future__ import annotations

import datetime as dt
import secrets

import pyotp
from sqlalchemy import select

from core.audit import audit
from core.calendar import SHANGHAI
from core.clock import now
from core.db import db
from core.errors import Forbidden, ValidationFailed
from core.models import User
from core.notifications import notify


def start_totp(user: User, *, current_code: str | None = None) -> str:
    """Begin enrolment: a fresh pending secret, which replaces the current one only once confirmed.

    An enrolled user must give a valid current code to re-enrol: whoever holds a session (or a CSRF
    token in it) cannot replace the factor.  A first enrolment is audited and announced to the user's
    admins (see docs/security.md, "First enrolment").

    :raises ValidationFailed: enrolled, and the current code is missing or wrong (``totp_current_required``)
    """
    if user.totp_confirmed and not verify_totp(user, current_code):
        raise ValidationFailed("re-enrolling needs a valid code of the authenticator enrolled now",
                               code="totp_current_required")
    user.totp_pending_secret = pyotp.random_base32()
    if not user.totp_confirmed:
        user.totp_secret = user.totp_pending_secret  # nothing to keep yet (unconfirmed, it guards nothing)
    audit("user.totp_enrolment_started", object_type="user", object_id=user.id, reenrol=bool(user.totp_confirmed))
    return pyotp.TOTP(user.totp_pending_secret).provisioning_uri(name=user.email, issuer_name="ggzy")


def _totp_step(user: User, code: str | None, secret: str | None = None) -> int | None:
    """The time step a code belongs to (±1 step of drift), read on core.clock; None if no match."""
    secret = secret or user.totp_secret
    if not secret or not code:
        return None
    totp, moment = pyotp.TOTP(secret), now()
    for drift in (0, -1, 1):
        at = moment + dt.timedelta(seconds=30 * drift)
        if secrets.compare_digest(totp.at(at), code.strip()):
            return totp.timecode(at)
    return None


def confirm_totp(user: User, code: str) -> None:
    """Confirm the pending secret with one of its codes; it becomes the account's factor."""
    step = _totp_step(user, code, user.totp_pending_secret) if user.totp_pending_secret else None
    if step is None:
        raise ValidationFailed("the one-time code is not valid", code="totp_invalid")
    first = not user.totp_confirmed
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_last_step = step
    user.totp_confirmed = True
    audit("user.totp_enrolled", object_type="user", object_id=user.id, first=first)
    if first and user.needs_totp:
        _announce_first_enrolment(user)


def _announce_first_enrolment(user: User) -> None:
    """A privileged account's first factor is set by whoever signs in first with its password: the
    user and every admin are told, so an enrolment nobody expected is seen and reset (audited)."""
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active)).all()
    for person in {user.id: user, **{a.id: a for a in admins}}.values():
        notify(user=person, subject=f"身份验证器已绑定：{user.email}",
               body=f"账号 {user.email} 于 {now().astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）绑定了身份验证器。"
                    "如非本人操作，请管理员重置其第二重身份验证（ggzy users reset-totp）。")


def disable_totp(user: User, *, current_code: str | None) -> None:
    """Turn the second factor off; needs a valid current code.  A role that requires one cannot.

    :raises ValidationFailed: wrong code (``totp_current_required``) or required for the role
    """
    if not user.totp_confirmed:
        return
    if user.needs_totp:
        raise ValidationFailed("your role requires a second factor; re-enrol instead", code="totp_required_for_role")
    if not verify_totp(user, current_code):
        raise ValidationFailed("turning the second factor off needs a valid current code",
                               code="totp_current_required")
    user.totp_secret, user.totp_pending_secret, user.totp_confirmed = None, None, False
    audit("user.totp_disabled", object_type="user", object_id=user.id)


def reset_totp(*, user: User, by: str) -> None:
    """An admin's reset (lost phone, unexpected enrolment): clears the factor, ends every session and
    token, audited with who reset it.  The next sign-in enrols again."""
    user.totp_secret, user.totp_pending_secret, user.totp_confirmed, user.totp_last_step = None, None, False, None
    from core.identity import end_sessions, revoke_all_tokens  # identity signs in through this module

    end_sessions(user)
    revoked = revoke_all_tokens(user)
    audit("user.totp_reset", object_type="user", object_id=user.id, by=by, tokens_revoked=revoked)


def verify_totp(user: User, code: str | None) -> bool:
    """A valid code that was not used before: a code seen once is refused (no replay)."""
    step = _totp_step(user, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def require_enrolled_second_factor(user: User) -> None:
    """Supervisors, admins and custodians get no token and no pages before enrolling TOTP."""
    if user.needs_totp and not user.totp_confirmed:
        raise Forbidden("enrol an authenticator app on the account page first", code="totp_enrolment_required")
