"""The foundation's API: token lifecycle, bearer and session authentication, CSRF on browser writes,
/api/me and the audit listing."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core import identity, second_factor
from core.clock import frozen, now
from core.db import db
from core.events import commit
from core.models import ApiToken, AuditLog, User
from tests.factories import PASSWORD, bearer, make_user, token_for


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _user(app, role="bidder", email=None) -> dict:
    with app.app_context():
        user = make_user(role, email=email)
        commit()
        return {"id": user.id, "email": user.email, "org": user.organisation_id}


def _csrf(resp) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True))[1]


def _sign_in(client, email) -> str:
    """Sign in through the login page; returns the session's CSRF token."""
    token = _csrf(client.get("/login"))
    resp = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return token


# --- token lifecycle ---------------------------------------------------------------------------

def test_issue_use_and_revoke_a_token(app, client):
    user = _user(app, email="tok@test.ggzy")
    resp = client.post("/api/auth/tokens", json={"email": user["email"], "password": PASSWORD, "name": "bidder tool"})
    assert resp.status_code == 201
    issued = resp.get_json()
    clear = issued["token"]
    assert clear.startswith(identity.TOKEN_PREFIX) and issued["prefix"] == clear[:12]
    assert issued["name"] == "bidder tool" and issued["revoked_at"] is None

    me = client.get("/api/me", headers=bearer(clear))
    assert me.status_code == 200
    assert (me.get_json()["id"], me.get_json()["organisation"]["id"]) == (user["id"], user["org"])
    listed = client.get("/api/tokens", headers=bearer(clear)).get_json()
    assert [t["id"] for t in listed] == [issued["id"]]
    assert "token" not in listed[0]

    revoked = client.post(f"/api/tokens/{issued['id']}/revoke", headers=bearer(clear))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    after = client.get("/api/me", headers=bearer(clear))
    assert after.status_code == 401 and after.get_json()["error"] == "authentication_required"


def test_token_value_is_never_stored(app, client):
    user = _user(app)
    clear = client.post("/api/auth/tokens", json={"email": user["email"], "password": PASSWORD}).get_json()["token"]
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        assert row.token_sha256 == hashlib.sha256(clear.encode()).hexdigest()
        stored = [getattr(row, c.key) for c in ApiToken.__table__.columns]
        assert not any(isinstance(v, str) and clear in v for v in stored)


def test_unknown_and_malformed_tokens_are_401(app, client):
    _user(app)
    for header in ("Bearer ggzy_not-a-token", "Bearer ", "Bearer " + "x" * 500):
        resp = client.get("/api/me", headers={"Authorization": header})
        assert resp.status_code == 401, header


def test_expired_token_is_refused(app, client):
    start = now()
    with app.app_context(), frozen(start):
        row, clear = identity.issue_token(user=make_user("expert"), name="short", days=1)
        commit()
    with frozen(start + dt.timedelta(hours=23)):
        assert client.get("/api/me", headers=bearer(clear)).status_code == 200
    with frozen(start + dt.timedelta(days=1, seconds=1)):
        assert client.get("/api/me", headers=bearer(clear)).status_code == 401


def _last_used(app, clear: str):
    with app.app_context():
        return db.session.scalar(select(ApiToken.last_used_at).where(
            ApiToken.token_sha256 == hashlib.sha256(clear.encode()).hexdigest()))


def test_a_token_use_is_written_at_most_every_five_minutes(app, client):
    start = now().replace(microsecond=0)
    with app.app_context(), frozen(start):
        clear = token_for(make_user("expert"))
    assert _last_used(app, clear) is None
    for minutes, written in ((1, 1), (3, 1), (1 + 5, 1), (7, 7)):
        with frozen(start + dt.timedelta(minutes=minutes)):
            assert client.get("/api/me", headers=bearer(clear)).status_code == 200
        assert _last_used(app, clear) == start + dt.timedelta(minutes=written), minutes


