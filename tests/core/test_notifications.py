"""Notifications: inbox row + outbox event in the caller's transaction, e-mail sent exactly once over
real SMTP (aiosmtpd), inbox API limited to one's own messages."""
from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select

from core import events, identity, notifications
from core.db import db
from core.events import EventDelivery, OutboxEvent, commit
from core.models import Notification, User
from tests.factories import bearer, make_user, token_for
from tests.smtpserver import smtp_server  # noqa: F401  (fixture)
from tests.support import free_port

HANDLER = "notifications.send_email"


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def mail_to(app, smtp_server, monkeypatch):  # noqa: F811
    """Point the session app at the test SMTP server for this test only."""
    monkeypatch.setitem(app.config, "GGZY_SMTP_URL", smtp_server.url)
    monkeypatch.setitem(app.config, "GGZY_MAIL_FROM", "noreply@test.ggzy")
    return smtp_server


def _event_for(note_id: int) -> OutboxEvent:
    rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "core.notification_created")).all()
    matching = [r for r in rows if r.payload["notification_id"] == note_id]
    assert len(matching) == 1
    return matching[0]


def test_notify_writes_the_inbox_and_mails_once(app, mail_to):
    with app.app_context():
        user = make_user("expert", email="zhang.san@test.ggzy")
        note = notifications.notify(user=user, subject="开标提醒 · opening reminder", body="开标时间：明天 9:30",
                                    link="https://ggzy.example/lots/7")
        assert mail_to.messages == []  # nothing leaves before the commit
        commit()  # eager outbox: the handler runs now, in its own transaction
        note_id, user_id = note.id, user.id

    assert len(mail_to.messages) == 1
    mail = mail_to.messages[0]
    assert mail.rcpt_tos == ["zhang.san@test.ggzy"] and mail.mail_from == "noreply@test.ggzy"
    assert mail.message["Subject"] == "开标提醒 · opening reminder"
    text = mail.message.get_content()
    assert "开标时间：明天 9:30" in text and "https://ggzy.example/lots/7" in text

    with app.app_context():
        note = db.session.get(Notification, note_id)
        assert note.user_id == user_id and note.emailed_at is not None and note.read_at is None
        ev = _event_for(note_id)
        assert ev.payload == {"v": 1, "notification_id": note_id, "user_id": user_id}
        assert ev.completed_at is not None
        assert events.run_handler(ev.id, HANDLER) == "duplicate"
        # even if the delivery mark were lost, the emailed_at guard keeps it to one mail
        db.session.execute(delete(EventDelivery).where(EventDelivery.event_id == ev.id))
        db.session.commit()
        assert events.run_handler(ev.id, HANDLER) == "handled"
    assert len(mail_to.messages) == 1


def test_a_rolled_back_notification_sends_nothing(app, mail_to):
    with app.app_context():
        user = make_user("expert")
        commit()
        notifications.notify(user=user, subject="never")
        db.session.rollback()
        commit()
        assert db.session.scalars(select(Notification)).all() == []
    assert mail_to.messages == []


def test_a_failed_smtp_server_delays_mail_but_keeps_the_message(app, monkeypatch, smtp_server):  # noqa: F811
    monkeypatch.setitem(app.config, "GGZY_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    with app.app_context():
        user = make_user("expert", email="later@test.ggzy")
        note = notifications.notify(user=user, subject="retry me")
        db.session.flush()
        note_id = note.id
        ev_id = _event_for(note_id).id
        db.session.commit()
        with pytest.raises(OSError):
            events.run_handler(ev_id, HANDLER)
        db.session.rollback()
        assert db.session.get(Notification, note_id).emailed_at is None
        assert db.session.get(OutboxEvent, ev_id).completed_at is None
    monkeypatch.setitem(app.config, "GGZY_SMTP_URL", smtp_server.url)
    with app.app_context():
        # the sweeper re-dispatches (eagerly here) what no handler acknowledged
        assert events.sweep(grace_seconds=0) == len(events.handlers_for("core.notification_created"))
        assert db.session.get(Notification, note_id).emailed_at is not None
    assert [m.rcpt_tos for m in smtp_server.messages] == [["later@test.ggzy"]]


def test_without_smtp_the_console_channel_logs(app, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "GGZY_SMTP_URL", "")
    with app.app_context(), caplog.at_level(logging.INFO, logger="core.notifications"):
        user = make_user("expert", email="console@test.ggzy")
        notifications.notify(user=user, subject="控制台消息")
        commit()
    assert any("控制台消息" in r.getMessage() for r in caplog.records)
    assert not any("console@test.ggzy" in r.getMessage() for r in caplog.records), "no recipient in the log"


def test_inbox_api_lists_only_own_messages(app, client):
    with app.app_context():
        alice, bob = make_user("bidder"), make_user("bidder")
        for i in range(3):
            notifications.notify(user=alice, subject=f"alice {i}")
        notifications.notify(user=bob, subject="bob 0")
        commit()
        assert notifications.unread_count(alice) == 3
        tokens = {"alice": token_for(alice), "bob": token_for(bob)}
    mine = client.get("/api/notifications", headers=bearer(tokens["alice"])).get_json()
    assert [n["subject"] for n in mine] == ["alice 2", "alice 1", "alice 0"]  # newest first
    theirs = client.get("/api/notifications", headers=bearer(tokens["bob"])).get_json()
    assert [n["subject"] for n in theirs] == ["bob 0"]
    assert client.get("/api/notifications").status_code == 401


def test_marking_read(app, client):
    with app.app_context():
        alice, bob = make_user("expert"), make_user("expert")
        a_note = notifications.notify(user=alice, subject="for alice")
        commit()
        a_id, alice_id = a_note.id, alice.id
        tokens = {"alice": token_for(alice), "bob": token_for(bob)}
    refused = client.post(f"/api/notifications/{a_id}/read", headers=bearer(tokens["bob"]))
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Notification, a_id).read_at is None
    ok = client.post(f"/api/notifications/{a_id}/read", headers=bearer(tokens["alice"]))
    assert ok.status_code == 200 and ok.get_json()["read_at"]
    first = ok.get_json()["read_at"]
    again = client.post(f"/api/notifications/{a_id}/read", headers=bearer(tokens["alice"]))
    assert again.get_json()["read_at"] == first  # the first reading time is kept
    with app.app_context():
        assert notifications.unread_count(db.session.get(User, alice_id)) == 0
    assert client.post("/api/notifications/99999/read", headers=bearer(tokens["alice"])).status_code == 404
