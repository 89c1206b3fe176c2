"""Issue 18, the foundation's part: links from configuration, metrics behind a sign-in, production
refusals, the second factor and sessions, nested JSON, reset tokens kept as a hash, quiet console
mail, and sign-in limits that do not lock out an office.  Each test failed before its fix."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re

import pyotp
import pytest
from sqlalchemy import select

from core import clock, identity, models, notifications, second_factor
from core.config import ProductionConfigError, build_config
from core.db import db
from core.events import commit
from core.models import ApiToken, AuditLog, Notification, User
from tests.factories import PASSWORD, bearer, make_user, token_for

GOOD_SECRET = "Zq8v-3kP_w1Lr7Yc0Tn5Hb2Xs9Mf4Jd6Ge"  # private enough for the checks; never used anywhere


class Recorder(notifications.Channel):
    """A mail channel that keeps what it was given."""

    name = "recorder"

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def send(self, user, note):
        self.sent.append((user.email, note.subject, note.link))


@pytest.fixture
def mailbox(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(notifications, "mail_channel", lambda: recorder)
    return recorder


def csrf_from(resp) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True))[1]


def sign_in(client, email, password=PASSWORD, totp=""):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page), "email": email, "password": password,
                                       "totp": totp})


def _enrolled(role="supervisor") -> tuple[int, str, str]:
    user = make_user(role)
    second_factor.start_totp(user)
    second_factor.confirm_totp(user, pyotp.TOTP(getattr(user, "totp_pending_secret", None) or user.totp_secret).now())
    commit()
    return user.id, user.email, user.totp_secret


# --- 1. links come from GGZY_BASE_URL, never from the Host header ---------------------------------

def test_the_reset_link_ignores_the_host_header(app, client, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "GGZY_BASE_URL", "https://ggzy.example.cn")
    with app.app_context():
        email = make_user("expert").email
        commit()
    page = client.get("/password-reset", headers={"Host": "evil.example"})
    sent = client.post("/password-reset", data={"csrf_token": csrf_from(page), "email": email},
                       headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert sent.status_code == 302
    assert len(mailbox.sent) == 1
    to, _subject, link = mailbox.sent[0]
    assert to == email
    assert link.startswith("https://ggzy.example.cn/password-reset/"), link
    assert "evil.example" not in link


def test_the_reset_token_is_stored_only_as_a_hash(app, client, mailbox):
    with app.app_context():
        email = make_user("expert").email
        commit()
    page = client.get("/password-reset")
    client.post("/password-reset", data={"csrf_token": csrf_from(page), "email": email})
    token = mailbox.sent[0][2].rsplit("/", 1)[1]
    with app.app_context():
        assert not any(token in (n.link + n.body) for n in db.session.scalars(select(Notification)))
        assert not any(token in str(a.detail) for a in db.session.scalars(select(AuditLog)))
        row = db.session.scalars(select(models.PasswordReset)).one()
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest() and token not in row.nonce
    path = "/password-reset/" + token
    form = client.get(path)
    assert client.post(path, data={"csrf_token": csrf_from(form), "password": "my-new-password-1"}).status_code == 302
    reused = client.post(path, data={"csrf_token": csrf_from(form), "password": "my-other-password"})
    assert reused.status_code == 422 and "重置链接无效或已使用" in reused.get_data(as_text=True)


# --- 3. metrics need an admin and do not count bids -----------------------------------------------

def test_metrics_need_an_admin(app, client):
    with app.app_context():
        bidder, admin = token_for(make_user("bidder")), token_for(make_user("admin"))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(bidder)).status_code == 403
    assert client.get("/metrics", headers=bearer(admin)).status_code == 200


def test_metrics_do_not_count_requests_per_bidding_route(app, client):
    with app.app_context():
        bidder, admin = token_for(make_user("bidder")), token_for(make_user("admin"))
    for _ in range(3):
        client.post("/api/bidding/lots/7/bids", headers=bearer(bidder), json={})
        client.get("/api/bidding/lots/7/opening-key", headers=bearer(bidder))
    text = client.get("/metrics", headers=bearer(admin)).get_data(as_text=True)
    assert "/bids" not in text and "opening-key" not in text
    assert 'endpoint="(bidding)"' in text


# --- 5. GGZY_ENV and production refusals ------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("GGZY_") and not name.startswith("GGZY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GGZY_INSTANCE_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("value", ["Production", "prod", "DEMO", " test", "development"])
def test_an_unknown_mode_is_an_error_naming_the_variable(clean_env, value):
    clean_env.setenv("GGZY_ENV", value)
    with pytest.raises(ValueError, match="GGZY_ENV"):  # core.config.ConfigError
        build_config()


def test_unset_mode_means_production_and_refuses_the_demo_secret(clean_env):
    with pytest.raises(ProductionConfigError, match="GGZY_SECRET_KEY"):
        build_config()


@pytest.mark.parametrize(("secret", "why"), [
    ("ggzy-demo-insecure-secret-key", "private"), ("test-secret-key-not-for-production", "private"),
    ("s3cret-from-env", "too short"), ("a" * 40, "too weak"), ("abababababababababababababababab12", "too weak"),
])
def test_production_refuses_weak_secrets(clean_env, secret, why):
    clean_env.setenv("GGZY_ENV", "production")
    clean_env.setenv("GGZY_BASE_URL", "https://ggzy.example.cn")
    clean_env.setenv("GGZY_SECRET_KEY", secret)
    with pytest.raises(ProductionConfigError, match=f"GGZY_SECRET_KEY.*{why}"):
        build_config()


def test_production_needs_an_https_base_url_and_sets_secure_cookies(clean_env):
    clean_env.setenv("GGZY_ENV", "production")
    clean_env.setenv("GGZY_SECRET_KEY", GOOD_SECRET)
    with pytest.raises(ProductionConfigError, match="GGZY_BASE_URL"):
        build_config()
    clean_env.setenv("GGZY_BASE_URL", "http://ggzy.example.cn")
    with pytest.raises(ProductionConfigError, match="GGZY_BASE_URL"):
        build_config()
    clean_env.setenv("GGZY_BASE_URL", "https://ggzy.example.cn/")
    cfg = build_config()
    assert cfg["GGZY_BASE_URL"] == "https://ggzy.example.cn"
    assert cfg["SESSION_COOKIE_SECURE"] and cfg["SESSION_COOKIE_HTTPONLY"] and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert cfg["REMEMBER_COOKIE_SECURE"] and cfg["REMEMBER_COOKIE_HTTPONLY"]


def test_demo_and_test_default_the_base_url_to_the_local_port(clean_env):
    clean_env.setenv("GGZY_ENV", "demo")
    clean_env.setenv("GGZY_PORT", "5123")
    assert build_config()["GGZY_BASE_URL"] == "http://127.0.0.1:5123"
    clean_env.setenv("GGZY_BASE_URL", "ggzy.example.cn")
    with pytest.raises(ValueError, match="GGZY_BASE_URL"):  # core.config.ConfigError
        build_config()


# --- 7. second factor and sessions --------------------------------------------------------------------

def test_the_csrf_token_alone_does_not_turn_the_second_factor_off(app, client):
    with app.app_context():
        user_id, email, secret = _enrolled()
    later = clock.now() + dt.timedelta(seconds=30)
    with clock.frozen(later):
        assert sign_in(client, email, totp=pyotp.TOTP(secret).at(later)).status_code == 302
    account = client.get("/account")
    resp = client.post("/account/totp", data={"csrf_token": csrf_from(account)})
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.totp_confirmed and user.totp_secret == secret and user.totp_pending_secret is None
    assert "当前身份验证器" in client.get("/account").get_data(as_text=True)  # the refusal, in Chinese


def test_re_enrolment_needs_the_current_code_and_keeps_the_old_factor_until_confirmed(app, client):
    with app.app_context():
        user_id, email, secret = _enrolled()
    later = clock.now() + dt.timedelta(seconds=30)
    with clock.frozen(later):
        sign_in(client, email, totp=pyotp.TOTP(secret).at(later))
    account = client.get("/account")
    at = later + dt.timedelta(seconds=30)
    with clock.frozen(at):
        page = client.post("/account/totp", data={"csrf_token": csrf_from(account),
                                                  "current_code": pyotp.TOTP(secret).at(at)})
    assert page.status_code == 200
    new = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.get_data(as_text=True))[1]
    with app.app_context():
        user = db.session.get(User, user_id)
        assert (user.totp_secret, user.totp_pending_secret, user.totp_confirmed) == (secret, new, True)
    with clock.frozen(at):
        client.post("/account/totp", data={"csrf_token": csrf_from(account), "code": pyotp.TOTP(new).at(at)})
    with app.app_context():
        user = db.session.get(User, user_id)
        assert (user.totp_secret, user.totp_pending_secret) == (new, None)


def test_sign_out_ends_every_session_of_the_user(app):
    with app.app_context():
        email = make_user("expert").email
        commit()
    first, second = app.test_client(), app.test_client()
    sign_in(first, email)
    sign_in(second, email)
    assert first.get("/account").status_code == second.get("/account").status_code == 200
    first.post("/logout", data={"csrf_token": csrf_from(first.get("/account"))})
    assert second.get("/account").status_code == 302, "the other browser's session ended too"
    assert sign_in(second, email).status_code == 302 and second.get("/account").status_code == 200


def test_a_password_reset_ends_every_session_and_token(app, client):
    with app.app_context():
        user = make_user("bidder")
        commit()
        email, token = user.email, token_for(user)
    sign_in(client, email)
    assert client.get("/account").status_code == 200
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    with app.app_context():
        identity.reset_password(token=identity.reset_token(db.session.scalar(select(User).where(User.email == email))),
                                password="a-brand-new-password")
        commit()
        assert all(t.revoked_at for t in db.session.scalars(select(ApiToken)))
    assert client.get("/account").status_code == 302
    assert client.get("/api/me", headers=bearer(token)).status_code == 401


def test_a_first_enrolment_of_a_privileged_account_is_audited_and_announced(app):
    with app.app_context():
        admin = make_user("admin")
        user_id, _email, _secret = _enrolled("supervisor")
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.totp_enrolled")).all()[-1]
        assert row.object_id == str(user_id) and row.detail["first"] is True
        told = {n.user_id for n in db.session.scalars(select(Notification))}
        assert {admin.id, user_id} <= told


def test_an_admin_reset_of_the_factor_is_audited_and_ends_sessions(app):
    with app.app_context():
        user_id, email, _secret = _enrolled("supervisor")
        user = db.session.get(User, user_id)
        token = token_for(user)
        second_factor.reset_totp(user=user, by="admin@test.ggzy")
        commit()
        assert not user.totp_confirmed and user.totp_secret is None
        assert identity.user_for_token(token) is None
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.totp_reset")).one()
        assert row.detail["by"] == "admin@test.ggzy"


# --- 9. deeply nested JSON --------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[" * 1000, "[" * 1000 + "]" * 1000, '{"a":' * 500 + "1" + "}" * 500])
def test_deeply_nested_json_is_a_400_with_a_reason(client, body):
    resp = client.post("/api/auth/tokens", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "json_too_deep" and "nested" in resp.get_json()["detail"]


def test_brackets_inside_strings_do_not_count(app, client):
    with app.app_context():
        make_user("expert", email="deep@test.ggzy")
        commit()
    resp = client.post("/api/auth/tokens", json={"email": "deep@test.ggzy", "password": PASSWORD,
                                                 "name": "[" * 200 + "{" * 200})
    assert resp.status_code in (201, 422), resp.get_json()  # parsed, judged on its content


# --- weak spots -----------------------------------------------------------------------------------------

def test_the_console_channel_logs_no_recipient(app, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "GGZY_SMTP_URL", "")
    with app.app_context():
        user = make_user("expert", email="drawn.expert@test.ggzy")
        note = notifications.notify(user=user, subject="评标通知", body="请于明日到场 (secret body)")
        with caplog.at_level(logging.INFO):
            notifications.mail_channel().send(user, note)
        assert "drawn.expert" not in caplog.text and user.name not in caplog.text
        assert "secret body" not in caplog.text


def test_one_office_address_does_not_lock_out_its_colleagues(app):
    """Thirty colleagues behind one address each mistype once: the thirty-first still signs in."""
    with app.app_context():
        users = [make_user("bidder") for _ in range(31)]
        commit()
        for user in users[:30]:
            with pytest.raises(identity.Unauthorized):
                identity.authenticate(email=user.email, password="mistyped-password", ip="198.51.100.1")
            commit()
        assert identity.authenticate(email=users[30].email, password=PASSWORD, ip="198.51.100.1").id == users[30].id


def test_guessing_one_account_from_many_addresses_meets_a_growing_backoff(app):
    limit = app.config["GGZY_LOGIN_MAX_FAILURES"]
    start = clock.now()
    with app.app_context():
        email = make_user("bidder").email
        commit()
        with clock.frozen(start):
            for n in range(2 * limit):
                with pytest.raises(identity.Unauthorized):
                    identity.authenticate(email=email, password="guess-guess", ip=f"203.0.113.{n + 1}")
                commit()
            with pytest.raises(identity.TooManyRequests) as info:
                identity.authenticate(email=email, password=PASSWORD, ip="192.0.2.77")
        assert 0 < info.value.extra["retry_after"] <= app.config["GGZY_LOGIN_BACKOFF_MAX_SECONDS"]
        with clock.frozen(start + dt.timedelta(seconds=info.value.extra["retry_after"] + 1)):
            assert identity.authenticate(email=email, password=PASSWORD, ip="192.0.2.77").email == email


def test_the_operator_resets_a_factor_from_the_command_line(app):
    from core.cli import root

    with app.app_context():
        user_id, email, _secret = _enrolled("supervisor")
    result = app.test_cli_runner().invoke(root, ["users", "reset-totp", email, "--by", "ticket 42, lost phone"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert not db.session.get(User, user_id).totp_confirmed
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.totp_reset")).one()
        assert row.detail["by"] == "cli: ticket 42, lost phone"
    assert app.test_cli_runner().invoke(root, ["users", "reset-totp", "nobody@test.ggzy", "--by", "x"]).exit_code != 0


def test_sign_in_refusals_are_in_chinese_on_chinese_pages(app, client):
    with app.app_context():
        email = make_user("bidder").email
        commit()
    wrong = sign_in(client, email, password="not-the-password")
    assert wrong.status_code == 401 and "邮箱或密码错误" in wrong.get_data(as_text=True)
