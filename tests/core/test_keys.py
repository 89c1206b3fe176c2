"""Key registry (proof of possession, challenges, revocation, access) and the platform's own keys."""
from __future__ import annotations

import base64
import datetime as dt
import stat

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from core import crypto, identity, keys
from core.clock import frozen, now
from core.db import db
from core.models import AuditLog
from tests.factories import bearer, make_user, token_for


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def actors(app):
    """Bidders of two organisations and a supervisor, with tokens."""
    with app.app_context():
        a, b, sup = make_user("bidder"), make_user("bidder"), make_user("supervisor")
        out = {name: {"id": u.id, "org": u.organisation_id, "token": token_for(u)}
               for name, u in (("a", a), ("b", b), ("sup", sup))}
    return out


def _challenge(client, actor) -> dict:
    resp = client.get("/api/keys/challenge", headers=bearer(actor["token"]))
    assert resp.status_code == 200
    return resp.get_json()


def _body(private, kind, challenge, ref, *, platform_key_b64=None, message_owner=None, **extra) -> dict:
    """A registration request whose proof covers owner ``ref`` (or ``message_owner``, to lie)."""
    pub = crypto.b64e(crypto.raw_public(private))
    message = crypto.pop_message(challenge=challenge, kind=kind, public_key_b64=pub, owner=message_owner or ref)
    platform = crypto.load_public("x25519", crypto.b64d(platform_key_b64)) if platform_key_b64 else None
    return {"kind": kind, "public_key": pub, "challenge": challenge,
            "proof": crypto.make_proof(private, message, platform), **extra}


def _register(client, actor, kind="sign", private=None, owner_kind="organisation", **kw):
    private = private or crypto.generate(kind)
    ch = _challenge(client, actor)
    ref = f"organisation:{actor['org']}" if owner_kind == "organisation" else f"user:{actor['id']}"
    body = _body(private, kind, ch["challenge"], ref, platform_key_b64=ch["platform_encryption_key"],
                 owner=owner_kind, **kw)
    return client.post("/api/keys", json=body, headers=bearer(actor["token"]))


# --- registration --------------------------------------------------------------------------------

def test_register_sign_and_encrypt_keys(app, client, actors):
    a = actors["a"]
    signer, sealer = crypto.generate("sign"), crypto.generate("encrypt")
    r1 = _register(client, a, "sign", signer)
    r2 = _register(client, a, "encrypt", sealer)
    assert (r1.status_code, r2.status_code) == (201, 201), (r1.get_json(), r2.get_json())
    k1, k2 = r1.get_json(), r2.get_json()
    assert k1["kid"] == crypto.key_id("ed25519", crypto.raw_public(signer)) and k1["algorithm"] == "ed25519"
    assert k2["kid"] == crypto.key_id("x25519", crypto.raw_public(sealer)) and k2["algorithm"] == "x25519"
    assert k1["organisation_id"] == a["org"] and k1["user_id"] is None
    with app.app_context():
        assert {k.kid for k in keys.valid_keys(organisation_id=a["org"])} == {k1["kid"], k2["kid"]}
        assert [k.kid for k in keys.valid_keys(organisation_id=a["org"], kind="encrypt")] == [k2["kid"]]
        row = keys.get_key(k1["kid"])
        assert row.registered_by == a["id"]
        assert row.valid_until - row.valid_from == dt.timedelta(days=730)
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "public_key")).all()
        assert actions == ["key.registered", "key.registered"]
    listed = client.get("/api/keys", headers=bearer(a["token"])).get_json()
    assert {k["kid"] for k in listed} == {k1["kid"], k2["kid"]}


def test_supervisor_registers_personal_keys(client, actors):
    resp = _register(client, actors["sup"], "encrypt", owner_kind="user", valid_days=30)
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["user_id"], resp.get_json()["organisation_id"]) == (actors["sup"]["id"], None)
    no_org = _register(client, actors["sup"], "sign", owner_kind="organisation")
    assert no_org.status_code == 422 and no_org.get_json()["error"] == "invalid_key_owner"


def _refusal(resp, status, error):
    body = resp.get_json()
    assert (resp.status_code, body["error"]) == (status, error), body
    return body


def test_wrong_proof_is_refused(client, actors):
    a = actors["a"]
    for kind in ("sign", "encrypt"):
        ch = _challenge(client, a)
        body = _body(crypto.generate(kind), kind, ch["challenge"], f"organisation:{a['org']}",
                     platform_key_b64=ch["platform_encryption_key"])
        body["proof"] = _body(crypto.generate(kind), kind, ch["challenge"], f"organisation:{a['org']}",
                              platform_key_b64=ch["platform_encryption_key"])["proof"]  # another key's proof
        assert "电子签名法" in _refusal(client.post("/api/keys", json=body, headers=bearer(a["token"])),
                                      422, "bad_proof_of_possession")["rule"]


