"""Identity services and their API: USCC (GB 32100-2015), users, sign-in with the rate limit, TOTP,
password reset and the append-only audit trail."""
from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core import clock, identity, second_factor
from core.clock import frozen, now
from core.db import db
from core.errors import Conflict, TooManyRequests, Unauthorized, ValidationFailed
from core.events import commit
from core.models import AuditLog, LoginAttempt, Organisation, PasswordReset, User
from tests.factories import PASSWORD, bearer, make_org, make_user, token_for

#: published codes of well-known companies (national enterprise credit information system)
REAL_USCCS = [
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91110000710925462X",  # 中国石油天然气股份有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
]
VALID = identity.make_uscc("91330200MA2X00001")


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    """Still argon2id, with cheap parameters: the suite hashes hundreds of passwords."""
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _admin_token(app) -> str:
    with app.app_context():
        token = token_for(make_user("admin"))
    return token


def _post_org(client, token, uscc, name="宁波测试工程有限公司"):
    return client.post("/api/organisations", json={"uscc": uscc, "name": name}, headers=bearer(token))


# --- USCC --------------------------------------------------------------------------------------

def test_make_uscc_completes_a_code_that_validates():
    assert len(VALID) == 18
    assert identity.validate_uscc(VALID) == VALID
    assert identity.validate_uscc(" " + VALID.lower() + " ") == VALID


@pytest.mark.parametrize("code", REAL_USCCS)
def test_published_usccs_are_valid(code):
    assert identity.validate_uscc(code) == code


@pytest.mark.parametrize("code", REAL_USCCS)
def test_every_other_check_character_is_refused(code):
    for wrong in (c for c in identity.USCC_CHARS if c != code[-1]):
        with pytest.raises(ValidationFailed, match="check character"):
            identity.validate_uscc(code[:17] + wrong)


def _replace(code: str, index: int, char: str) -> str:
    return code[:index] + char + code[index + 1:]


BAD_USCCS = {
    "check": _replace(VALID, 17, "0" if VALID[17] != "0" else "1"),
    **{f"letter_{c}": _replace(VALID, 9, c) for c in "IOSVZ"},
    "short": VALID[:17],
    "long": VALID + "1",
    "empty": "",
    "region": identity.make_uscc("91A30200MA2X00001"),
}


@pytest.mark.parametrize("case", sorted(BAD_USCCS))
def test_invalid_uscc_is_refused_by_the_api_naming_the_rule(app, client, case):
    token = _admin_token(app)
    resp = _post_org(client, token, BAD_USCCS[case])
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "invalid_uscc"
    assert "GB 32100-2015" in body["rule"]
    expected = {"check": "check character", "short": "18 characters", "long": "18 characters",
                "empty": "18 characters", "region": "region"}.get(case, "not allowed")
    assert expected in body["detail"]
    with app.app_context():
        assert db.session.scalar(select(Organisation.id).where(Organisation.uscc == BAD_USCCS[case])) is None


def test_region_check_comes_with_a_valid_check_character():
    code = BAD_USCCS["region"]
    assert identity.uscc_check_char(code[:17]) == code[17]  # only the region is wrong
    with pytest.raises(ValidationFailed, match="region"):
        identity.validate_uscc(code)


def test_organisation_created_through_the_api_and_duplicate_uscc_is_409(app, client):
    token = _admin_token(app)
    resp = _post_org(client, token, REAL_USCCS[0], name="华为技术有限公司")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["uscc"] == REAL_USCCS[0]
    again = _post_org(client, token, REAL_USCCS[0].lower(), name="另一家公司")
    assert again.status_code == 409
    assert again.get_json()["error"] == "duplicate_uscc"
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Organisation)
                                 .where(Organisation.uscc == REAL_USCCS[0])) == 1


def test_only_admins_create_organisations(app, client):
    with app.app_context():
        token = token_for(make_user("supervisor"))
    assert _post_org(client, token, VALID).status_code == 403
    assert client.post("/api/organisations", json={"uscc": VALID, "name": "匿名公司"}).status_code == 401


def test_legal_rep_id_number_is_kept_only_as_a_hash(app, client):
    token = _admin_token(app)
    resp = client.post("/api/organisations", headers=bearer(token), json={
        "uscc": VALID, "name": "甬城建设有限公司", "legal_rep": {"name": "张三", "id_number": "330203199001011234"}})
    assert resp.status_code == 201
    assert "330203199001011234" not in resp.get_data(as_text=True)
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.uscc == VALID))
        assert org.legal_rep["name"] == "张三"
        assert org.legal_rep["id_number_hash"] == identity.hash_id_number("330203199001011234")