def test_a_write_carries_its_token_use_in_its_own_single_commit(app, client):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    with app.app_context():
        user = make_user("expert")
        clear, (other, _) = token_for(user), identity.issue_token(user=user, name="second")
        commit()
        other_id = other.id
    commits = []
    listener = lambda session: commits.append(session) if session is db.session() else None  # noqa: E731
    event.listen(Session, "after_commit", listener)
    try:
        resp = client.post(f"/api/tokens/{other_id}/revoke", headers=bearer(clear))
    finally:
        event.remove(Session, "after_commit", listener)
    assert resp.status_code == 200 and resp.get_json()["revoked_at"]
    assert len(commits) == 1  # the revocation and the token's use together, not one commit each
    assert _last_used(app, clear) is not None


def test_the_use_of_a_token_after_a_request_that_commits_nothing_writes_only_the_token(app):
    with app.app_context():
        clear = token_for(make_user("expert"))
    with app.test_request_context("/api/me"):
        assert identity.user_for_token(clear) is not None
        db.session.add(AuditLog(action="test.never_committed", object_type="test", object_id="1"))
        db.session.flush()  # a request that wrote, then was refused, and never committed
        identity.record_token_use()
    assert _last_used(app, clear) is not None
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "test.never_committed")) is None


def test_resolving_a_token_leaves_nothing_to_flush(app):
    """The use is noted with set_committed_value: an attribute set would be flushed by the request's
    first query and hold the token row's lock (SQLite: the database's) until the request ends."""
    from sqlalchemy import event

    with app.app_context():
        clear = token_for(make_user("expert"))
    with app.test_request_context("/api/me"):
        user = identity.user_for_token(clear)
        assert not db.session.dirty and db.session.info.get("ggzy_token_use")  # pending, not flushable
        statements = []
        engine = db.session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            db.session.scalar(select(User).where(User.id == user.id))  # autoflush runs here
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert statements and not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
        db.session.rollback()
    assert _last_used(app, clear) is None  # resolving alone writes nothing


def test_a_released_savepoint_does_not_take_the_token_use_with_it(app):
    with app.app_context():
        clear = token_for(make_user("expert"))
    with app.test_request_context("/api/me"):
        assert identity.user_for_token(clear) is not None
        db.session.add(AuditLog(action="test.outer", object_type="test", object_id="1"))
        db.session.flush()  # the outer transaction has begun writing (pysqlite's BEGIN comes with a write)
        with db.session.begin_nested():  # released: fires before_commit, but the outer work may still fail
            db.session.add(AuditLog(action="test.savepoint", object_type="test", object_id="1"))
        db.session.rollback()
        identity.record_token_use()
    assert _last_used(app, clear) is not None
    with app.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action.in_(("test.outer", "test.savepoint")))).all() == []


def test_a_refused_write_records_the_token_use_and_nothing_of_the_write(app):
    from core.app import create_app
    from core.errors import ValidationFailed
    from core.extensions import csrf
    from tests.conftest import app_config

    own = create_app(app_config())

    @own.post("/api/test-refused-after-flush")
    def refused_after_flush():
        db.session.add(AuditLog(action="test.refused", object_type="test", object_id="1"))
        db.session.flush()
        raise ValidationFailed("refused after a flush")

    csrf.exempt(refused_after_flush)  # a bearer-token API route, as the API blueprints are
    with own.app_context():
        clear = token_for(make_user("expert"))
    resp = own.test_client().post("/api/test-refused-after-flush", headers=bearer(clear))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert _last_used(app, clear) is not None
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "test.refused")) is None


def test_a_token_use_the_database_refuses_does_not_change_the_response(app, client, monkeypatch, caplog):
    from sqlalchemy import text

    with app.app_context():
        clear = token_for(make_user("expert"))
    monkeypatch.setattr(identity, "_token_use_statement", lambda pending: text("UPDATE no_such_table SET x = 1"))
    resp = client.get("/api/me", headers=bearer(clear))
    assert resp.status_code == 200 and resp.get_json()["role"] == "expert"
    assert "its use could not be recorded" in caplog.text
    assert _last_used(app, clear) is None


def test_token_of_an_inactive_user_is_refused(app, client):
    with app.app_context():
        user = make_user("expert")
        clear = token_for(user)
        user.active = False
        commit()
    assert client.get("/api/me", headers=bearer(clear)).status_code == 401


