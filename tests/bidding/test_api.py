"""The bidding API and pages: opening key, package check (each refusal a 422 citing Art.26), shares."""
from __future__ import annotations

import io

import pytest

from bidding import services
from bidding.package import container as c
from bidding.package import sealing
from core import keys as registry
from core.events import commit
from tests.bidding.factories import make_bidder, make_custodians, make_lot
from tests.bidding.helpers import split, write_files
from tests.factories import bearer, make_user, token_for


def _seal(tmp_path, lot_id, opening_public_b64, sign, encrypt, *, lot_override=None, name="p.bid") -> bytes:
    out = tmp_path / name
    sealing.pack(out=out, lot_id=lot_override or lot_id, opening_public=c.b64d(opening_public_b64),
                 bidder_sign=sign, bidder_encrypt_public=c.raw_public(encrypt),
                 documents=write_files(tmp_path / (name + ".in"), {"tech.txt": b"technical bid" * 1000}),
                 info={"schedule": None}, device={"mac": ["02:00:00:00:00:09"]},
                 created_at="2026-03-01T00:00:00Z", segment_size=64 * 1024)
    return out.read_bytes()


@pytest.fixture
def world(app, tmp_path):
    with app.app_context():
        lot = make_lot()
        keepers = make_custodians(lot.id)
        key = services.create_opening_key(lot_id=lot.id)
        bidder, sign, encrypt = make_bidder()
        other, other_sign, other_encrypt = make_bidder()
        bare_lot = make_lot()
        commit()
        data = {"lot": lot.id, "bare_lot": bare_lot.id, "kid": key.kid, "public": key.public_key,
                "bidder": token_for(bidder), "other": token_for(other),
                "keepers": {slot: (token_for(u), k) for slot, (u, k) in keepers.items()},
                "agency": token_for(make_user("agency"))}
        data["package"] = _seal(tmp_path, lot.id, key.public_key, sign, encrypt)
        data["sign"], data["encrypt"] = sign, encrypt
        data["bidder_org"] = bidder.organisation_id
        return data


def _check(client, lot_id, body, token):
    return client.post(f"/api/bidding/lots/{lot_id}/package-check", data=body, headers={
        **bearer(token), "Content-Type": "application/octet-stream"})


def test_opening_key_is_public(client, world):
    got = client.get(f"/api/bidding/lots/{world['lot']}/opening-key")
    assert got.status_code == 200 and got.json["kid"] == world["kid"] and got.json["public_key"] == world["public"]
    missing = client.get(f"/api/bidding/lots/{world['bare_lot']}/opening-key")
    assert missing.status_code == 409 and missing.json["error"] == "no_opening_key"
    assert client.get("/api/bidding/lots/987654/opening-key").status_code == 404


def test_valid_package_passes_the_check(client, world):
    got = _check(client, world["lot"], world["package"], world["bidder"])
    assert got.status_code == 200, got.json
    assert got.json["valid"] and got.json["opening_key_id"] == world["kid"] and got.json["files"] == 1
    assert got.json["organisation_id"] == world["bidder_org"]


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 1
    return bytes(out)


def test_each_bad_package_gets_a_precise_422(client, world, tmp_path):
    pkg = world["package"]
    manifest, ciphertext = split(pkg)
    wrong_lot = _seal(tmp_path, world["lot"], world["public"], world["sign"], world["encrypt"],
                      lot_override=world["bare_lot"], name="wl.bid")
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    stranger = c.b64e(c.raw_public(X25519PrivateKey.generate()))
    wrong_key = _seal(tmp_path, world["lot"], stranger, world["sign"], world["encrypt"], name="wk.bid")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    unregistered = _seal(tmp_path, world["lot"], world["public"], Ed25519PrivateKey.generate(),
                         world["encrypt"], name="ur.bid")
    cases = {
        "not_a_package": b"%PDF-1.7 plaintext bid",
        "unsupported_version": b"GGZYBID\x02" + pkg[8:],
        "truncated": pkg[:30],
        "bad_signature": _flip(pkg, len(pkg) - len(ciphertext) - 5),
        "ciphertext_hash_mismatch": _flip(pkg, len(pkg) - 10),
        "ciphertext_size_mismatch": pkg[:-1],
        "lot_mismatch": wrong_lot,
        "opening_key_mismatch": wrong_key,
        "bidder_key_unknown": unregistered,
    }
    for code, body in cases.items():
        got = _check(client, world["lot"], body, world["bidder"])
        assert got.status_code == 422, (code, got.json)
        assert got.json["error"] == code, (code, got.json)
        assert "第二十六条" in got.json["rule"] and got.json["detail"]
    del manifest


