"""Notifications every domain uses: an in-app inbox row, then e-mail (SMTP) or the console.

``notify`` writes the inbox row in the caller's transaction and records
``core.notification_created``; the subscribed handler sends the e-mail once (``emailed_at`` guard),
so a failed mail server delays mail but never loses the message.  Other channels (SMS/voice for
experts) implement :class:`Channel` and register in :data:`CHANNELS`.
"""
from __future__ import annotations

import logging
import smtplib
from abc import ABC, abstractmethod
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app
from sqlalchemy import func, select

from core import events
from core.clock import now
from core.db import db
from core.models import Notification, User

logger = logging.getLogger(__name__)


class Channel(ABC):
    """A delivery channel: ``send(user, notification)``; raise to have the delivery retried."""

    name = "base"

    @abstractmethod
    def send(self, user: User, note: Notification) -> None:
        """Deliver one notification to one user."""


class ConsoleChannel(Channel):
    """The demo's channel: the message goes to the log, readable in the terminal."""

    name = "console"

    def send(self, user: User, note: Notification) -> None:
        """Neither the recipient nor the body is logged: a recipient can name a drawn expert, a body
        can carry a link that opens an account.  The message is in the user's inbox."""
        logger.info("notification %s delivered to the inbox (console channel: no e-mail sent): %s",
                    note.id if note.id is not None else "-", note.subject)


class SmtpChannel(Channel):
    """E-mail over SMTP from ``GGZY_SMTP_URL`` (smtp://user:pass@host:port, smtps:// for TLS)."""

    name = "email"

    def send(self, user: User, note: Notification) -> None:
        url = urlparse(current_app.config["GGZY_SMTP_URL"])
        msg = EmailMessage()
        msg["From"] = current_app.config["GGZY_MAIL_FROM"]
        msg["To"] = user.email
        msg["Subject"] = note.subject
        msg.set_content(note.body + (f"\n\n{note.link}" if note.link else ""))
        cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with cls(url.hostname, url.port or (465 if url.scheme == "smtps" else 25), timeout=10) as smtp:
            smtp.ehlo()
            if url.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls()  # never send a password or a message in clear when the server offers TLS
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(msg)


def mail_channel() -> Channel:
    return SmtpChannel() if current_app.config.get("GGZY_SMTP_URL") else ConsoleChannel()


def notify(*, user: User, subject: str, body: str = "", link: str = "", source_event: str = "") -> Notification:
    """Put a message in the user's inbox and schedule its e-mail (same transaction as the caller)."""
    note = Notification(user_id=user.id, subject=subject[:200], body=body, link=link, source_event=source_event)
    db.session.add(note)
    db.session.flush()
    events.record("core.notification_created", {"notification_id": note.id, "user_id": user.id})
    return note


def inbox(user: User, *, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    return list(db.session.scalars(q.order_by(Notification.id.desc()).limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(note: Notification) -> None:
    note.read_at = note.read_at or now()


@events.subscriber("core.notification_created", name="notifications.send_email")
def send_email(event) -> None:
    """Deliver once: a second run finds ``emailed_at`` set and does nothing."""
    note = db.session.get(Notification, event.payload["notification_id"])
    if note is None or note.emailed_at is not None:
        return
    user = db.session.get(User, note.user_id)
    mail_channel().send(user, note)
    note.emailed_at = now()


Notification.owner_user_id = property(lambda self: self.user_id)


def external_url(path: str) -> str:
    """An absolute link for mail and notifications: ``GGZY_BASE_URL`` + path, never the request's Host."""
    return current_app.config["GGZY_BASE_URL"].rstrip("/") + "/" + path.lstrip("/")


@events.subscriber("core.password_reset_requested", name="notifications.send_password_reset")
def send_password_reset(event) -> None:
    """Mail the reset link.  It is not put in the inbox (whoever forgot the password cannot read it)
    and not stored: the token is recomputed here from the row and the secret key."""
    from core.identity import reset_link_token

    found = reset_link_token(event.payload["reset_id"])
    if found is None:
        return
    row, token = found
    link = external_url(f"/password-reset/{token}")  # a hex token: nothing to quote
    note = Notification(user_id=row.user_id, subject="密码重置 / Password reset", link=link,
                        body="请在一小时内打开链接设置新密码。Open the link within one hour to choose a new password.")
    mail_channel().send(row.user, note)


@events.subscriber("monitoring.alert_raised", name="notifications.alert_to_supervisors")
def alert_to_supervisors(event) -> None:
    """Every active supervisor receives the alert with its evidence, organisation names spelled out
    (a supervisor must be able to check it; a flag is not a finding).  Once per event: the outbox
    acknowledges the delivery in the same transaction."""
    from core.models import Organisation

    payload = event.payload
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)
                                    .where(Organisation.id.in_(payload.get("bidder_org_ids", [])))).all())
    lines = [f"{item['field']} = {item['value']}: " + "、".join(names.get(b, f"#{b}") for b in item["bidders"])
             for items in payload.get("evidence", {}).values() for item in items]
    body = "\n".join([f"{payload.get('rule', '')} — {', '.join(payload.get('flags', []))}", *lines,
                      payload.get("note", "")])
    supervisors = db.session.scalars(select(User).where(User.role == "supervisor", User.active)).all()
    for user in supervisors:
        notify(user=user, subject=f"围标串标预警 / collusion alert: lot {payload['lot_id']}", body=body,
               link=f"/supervisor/lots/{payload['lot_id']}", source_event=event.event_id)
