"""Server-rendered pages: languages, sign-in end to end, account, inbox, password reset, API docs,
error pages with a request id."""
from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from flask_babel import force_locale, gettext
from sqlalchemy import select

from core import identity, notifications
from core.db import db
from core.events import commit
from core.models import ApiToken
from tests.factories import PASSWORD, make_user

TITLE = "Public Resource Trading Platform"


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def csrf_from(resp) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True))
    assert match, "no csrf_token in the form"
    return match[1]


def _user(app, role="bidder", email=None) -> dict:
    with app.app_context():
        user = make_user(role, email=email)
        commit()
        return {"id": user.id, "email": user.email, "name": user.name}


def _sign_in(client, email, password=PASSWORD, next_url=""):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page), "email": email, "password": password,
                                       "next": next_url})


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html)[1]


def test_home_is_chinese_by_default(app, client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert _lang(html) == "zh-CN"
    with app.test_request_context("/"), force_locale("zh_CN"):
        chinese = gettext(TITLE)
    if chinese != TITLE:  # the zh_CN catalogue is compiled: the page must use it
        assert chinese in html and f">{TITLE}<" not in html


def test_home_in_english(client):
    for resp in (client.get("/?lang=en"), client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})):
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and _lang(html) == "en"
        assert f">{TITLE}<" in html


def test_language_cookie_is_remembered(client):
    resp = client.get("/lang/en", headers={"Referer": "/"})
    assert resp.status_code == 302 and "lang=en" in resp.headers["Set-Cookie"]
    assert _lang(client.get("/").get_data(as_text=True)) == "en"
    client.get("/lang/xx")  # unknown languages are ignored
    assert _lang(client.get("/").get_data(as_text=True)) == "en"


def test_sign_in_and_out_end_to_end(app, client):
    user = _user(app, email="web@test.ggzy")
    wrong = _sign_in(client, user["email"], "wrong password!")
    assert wrong.status_code == 401 and 'role="alert"' in wrong.get_data(as_text=True)
    ok = _sign_in(client, user["email"], next_url="/inbox")
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/inbox")
    account = client.get("/account")
    assert account.status_code == 200
    assert user["name"] in account.get_data(as_text=True) and user["email"] in account.get_data(as_text=True)
    out = client.post("/logout", data={"csrf_token": csrf_from(account)})
    assert out.status_code == 302
    assert client.get("/account").status_code == 302  # signed out: redirected to the login page


def test_open_redirects_are_refused(app, client):
    user = _user(app)
    resp = _sign_in(client, user["email"], next_url="//evil.example/x")
    assert resp.status_code == 302 and "evil.example" not in resp.headers["Location"]


def test_account_requires_sign_in(client):
    for path in ("/account", "/inbox"):
        resp = client.get(path)
        assert resp.status_code in (302, 401), path
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]
    assert client.get("/account", headers={"Accept": "application/json"}).get_json()["error"] == \
        "authentication_required"


def test_account_page_creates_a_token_shown_once(app, client):
    user = _user(app)
    _sign_in(client, user["email"])
    page = client.get("/account")
    resp = client.post("/account/tokens", data={"csrf_token": csrf_from(page), "name": "laptop"},
                       follow_redirects=True)
    html = resp.get_data(as_text=True)
    shown = re.search(r"(ggzy_[A-Za-z0-9_\-]{20,})", html)[1]
    assert "laptop" in html
    assert shown not in client.get("/account").get_data(as_text=True)  # once only
    with app.app_context():
        assert db.session.scalars(select(ApiToken.name).where(ApiToken.user_id == user["id"])).all() == ["laptop"]


def test_totp_enrolment_through_the_account_page(app, client):
    import pyotp

    user = _user(app, role="supervisor", email="sup.web@test.ggzy")
    first = _sign_in(client, user["email"])
    assert first.headers["Location"].endswith("/account")  # asked to enrol
    page = client.post("/account/totp", data={"csrf_token": csrf_from(client.get("/account"))})
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.get_data(as_text=True))[1]
    client.post("/account/totp", data={"csrf_token": csrf_from(page), "code": pyotp.TOTP(secret).now()})
    with app.app_context():
        assert db.session.get(identity.User, user["id"]).totp_confirmed
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert _sign_in(client, user["email"]).status_code == 401  # now the code is required


def test_inbox_shows_own_messages_only(app, client):
    with app.app_context():
        alice, bob = make_user("expert"), make_user("expert")
        notifications.notify(user=alice, subject="评标通知 for alice", body="请于明日到场")
        notifications.notify(user=bob, subject="message for bob")
        commit()
        alice_email = alice.email
    _sign_in(client, alice_email)
    html = client.get("/inbox").get_data(as_text=True)
    assert "评标通知 for alice" in html and "请于明日到场" in html
    assert "message for bob" not in html
    assert re.search(r'class="badge">1<', client.get("/").get_data(as_text=True))  # unread count


def test_password_reset_through_the_pages(app, client, monkeypatch):
    user = _user(app, email="forgot@test.ggzy")
    mailed = []

    class Mailbox(notifications.Channel):
        def send(self, user, note):
            mailed.append((user.id, note.link))

    monkeypatch.setattr(notifications, "mail_channel", Mailbox)
    page = client.get("/password-reset")
    for email in ("forgot@test.ggzy", "unknown@test.ggzy"):  # the same answer for both
        resp = client.post("/password-reset", data={"csrf_token": csrf_from(page), "email": email})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert [user_id for user_id, _link in mailed] == [user["id"]]
    link = mailed[0][1]
    assert link.startswith(app.config["GGZY_BASE_URL"] + "/password-reset/")
    path = link[link.index("/password-reset/"):]
    form = client.get(path)
    assert form.status_code == 200
    done = client.post(path, data={"csrf_token": csrf_from(form), "password": "my-new-password-1"})
    assert done.status_code == 302
    reused = client.post(path, data={"csrf_token": csrf_from(form), "password": "my-other-password"})
    assert reused.status_code == 422
    assert _sign_in(client, user["email"], "my-new-password-1").status_code == 302


def test_api_docs_list_operations(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/auth/tokens", "/api/keys", "/api/notifications"):
        assert f"<code>{path}</code>" in html
    assert "[auth.token.create]" in html and "[keys.register]" in html
    assert html.count('<details class="op">') == sum(
        1 for ops in spec["paths"].values() for m in ops if m in {"get", "post", "put", "patch", "delete"})


def test_error_pages_carry_the_request_id(client):
    html = client.get("/no-such-page", headers={"X-Request-ID": "req-7f3a9c"})
    assert html.status_code == 404 and "req-7f3a9c" in html.get_data(as_text=True)
    assert html.headers["X-Request-ID"] == "req-7f3a9c"
    api = client.get("/api/no-such-thing")
    body = api.get_json()
    assert api.status_code == 404 and body["error"] == "not_found"
    assert body["request_id"] == api.headers["X-Request-ID"] and len(body["request_id"]) == 32
    refused = client.get("/api/me", headers={"X-Request-ID": "req-denied-1"})
    assert refused.status_code == 401 and refused.get_json()["request_id"] == "req-denied-1"