def test_wrapped_key_missing_is_refused(client, world):
    manifest, ciphertext = split(world["package"])
    manifest["recipients"] = [r for r in manifest["recipients"] if r["role"] != "bidder"]
    body = c.canonical(manifest)
    out = io.BytesIO()
    c.write_header(out, body, c.sign_manifest(body, world["sign"]))
    got = _check(client, world["lot"], out.getvalue() + ciphertext, world["bidder"])
    assert got.status_code == 422 and got.json["error"] == "wrapped_key_missing"


def test_signer_must_be_valid_and_of_the_callers_organisation(app, client, world):
    got = _check(client, world["lot"], world["package"], world["other"])
    assert got.status_code == 422 and got.json["error"] == "signer_not_your_organisation"
    with app.app_context():
        manifest, _ = split(world["package"])
        registry.revoke_key(key=registry.get_key(manifest["bidder_key_id"]), reason="lost token")
        commit()
    got = _check(client, world["lot"], world["package"], world["bidder"])
    assert got.status_code == 422 and got.json["error"] == "bidder_key_not_valid"


def test_lot_without_key_and_unknown_lot(client, world):
    assert _check(client, world["bare_lot"], world["package"], world["bidder"]).status_code == 409
    assert _check(client, 987654, world["package"], world["bidder"]).status_code == 404


def test_wrong_roles_are_refused(client, world):
    assert _check(client, world["lot"], world["package"], world["agency"]).status_code == 403
    anon = client.post(f"/api/bidding/lots/{world['lot']}/package-check", data=world["package"])
    assert anon.status_code == 401
    create = client.post(f"/api/bidding/lots/{world['lot']}/opening-key", headers=bearer(world["agency"]))
    assert create.status_code == 403
    host = world["keepers"]["opening_host"][0]
    assert client.post(f"/api/bidding/lots/{world['lot']}/opening-key", headers=bearer(host)).status_code == 201
    assert client.post(f"/api/bidding/lots/{world['bare_lot']}/opening-key",
                       headers=bearer(host)).status_code == 403


def test_custodians_see_and_download_only_their_own_shares(client, world):
    from bidding.package import custody

    seen = {}
    for slot, (token, key) in world["keepers"].items():
        got = client.get("/api/bidding/shares", headers=bearer(token))
        assert got.status_code == 200 and len(got.json) == 1 and got.json[0]["slot"] == slot
        seen[slot] = got.json[0]
        assert custody.decrypt_share(got.json[0], key).x == got.json[0]["x"]
        page = client.get("/bidding/custody", headers=bearer(token))
        assert page.status_code == 200 and world["kid"] in page.get_data(as_text=True)
    host_token = world["keepers"]["opening_host"][0]
    sup_share = seen["supervisor"]["id"]
    assert client.get(f"/api/bidding/shares/{sup_share}", headers=bearer(host_token)).status_code == 403
    assert client.get(f"/bidding/custody/shares/{sup_share}.json", headers=bearer(host_token)).status_code == 403
    own = client.get(f"/bidding/custody/shares/{seen['opening_host']['id']}.json", headers=bearer(host_token))
    assert own.status_code == 200 and own.json["ciphertext"] == seen["opening_host"]["ciphertext"]
    assert client.get("/api/bidding/shares", headers=bearer(world["bidder"])).json == []
    assert client.get("/api/bidding/shares?lot_id=0", headers=bearer(world["bidder"])).status_code == 422
    assert client.get("/api/bidding/shares").status_code == 401