def test_encrypt_proof_must_use_the_platform_key(client, actors):
    a = actors["a"]
    ch = _challenge(client, a)
    stranger = crypto.b64e(crypto.raw_public(X25519PrivateKey.generate()))
    body = _body(crypto.generate("encrypt"), "encrypt", ch["challenge"], f"organisation:{a['org']}",
                 platform_key_b64=stranger)
    _refusal(client.post("/api/keys", json=body, headers=bearer(a["token"])), 422, "bad_proof_of_possession")


def test_proof_for_another_owner_is_refused(client, actors):
    a, b = actors["a"], actors["b"]
    ch = _challenge(client, a)
    body = _body(crypto.generate("sign"), "sign", ch["challenge"], "", message_owner=f"organisation:{b['org']}")
    _refusal(client.post("/api/keys", json=body, headers=bearer(a["token"])), 422, "bad_proof_of_possession")
    body = _body(crypto.generate("sign"), "sign", ch["challenge"], "", message_owner=f"user:{a['id']}")
    _refusal(client.post("/api/keys", json=body, headers=bearer(a["token"])), 422, "bad_proof_of_possession")


def test_challenge_of_another_user_is_refused(client, actors):
    a, b = actors["a"], actors["b"]
    ch_b = _challenge(client, b)["challenge"]
    body = _body(crypto.generate("sign"), "sign", ch_b, f"organisation:{a['org']}")
    _refusal(client.post("/api/keys", json=body, headers=bearer(a["token"])), 422, "invalid_challenge")
    forged = _body(crypto.generate("sign"), "sign", ch_b[:-3] + "AAA", f"organisation:{b['org']}")
    _refusal(client.post("/api/keys", json=forged, headers=bearer(b["token"])), 422, "invalid_challenge")


def test_expired_challenge_is_refused(client, actors):
    a = actors["a"]
    start = now()
    with frozen(start):
        ch = _challenge(client, a)["challenge"]
    key = crypto.generate("sign")
    with frozen(start + dt.timedelta(minutes=9, seconds=50)):
        ok = client.post("/api/keys", json=_body(key, "sign", ch, f"organisation:{a['org']}"),
                         headers=bearer(a["token"]))
        assert ok.status_code == 201
    with frozen(start + dt.timedelta(minutes=10, seconds=2)):
        late = client.post("/api/keys", json=_body(crypto.generate("sign"), "sign", ch, f"organisation:{a['org']}"),
                           headers=bearer(a["token"]))
    _refusal(late, 422, "invalid_challenge")


def test_duplicate_key_is_409(client, actors):
    key = crypto.generate("sign")
    assert _register(client, actors["a"], "sign", key).status_code == 201
    _refusal(_register(client, actors["a"], "sign", key), 409, "duplicate_key")
    # nor under another owner: one key, one holder
    _refusal(_register(client, actors["sup"], "sign", key, owner_kind="user"), 409, "duplicate_key")


@pytest.mark.parametrize("public_key", [
    "!" * 44,                                        # not base64
    base64.b64encode(b"\x01" * 31).decode() + "==",  # padding in the wrong place
    base64.b64encode(b"\x01" * 31).decode(),         # 31 bytes
    base64.b64encode(b"\x01" * 33).decode(),         # 33 bytes
    base64.b64encode(b"\x01" * 40).decode(),         # 40 bytes
])
def test_malformed_public_key_is_refused(client, actors, public_key):
    a = actors["a"]
    ch = _challenge(client, a)["challenge"]
    body = {"kind": "sign", "public_key": public_key, "challenge": ch, "proof": crypto.b64e(b"\x00" * 64)}
    _refusal(client.post("/api/keys", json=body, headers=bearer(a["token"])), 422, "invalid_public_key")


def test_unknown_kind_and_garbage_proof_are_4xx(client, actors):
    a = actors["a"]
    ch = _challenge(client, a)["challenge"]
    body = _body(crypto.generate("sign"), "sign", ch, f"organisation:{a['org']}")
    assert client.post("/api/keys", json={**body, "kind": "both"}, headers=bearer(a["token"])).status_code == 422
    _refusal(client.post("/api/keys", json={**body, "proof": "%%%"}, headers=bearer(a["token"])),
             422, "bad_proof_of_possession")