def test_another_users_token_cannot_be_revoked(app, client):
    with app.app_context():
        alice, bob = make_user("bidder"), make_user("bidder")
        org_mate = make_user("bidder", org=alice.organisation)
        alice_token, bob_token, mate_token = token_for(alice), token_for(bob), token_for(org_mate)
        alice_row = db.session.scalars(select(ApiToken).where(ApiToken.user_id == alice.id)).one()
        alice_id = alice_row.id
    for other in (bob_token, mate_token):  # not even a colleague of the same organisation
        resp = client.post(f"/api/tokens/{alice_id}/revoke", headers=bearer(other))
        assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden"
    assert client.get("/api/me", headers=bearer(alice_token)).status_code == 200
    assert client.get("/api/tokens", headers=bearer(bob_token)).get_json() != []
    assert alice_id not in [t["id"] for t in client.get("/api/tokens", headers=bearer(bob_token)).get_json()]
    assert client.post("/api/tokens/999999/revoke", headers=bearer(bob_token)).status_code == 404


def test_token_request_validates_its_body(app, client):
    resp = client.post("/api/auth/tokens", json={"email": "not-an-address", "password": "x"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "validation_failed"
    assert "email" in resp.get_json()["errors"]["json"]


# --- CSRF ----------------------------------------------------------------------------------------

def test_page_post_without_csrf_token_is_403(app, client):
    user = _user(app)
    resp = client.post("/login", data={"email": user["email"], "password": PASSWORD},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 403 and resp.get_json()["error"] == "csrf_failed"
    html = client.post("/login", data={"email": user["email"], "password": PASSWORD, "csrf_token": "forged"})
    assert html.status_code == 403 and "csrf_failed" in html.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # and nobody got signed in: sent to the login page
    assert "/login" in client.get("/account").headers["Location"]


def test_api_write_from_a_browser_session_needs_the_csrf_header(app, client):
    user = _user(app)
    csrf = _sign_in(client, user["email"])
    assert client.get("/api/me").get_json()["id"] == user["id"]  # reads need no header
    with app.app_context():
        row, _clear = identity.issue_token(user=db.session.get(User, user["id"]), name="spare")
        commit()
        token_id = row.id
    refused = client.post(f"/api/tokens/{token_id}/revoke")
    assert refused.status_code == 403 and refused.get_json()["error"] == "csrf_failed"
    wrong = client.post(f"/api/tokens/{token_id}/revoke", headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 403
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
    ok = client.post(f"/api/tokens/{token_id}/revoke", headers={"X-CSRFToken": csrf})
    assert ok.status_code == 200 and ok.get_json()["revoked_at"]


def test_bearer_writes_need_no_csrf(app, client):
    with app.app_context():
        user = make_user("expert")
        clear = token_for(user)
        extra, _ = identity.issue_token(user=user, name="spare")
        commit()
        extra_id = extra.id
    resp = client.post(f"/api/tokens/{extra_id}/revoke", headers=bearer(clear))
    assert resp.status_code == 200


def test_anonymous_api_write_is_401_not_csrf(client):
    resp = client.post("/api/tokens/1/revoke")
    assert (resp.status_code, resp.get_json()["error"]) == (401, "authentication_required")


# --- /api/me, audit ------------------------------------------------------------------------------

def test_me_shows_grants_and_no_secrets(app, client):
    from tests.bidding.factories import make_lot

    with app.app_context():
        user, lot_id = make_user("agency"), make_lot().id
        identity.grant(user=user, grant_name="opening_host", scope_id=lot_id)
        identity.grant(user=user, grant_name="opening_host", scope_id=lot_id)  # idempotent
        second_factor.start_totp(user)
        clear = token_for(user)
    body = client.get("/api/me", headers=bearer(clear)).get_json()
    assert [(g["grant"], g["scope_id"]) for g in body["grants"]] == [("opening_host", lot_id)]
    assert not {"password_hash", "totp_secret"} & set(body)
    assert body["totp_confirmed"] is False


def test_audit_listing_is_for_supervisors_and_admins(app, client):
    with app.app_context():
        bidder, sup = make_user("bidder"), make_user("supervisor")
        b_token, s_token = token_for(bidder), token_for(sup)
        bidder_id = bidder.id
    assert client.get("/api/audit", headers=bearer(b_token)).status_code == 403
    rows = client.get(f"/api/audit?object_type=user&object_id={bidder_id}", headers=bearer(s_token)).get_json()
    assert [r["action"] for r in rows] == ["user.created"]
    with app.app_context():
        total = db.session.scalar(select(db.func.count()).select_from(AuditLog))
    assert len(client.get("/api/audit?limit=2", headers=bearer(s_token)).get_json()) == min(2, total)


def test_nul_characters_are_refused_before_they_reach_the_database(app, client):
    """PostgreSQL cannot store U+0000 in text: every such request is a 422, never a 500."""
    with app.app_context():
        admin = make_user("admin")
        headers = bearer(token_for(admin))
        users_before = db.session.scalar(select(db.func.count(User.id)))
    resp = client.post("/api/users", headers=headers, json={"email": "nul@test.ggzy", "name": "a\u0000b",
                                                            "role": "bidder", "password": "x" * 16})
    assert resp.status_code == 422 and resp.get_json()["error"] == "nul_character"
    assert client.get("/api/trading/notices?q=%00", headers=headers).status_code == 422
    form = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get("/login").get_data(as_text=True))[1]
    assert form.post("/login", data={"csrf_token": token, "email": "a\u0000@x", "password": "p"}).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == users_before  # nothing half-written


def test_the_audit_trail_leaves_out_who_bid_and_still_fills_its_page(app, client):
    """An entry a bidder's act wrote on a lot still taking bids is left out (电子招标投标办法 第二十一条),
    whatever its name; the page is filled from older entries, not returned short."""
    from core.audit import audit
    from tests.bidding.factories import make_lot

    with app.app_context():
        token = token_for(make_user("supervisor"))
        lot, agency, bidder = make_lot(), make_user("agency"), make_user("bidder")
        audit("trading.lot_published", object_type="lot", object_id=lot.id, actor=agency)
        for n in range(3):
            audit("bidding.bid_submitted", object_type="bid", object_id=n, lot_id=lot.id, actor=bidder)
        audit("bidding.a_name_no_list_knows", object_type="lot", object_id=lot.id, bids=[1, 2])  # the platform
        lot_id, deadline = lot.id, lot.bid_deadline
        commit()
    got = client.get("/api/audit?limit=1", headers=bearer(token)).get_json()
    assert [row["action"] for row in got] == ["trading.lot_published"]
    trail = client.get(f"/api/audit?object_type=lot&object_id={lot_id}", headers=bearer(token)).get_json()
    assert [row["action"] for row in trail] == ["trading.lot_published"]
    with frozen(deadline):
        after = client.get(f"/api/audit?object_type=lot&object_id={lot_id}", headers=bearer(token)).get_json()
    assert len(after) == 5  # every entry concerning the lot, by its lot and not only by its object


def test_a_grant_must_fit_the_account_and_name_an_existing_lot(app, client):
    """Issue 18 item 4: an admin giving a bidder (or the lot's agency) the draw_operator duty would let
    it read the committee's names and phones (招标投标法 第三十七条): refused with the rule, as is a duty
    on a lot that does not exist; nothing is written."""
    from core.models import Grant
    from tests.bidding.factories import make_lot

    with app.app_context():
        admin, bidder, agency, centre = (make_user(r) for r in ("admin", "bidder", "agency", "admin"))
        lot_id, token = make_lot().id, token_for(admin)
        ids = {"bidder": bidder.id, "agency": agency.id, "centre": centre.id}
        commit()
    h = bearer(token)
    for who in ("bidder", "agency"):
        refused = client.post(f"/api/users/{ids[who]}/grants", headers=h, json={"grant": "draw_operator", "scope_id": lot_id})
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["error"] == "grant_role_mismatch" and "第三十七条" in refused.get_json()["rule"]
    missing = client.post(f"/api/users/{ids['centre']}/grants", headers=h, json={"grant": "draw_operator",
                                                                                   "scope_id": 2**31 - 1})
    assert missing.status_code == 422 and missing.get_json()["error"] == "unknown_scope"
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Grant.id))) == 0  # nothing half-written
    assert client.post(f"/api/users/{ids['centre']}/grants", headers=h,
                       json={"grant": "draw_operator", "scope_id": lot_id}).status_code in (200, 201)