# --- users -------------------------------------------------------------------------------------

def test_user_password_is_stored_as_argon2_only(ctx):
    user = make_user("expert", password="a-long-enough-secret")
    commit()
    assert user.password_hash.startswith("$argon2id$")
    assert "a-long-enough-secret" not in user.password_hash
    assert identity._verify(user, "a-long-enough-secret")
    assert not identity._verify(user, "a-long-enough-secreT")


@pytest.mark.parametrize(("kwargs", "error", "code"), [
    ({"role": "superuser"}, ValidationFailed, "invalid_role"),
    ({"role": "bidder"}, ValidationFailed, "organisation_required"),
    ({"role": "agency"}, ValidationFailed, "organisation_required"),
    ({"role": "expert", "password": "short"}, ValidationFailed, "weak_password"),
])
def test_create_user_refusals(ctx, kwargs, error, code):
    args = {"email": "x@test.ggzy", "name": "X", "password": PASSWORD, **kwargs}
    with pytest.raises(error) as info:
        identity.create_user(**args)
    assert info.value.code == code
    assert db.session.scalar(select(User.id).where(User.email == "x@test.ggzy")) is None


def test_duplicate_email_is_refused_case_insensitively(ctx):
    make_user("expert", email="Dup@Test.ggzy")
    with pytest.raises(Conflict) as info:
        make_user("expert", email="dup@test.GGZY")
    assert info.value.code == "duplicate_email"


def test_create_user_through_the_api(app, client):
    with app.app_context():
        org_id = make_org().id
        token = token_for(make_user("admin"))
    ok = client.post("/api/users", headers=bearer(token), json={
        "email": "New.Bidder@test.ggzy", "name": "新投标人", "role": "bidder", "password": PASSWORD,
        "organisation_id": org_id})
    assert ok.status_code == 201, ok.get_json()
    body = ok.get_json()
    assert body["email"] == "new.bidder@test.ggzy" and body["organisation_id"] == org_id
    assert "password" not in body and "password_hash" not in body
    refusals = [
        ({"role": "overlord"}, 422, "validation_failed"),
        ({"password": "short"}, 422, "validation_failed"),
        ({"organisation_id": None}, 422, "organisation_required"),
        ({"email": "NEW.bidder@test.ggzy"}, 409, "duplicate_email"),
    ]
    for change, status, error in refusals:
        data = {"email": "other@test.ggzy", "name": "某人", "role": "bidder", "password": PASSWORD,
                "organisation_id": org_id, **change}
        resp = client.post("/api/users", headers=bearer(token), json=data)
        assert (resp.status_code, resp.get_json()["error"]) == (status, error), change


# --- sign-in and the rate limit -------------------------------------------------------------------

def _token_request(client, email, password, **extra):
    return client.post("/api/auth/tokens", json={"email": email, "password": password, **extra})


def test_sign_in_right_and_wrong_password(app, client):
    with app.app_context():
        make_user("expert", email="e1@test.ggzy")
        commit()
    assert _token_request(client, "e1@test.ggzy", PASSWORD).status_code == 201
    assert _token_request(client, "E1@TEST.ggzy", PASSWORD).status_code == 201
    wrong = _token_request(client, "e1@test.ggzy", PASSWORD + "x")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "bad_credentials"


def test_same_answer_whether_the_account_exists_or_not(app, client):
    with app.app_context():
        make_user("expert", email="known@test.ggzy")
        commit()
    known = _token_request(client, "known@test.ggzy", "not-the-password").get_json()
    unknown = _token_request(client, "nobody@test.ggzy", "not-the-password").get_json()
    assert known.pop("request_id") != unknown.pop("request_id")
    assert known == unknown == {"error": "bad_credentials", "detail": "e-mail or password is wrong"}


def test_unknown_accounts_cost_a_password_verification_too(app, monkeypatch):
    """No timing hint either: an unknown address is verified against a dummy hash."""
    calls = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):  # noqa: A002 - argon2's signature
            calls.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(identity, "_hasher", Counting(time_cost=1, memory_cost=1024, parallelism=1))
    with app.app_context():
        user = make_user("expert", email="timing@test.ggzy")
        commit()
        for email in ("timing@test.ggzy", "nobody@test.ggzy", "nobody@test.ggzy"):
            with pytest.raises(Unauthorized):
                identity.authenticate(email=email, password="wrong-password", ip="10.0.0.9")
        assert len(calls) == 3 and calls[0] == user.password_hash
        assert calls[1] == calls[2] != user.password_hash