# --- revocation and access -------------------------------------------------------------------------

def test_revocation_is_from_now_on(app, client, actors):
    a = actors["a"]
    kid_id = _register(client, a, "sign").get_json()["id"]
    moment = now() + dt.timedelta(minutes=5)
    with frozen(moment):
        resp = client.post(f"/api/keys/{kid_id}/revoke", json={"reason": "私钥遗失"}, headers=bearer(a["token"]))
    assert resp.status_code == 200 and resp.get_json()["revocation_reason"] == "私钥遗失"
    with app.app_context():
        key = db.session.get(keys.PublicKey, kid_id)
        assert key.revoked_at == moment
        assert key.is_valid_at(moment - dt.timedelta(microseconds=1))
        assert not key.is_valid_at(moment)
        assert not key.is_valid_at(moment + dt.timedelta(days=1))
        assert not key.is_valid_at(key.valid_from - dt.timedelta(microseconds=1))
        assert [k.id for k in keys.valid_keys(organisation_id=a["org"])] == [kid_id]  # still before
        with frozen(moment):
            assert keys.valid_keys(organisation_id=a["org"]) == []
    again = client.post(f"/api/keys/{kid_id}/revoke", json={"reason": "again"}, headers=bearer(a["token"]))
    _refusal(again, 409, "key_already_revoked")


def test_other_organisations_keys_are_out_of_reach(client, actors):
    a, b, sup = actors["a"], actors["b"], actors["sup"]
    b_key = _register(client, b, "sign").get_json()
    listing = client.get(f"/api/keys?organisation_id={b['org']}", headers=bearer(a["token"]))
    assert listing.status_code == 403
    revoke = client.post(f"/api/keys/{b_key['id']}/revoke", json={"reason": "not mine"}, headers=bearer(a["token"]))
    assert revoke.status_code == 403
    assert client.get(f"/api/keys?organisation_id={b['org']}",
                      headers=bearer(b["token"])).get_json()[0]["revoked_at"] is None
    seen = client.get(f"/api/keys?organisation_id={b['org']}", headers=bearer(sup["token"]))
    assert seen.status_code == 200 and [k["kid"] for k in seen.get_json()] == [b_key["kid"]]
    assert client.get("/api/keys/challenge").status_code == 401


# --- platform keys ---------------------------------------------------------------------------------

def test_platform_keys_sign_verify_rotate(tmp_path):
    pk = keys.PlatformKeys(tmp_path / "keys")
    first = pk.init()
    assert pk.init() == first  # idempotent
    kid1, sig1 = pk.sign(b"receipt 1")
    assert kid1 == first["current"] and pk.verify(kid1, b"receipt 1", sig1)
    assert not pk.verify(kid1, b"receipt 2", sig1)
    assert not pk.verify("ed25519:0000000000000000", b"receipt 1", sig1)
    assert not pk.verify(kid1, b"receipt 1", "not base64!")
    rotated = pk.rotate()
    kid2, sig2 = pk.sign(b"receipt 2")
    assert kid2 == rotated["current"] != kid1
    assert pk.verify(kid1, b"receipt 1", sig1) and pk.verify(kid2, b"receipt 2", sig2)
    assert not pk.verify(kid2, b"receipt 1", sig1)
    old = next(e for e in rotated["signing"] if e["kid"] == kid1)
    assert "retired_at" in old and "retired_at" not in rotated["signing"][-1]
    assert rotated["encryption"] == first["encryption"]
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    pems = sorted((tmp_path / "keys").glob("*.pem"))
    assert len(pems) == 3
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in pems)
    manifest_text = (tmp_path / "keys" / "platform-keys.json").read_text()
    assert "PRIVATE" not in manifest_text


def test_platform_encryption_key_pair_matches(tmp_path):
    pk = keys.PlatformKeys(tmp_path)
    pk.init()
    assert crypto.raw_public(pk.encryption_private()) == crypto.raw_public(pk.encryption_public())
    with pytest.raises(FileNotFoundError, match="keys init"):
        keys.PlatformKeys(tmp_path / "none").manifest()


def test_platform_keys_endpoint_is_public(app, client):
    resp = client.get("/api/keys/platform")
    assert resp.status_code == 200
    body = resp.get_json()
    with app.app_context():
        assert body == keys.platform_keys().manifest()
    assert body["current"] in {e["kid"] for e in body["signing"]}
    assert len(crypto.b64d(body["encryption"]["public_key"])) == 32
    assert "PRIVATE" not in resp.get_data(as_text=True)
