"""The archive API and pages: who may read, what they get, 4xx (never 500) on bad input."""
from __future__ import annotations

import io
import json
import tarfile

import pytest

from archive import bag, verify
from tests.archive.conftest import lot_events
from tests.factories import bearer, make_user, token_for


@pytest.fixture
def sealed(archive):
    lot_events(archive, lot_id=9, bids=2, attachment=b"%PDF-1.7 bid", store=archive.store_)
    archive.seal()
    from archive import services

    return services.search(lot_id=9, limit=100)


@pytest.fixture
def headers(ctx):
    return {role: bearer(token_for(make_user(role))) for role in ("archivist", "supervisor", "admin", "bidder")}


def test_roles(client, sealed, headers):
    rid = sealed[0].id
    for role in ("archivist", "supervisor", "admin"):
        assert client.get("/api/archive/records", headers=headers[role]).status_code == 200
        assert client.get(f"/archive/records/{rid}", headers=headers[role]).status_code == 200
    assert client.get("/api/archive/records", headers=headers["bidder"]).status_code == 403
    assert client.get(f"/api/archive/records/{rid}", headers=headers["bidder"]).status_code == 403
    assert client.get("/api/archive/records").status_code == 401
    assert client.get("/archive/").status_code in (401, 302)


def test_search_read_verify_and_bundle(client, sealed, headers):
    h = headers["archivist"]
    rows = client.get("/api/archive/records?lot_id=9&event=bidding.", headers=h).get_json()
    assert len(rows) == 2 and all(r["lot_id"] == 9 for r in rows)
    rid = rows[0]["id"]
    detail = client.get(f"/api/archive/records/{rid}", headers=h).get_json()
    assert detail["proof"]["tree_size"] == detail["checkpoint"]["body"]["size"]
    assert detail["envelope"]["sig"]["alg"] == "Ed25519"
    report = client.get(f"/api/archive/records/{rid}/verify", headers=h).get_json()
    assert report["valid"] is True and all(c["ok"] for c in report["checks"].values())
    resp = client.get("/api/archive/bundle?lot_id=9", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "application/x-tar"
    trust = verify.load_trust(client.get("/api/archive/trust", headers=h).data)
    with tarfile.open(fileobj=io.BytesIO(resp.data)) as tar:
        files = bag._strip_top({m.name: tar.extractfile(m).read() for m in tar if m.isfile()})
    code, rep = verify.verify_files(files, trust)
    assert code == 0 and rep["records"] == 4 and rep["attachments"] == 1
    assert client.get(f"/api/archive/records/{rid}/bundle", headers=h).status_code == 200
    latest = client.get("/api/archive/checkpoints/latest", headers=h).get_json()
    cons = client.get("/api/archive/proofs/consistency?first=1", headers=h).get_json()
    assert cons["second"] == latest["body"]["size"] and cons["second_root"] == latest["body"]["root"]


def test_pages(client, sealed, headers):
    h = headers["archivist"]
    page = client.get("/archive/?lot_id=9", headers=h)
    assert page.status_code == 200 and "lot:9" in page.get_data(as_text=True)
    rid = sealed[0].id
    assert "verify-button" in client.get(f"/archive/records/{rid}", headers=h).get_data(as_text=True)
    verdict = client.get(f"/archive/records/{rid}/verify", headers=h).get_data(as_text=True)
    assert 'data-testid="verdict"' in verdict and "FAILED" not in verdict
    assert client.get("/archive/?party=bogus", headers=h).status_code == 422


BAD_URLS = [
    "/api/archive/records?lot_id=0", "/api/archive/records?since=yesterday", "/api/archive/records?limit=100000",
    "/api/archive/records?party=x", "/api/archive/records/999999", "/api/archive/records/1?tree_size=99999",
    "/api/archive/proofs/consistency?first=5&second=2", "/api/archive/proofs/consistency?first=999999",
    "/api/archive/bundle", "/api/archive/bundle?chain=lot:424242", "/archive/records/999999",
]


def test_bad_input_is_4xx(client, sealed, headers):
    statuses = {url: client.get(url, headers=headers["admin"]).status_code for url in BAD_URLS}
    assert all(400 <= s < 500 for s in statuses.values()), statuses


def test_empty_log_is_4xx(client, headers, store):
    assert client.get("/api/archive/checkpoints/latest", headers=headers["admin"]).status_code == 404
    assert client.get("/api/archive/proofs/consistency?first=0", headers=headers["admin"]).status_code == 422


def test_legal_hold(client, sealed, headers, archive):
    rid = sealed[0].id
    resp = client.post(f"/api/archive/records/{rid}/legal-hold", json={"on": True, "reason": "complaint 12"},
                       headers=headers["supervisor"])
    assert resp.status_code == 200 and resp.get_json()["legal_hold"] is True
    assert archive.store_.stat(resp.get_json()["key"]).legal_hold
    assert client.post(f"/api/archive/records/{rid}/legal-hold", json={}, headers=headers["admin"]).status_code == 422
    assert client.post(f"/api/archive/records/{rid}/legal-hold", json={"on": False, "reason": "x"},
                       headers=headers["bidder"]).status_code == 403
    audit = client.get("/api/audit?object_type=archive_record", headers=headers["admin"]).get_json()
    assert audit and audit[0]["action"] == "archive.legal_hold"
    _ = json


def test_who_bid_stays_out_of_the_archive_and_the_audit_trail_until_the_deadline(client, archive, headers):
    """While a lot takes bids its archived chain is not read: left out of searches, each record
    answered exactly as an unknown id, the bundle refused (电子招标投标办法 第二十一条, 招标投标法
    第二十二条; the whole chain, since its numbered, linked records would show the gaps); audit
    entries naming a bidder are left out.  After the deadline everything is readable."""
    import datetime as dt

    from archive import services
    from core.audit import audit
    from core.clock import frozen
    from core.events import commit
    from tests.bidding.factories import make_lot

    lot = make_lot()
    lot_events(archive, lot_id=lot.id, bids=2)
    lot_events(archive, lot_id=lot.id + 1000, bids=1)  # a lot with no row here: not taking bids
    audit("bidding.bid_submitted", object_type="bid", object_id=1, lot_id=lot.id, actor=make_user("bidder"))
    audit("trading.lot_published", object_type="lot", object_id=lot.id, actor=make_user("agency"))
    commit()
    archive.seal()
    assert services.search(lot_id=lot.id, limit=100) == []
    assert services.search(lot_id=lot.id + 1000, limit=100) != []
    with frozen(lot.bid_deadline):
        hidden = [r.id for r in services.search(lot_id=lot.id, limit=100)]
    assert len(hidden) == 4
    unknown = max(hidden) + 10_000
    for role in ("archivist", "supervisor", "admin"):
        h = headers[role]
        found = client.get(f"/api/archive/records?lot_id={lot.id}", headers=h).get_json()
        assert found == []
        for suffix in ("", "/verify", "/bundle"):
            theirs = client.get(f"/api/archive/records/{hidden[0]}{suffix}", headers=h)
            missing = client.get(f"/api/archive/records/{unknown}{suffix}", headers=h)
            assert theirs.status_code == missing.status_code == 404
            assert theirs.get_json()["error"] == missing.get_json()["error"]
            assert theirs.get_json()["detail"] == missing.get_json()["detail"].replace(str(unknown), str(hidden[0]))
        refused = client.get(f"/api/archive/bundle?lot_id={lot.id}", headers=h)
        assert refused.status_code == 409 and "第二十一条" in refused.get_json()["rule"]
        if role != "archivist":  # the audit trail is the supervisors' and the centre's
            actions = [a["action"] for a in client.get("/api/audit", headers=h).get_json()]
            assert "trading.lot_published" in actions and "bidding.bid_submitted" not in actions
    with frozen(lot.bid_deadline + dt.timedelta(seconds=1)):
        h = headers["supervisor"]
        assert client.get(f"/api/archive/records/{hidden[0]}", headers=h).status_code == 200
        assert client.get(f"/api/archive/bundle?lot_id={lot.id}", headers=h).status_code == 200
        assert "bidding.bid_submitted" in [a["action"] for a in client.get("/api/audit", headers=h).get_json()]


def test_instants_beyond_what_a_database_stores_are_refused_with_a_reason(client, headers):
    """Year 1 at +01:00 is before datetime.min in UTC: a 422 naming the field, never a 500."""
    h = headers["archivist"]
    for value in ("0001-01-01T00:00:00%2B01:00", "9999-12-31T23:00:00-02:00", "1800-01-01T00:00:00"):
        for name in ("since", "until"):
            resp = client.get(f"/api/archive/records?{name}={value}", headers=h)
            assert resp.status_code == 422 and name in resp.get_data(as_text=True), (name, value)
    assert client.get("/api/archive/records?since=2026-01-01T00:00:00", headers=h).status_code == 200


@pytest.mark.parametrize("query", ["chain=lot:4711044601", "chain=lot:0", "chain=lot:", "lot_id=3000000000"])
def test_a_lot_id_past_a_database_integer_is_refused_with_a_reason(client, headers, query):
    """``lot:4711044601`` fits the ten digits a chain name allows but not a PostgreSQL integer:
    a 422 naming the field, never a database error and a 500 (found by schemathesis)."""
    h = headers["archivist"]
    for path in ("/api/archive/bundle", "/api/archive/records"):
        resp = client.get(f"{path}?{query}", headers=h)
        assert resp.status_code == 422, (path, resp.status_code)
        assert query.split("=")[0] in resp.get_data(as_text=True)
    assert client.get("/api/archive/records?chain=lot:2147483647", headers=h).status_code == 200