def test_rate_limit_per_account_through_the_api(app, client):
    limit = app.config["GGZY_LOGIN_MAX_FAILURES"]
    with app.app_context():
        make_user("expert", email="victim@test.ggzy")
        make_user("expert", email="bystander@test.ggzy")
        commit()
    for _ in range(limit):
        assert _token_request(client, "victim@test.ggzy", "guess-guess-guess").status_code == 401
    blocked = _token_request(client, "victim@test.ggzy", PASSWORD)  # even the right password
    assert blocked.status_code == 429
    assert blocked.get_json()["error"] == "login_rate_limited"
    # per account: another account from the same address still signs in
    assert _token_request(client, "bystander@test.ggzy", PASSWORD).status_code == 201
    # unknown accounts are limited the same way (no hint that the account does not exist)
    for _ in range(limit):
        _token_request(client, "ghost@test.ggzy", "guess-guess-guess")
    assert _token_request(client, "ghost@test.ggzy", "guess").status_code == 429


def test_rate_limit_window_expires(app):
    limit = app.config["GGZY_LOGIN_MAX_FAILURES"]
    window = dt.timedelta(seconds=app.config["GGZY_LOGIN_WINDOW_SECONDS"])
    start = now()
    with app.app_context():
        make_user("expert", email="w@test.ggzy")
        commit()
        with frozen(start):
            for _ in range(limit):
                with pytest.raises(Unauthorized):
                    identity.authenticate(email="w@test.ggzy", password="wrong-wrong", ip="10.0.0.1")
            commit()
            with pytest.raises(TooManyRequests):
                identity.authenticate(email="w@test.ggzy", password=PASSWORD, ip="10.0.0.1")
        with frozen(start + window - dt.timedelta(seconds=1)), pytest.raises(TooManyRequests):
            identity.authenticate(email="w@test.ggzy", password=PASSWORD, ip="10.0.0.1")
        with frozen(start + window + dt.timedelta(seconds=1)):
            assert identity.authenticate(email="w@test.ggzy", password=PASSWORD, ip="10.0.0.1").email == "w@test.ggzy"
        assert db.session.scalar(select(db.func.count()).select_from(LoginAttempt)) == limit


# --- TOTP ----------------------------------------------------------------------------------------

def _enrolled_supervisor() -> tuple[str, str]:
    user = make_user("supervisor", email="sup@test.ggzy")
    uri = second_factor.start_totp(user)
    assert uri.startswith("otpauth://totp/") and "issuer=ggzy" in uri
    with pytest.raises(ValidationFailed):
        second_factor.confirm_totp(user, _wrong_code(user.totp_secret))
    assert not user.totp_confirmed
    second_factor.confirm_totp(user, pyotp.TOTP(user.totp_secret).now())
    assert user.totp_confirmed
    commit()
    return user.email, user.totp_secret


def _wrong_code(secret: str) -> str:
    good = pyotp.TOTP(secret)
    return next(c for c in ("123456", "654321", "000001") if not good.verify(c, valid_window=1))


def test_enrolled_supervisor_needs_a_code_for_a_token(app, client):
    with app.app_context():
        email, secret = _enrolled_supervisor()
    missing = _token_request(client, email, PASSWORD)
    assert missing.status_code == 401 and missing.get_json()["error"] == "totp_required"
    wrong = _token_request(client, email, PASSWORD, totp=_wrong_code(secret))
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "totp_required"
    later = clock.now() + dt.timedelta(seconds=30)  # the enrolment code's step is spent
    with clock.frozen(later):
        code = pyotp.TOTP(secret).at(later)
        ok = _token_request(client, email, PASSWORD, totp=code)
        assert ok.status_code == 201
        replay = _token_request(client, email, PASSWORD, totp=code)
        assert replay.status_code == 401, "a one-time code is accepted once"
    assert client.get("/api/me", headers=bearer(ok.get_json()["token"])).get_json()["totp_confirmed"] is True


def test_enrolled_supervisor_needs_a_code_to_sign_in(app, client):
    with app.app_context():
        email, secret = _enrolled_supervisor()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    refused = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert refused.status_code == 401
    assert client.get("/account").status_code == 302  # not signed in: sent to the login page
    later = clock.now() + dt.timedelta(seconds=30)
    with clock.frozen(later):
        ok = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD,
                                         "totp": pyotp.TOTP(secret).at(later)})
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200


# --- password reset --------------------------------------------------------------------------------

def test_reset_token_works_once(ctx):
    user = make_user("expert")
    commit()
    token = identity.reset_token(user)
    identity.reset_password(token=token, password="brand-new-password")
    commit()
    assert identity.authenticate(email=user.email, password="brand-new-password", ip="1.1.1.1") is user
    with pytest.raises(ValidationFailed) as info:
        identity.reset_password(token=token, password="yet-another-password")
    assert info.value.code == "reset_invalid"


def test_reset_token_expires_after_an_hour(ctx):
    user = make_user("expert")
    commit()
    start = now()
    with frozen(start):
        token = identity.reset_token(user)
    with frozen(start + dt.timedelta(minutes=59)):
        assert identity.reset_link_token(db.session.scalar(select(PasswordReset.id)))[1] == token
    with frozen(start + dt.timedelta(hours=1, seconds=2)), pytest.raises(ValidationFailed) as info:
        identity.reset_password(token=token, password="brand-new-password")
    assert info.value.code == "reset_expired"


def test_reset_token_is_invalid_after_the_password_changed(ctx):
    user = make_user("expert")
    commit()
    token = identity.reset_token(user)
    identity.set_password(user, "changed-meanwhile-1")
    commit()
    with pytest.raises(ValidationFailed) as info:
        identity.reset_password(token=token, password="brand-new-password")
    assert info.value.code == "reset_invalid"
    with pytest.raises(ValidationFailed) as forged:
        identity.reset_password(token=token[:-2] + "xx", password="brand-new-password")
    assert forged.value.code == "reset_invalid"


# --- audit ---------------------------------------------------------------------------------------

def test_audit_rows_for_creations_and_logins(app, client):
    with app.app_context():
        org = make_org()
        user = make_user("bidder", org=org, email="audited@test.ggzy")
        commit()
        org_id, user_id = org.id, user.id
    assert _token_request(client, "audited@test.ggzy", PASSWORD,
                          name="cli").status_code == 201
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        by_action = {r.action: r for r in rows}
        assert by_action["organisation.created"].object_id == str(org_id)
        assert by_action["user.created"].object_id == str(user_id)
        assert by_action["user.created"].detail == {"role": "bidder"}
        login = by_action["user.login"]
        assert (login.actor_id, login.actor_role, login.ip) == (user_id, "bidder", "127.0.0.1")
        assert login.request_id and login.at <= now()
        assert by_action["token.issued"].actor_id == user_id


def test_audit_rows_cannot_be_changed_or_deleted(ctx):
    make_user("expert")
    commit()
    row = db.session.scalars(select(AuditLog)).first()
    row.action = "something.else"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    row = db.session.scalars(select(AuditLog)).first()
    db.session.delete(row)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalars(select(AuditLog)).first().action == "user.created"


def test_supervisor_without_second_factor_gets_no_token(app, client):
    """DESIGN §3: supervisors, custodians and admins act only with TOTP; before enrolling, no token."""
    with app.app_context():
        user = make_user("supervisor")
        commit()
        email = user.email
    refused = _token_request(client, email, PASSWORD)
    assert refused.status_code == 403 and refused.get_json()["error"] == "totp_enrolment_required"


def test_supervisor_without_second_factor_is_sent_to_enrolment(app, client):
    with app.app_context():
        user = make_user("supervisor")
        commit()
        email = user.email
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert client.get("/account").status_code == 200, "the account page (enrolment) stays reachable"
    inbox = client.get("/inbox")
    assert inbox.status_code == 302 and inbox.headers["Location"].endswith("/account")
    assert client.get("/api/me").status_code == 403


def test_a_stranger_cannot_lock_a_bidder_out(app, client):
    """The limit counts failures per (account, address): guesses from elsewhere do not block the owner."""
    with app.app_context():
        user = make_user("bidder")
        commit()
        email = user.email
        for _ in range(app.config["GGZY_LOGIN_MAX_FAILURES"] + 1):
            with pytest.raises((Unauthorized, TooManyRequests)):
                identity.authenticate(email=email, password="wrong-password", ip="203.0.113.9")
            commit()
        with pytest.raises(TooManyRequests):
            identity.authenticate(email=email, password=PASSWORD, ip="203.0.113.9")
        assert identity.authenticate(email=email, password=PASSWORD, ip="198.51.100.7").id == user.id
