"""Submission in one request (``POST /lots/{id}/bids``) and the one-chunk upload adopted by the store:
the same checks, deadline, write-once store and receipt as the resumable upload."""
from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from sqlalchemy import func, select

from bidding.models import Bid
from bidding.package import receipts
from bidding.tool.client import Client
from core.clock import frozen, now
from core.db import db
from core.events import commit
from core.keys import platform_keys
from core.storage import get_storage
from tests.bidding.submitting import new_bidder, open_lot, package, sha, submit

pytestmark = pytest.mark.usefixtures("fresh_store")


def _send(client, bidder, lot_id: int, data: bytes, *, digest: str | None = None):
    return client.post(f"/api/bidding/lots/{lot_id}/bids", data=data,
                       headers={**bidder.headers, "Content-Type": "application/octet-stream",
                                "X-Package-SHA256": digest if digest is not None else sha(data)})


def _bids(lot_id: int) -> int:
    return db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot_id))


def _leftovers() -> list[str]:
    return sorted(os.listdir(get_storage().root / "tmp"))


def test_one_request_stores_and_receipts_and_a_retry_gets_the_same_receipt(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=200_000)
    first = _send(client, bidder, lot.id, data)
    assert first.status_code == 201, first.get_json()
    receipt = first.get_json()["receipt"]
    receipts.verify(receipt, client.get("/api/keys/platform").get_json())
    assert (receipt["package_sha256"], receipt["size"]) == (sha(data), len(data))
    row = db.session.get(Bid, first.get_json()["id"])
    store = get_storage()
    assert store.get_bytes(row.package_key) == data and store.verify(row.package_key)
    assert row.ip == "127.0.0.1" and row.device["mac"] and row.ciphertext_sha256
    again = _send(client, bidder, lot.id, data)  # the answer was lost: send again
    assert again.status_code == 200 and again.get_json()["receipt"] == receipt
    assert _bids(lot.id) == 1 and _leftovers() == []


def test_one_request_refusals_leave_nothing(app, client, ctx, tmp_path):
    lot, bidder, other = open_lot(), new_bidder(), new_bidder()
    data = package(tmp_path, lot, bidder)
    resp = _send(client, bidder, lot.id, data, digest="a" * 64)
    assert resp.status_code == 422 and resp.get_json()["error"] == "package_hash_mismatch"
    resp = _send(client, bidder, lot.id, data, digest="")
    assert resp.status_code == 422 and resp.get_json()["error"] == "package_hash_required"
    plain = b"%PDF-1.7 not sealed" * 10
    resp = _send(client, bidder, lot.id, plain)
    assert resp.status_code == 422 and resp.get_json()["error"] == "not_a_package"
    resp = _send(client, other, lot.id, data)  # signed by another organisation's key
    assert resp.status_code == 422 and resp.get_json()["error"] == "signer_not_your_organisation"
    resp = _send(client, bidder, lot.id, data[:-1])
    assert resp.status_code == 422 and resp.get_json()["error"] == "ciphertext_size_mismatch"
    resp = _send(client, bidder, lot.id, data + b"x")
    assert resp.status_code == 422 and resp.get_json()["error"] == "ciphertext_size_mismatch"
    app.config["GGZY_UPLOAD_CHUNK_MAX"] = len(data) - 1
    try:
        resp = _send(client, bidder, lot.id, data)
        assert resp.status_code == 413  # over chunk_max: an upload is needed
    finally:
        app.config.pop("GGZY_UPLOAD_CHUNK_MAX")
    assert _bids(lot.id) == 0 and list(get_storage().list(f"bidding/packages/{lot.id}/")) == []
    assert _leftovers() == []


def test_one_request_deadline_is_the_server_clock(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    deadline = now() + dt.timedelta(minutes=5)
    lot.bid_deadline = deadline
    commit()
    with frozen(deadline + dt.timedelta(milliseconds=1)):
        resp = _send(client, bidder, lot.id, data)
        assert resp.status_code == 409 and resp.get_json()["error"] == "deadline_passed"
        assert "第二十七条" in resp.get_json()["rule"]
    assert _bids(lot.id) == 0 and list(get_storage().list(f"bidding/packages/{lot.id}/")) == []
    with frozen(deadline - dt.timedelta(milliseconds=1)):
        assert _send(client, bidder, lot.id, data).status_code == 201


def test_one_chunk_upload_is_adopted_by_the_store(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=50_000)
    resp = submit(client, bidder, lot.id, data, chunk=len(data))
    assert resp.status_code == 201, resp.get_json()
    row = db.session.get(Bid, resp.get_json()["id"])
    store = get_storage()
    assert store.get_bytes(row.package_key) == data and store.verify(row.package_key)
    info = store.stat(row.package_key)
    data_file = store.root / "objects" / f"{row.package_key}~v" / f"{info.version_id}.data"
    assert not stat.S_IMODE(data_file.stat().st_mode) & 0o222  # read-only, like a put
    assert _leftovers() == []


class _Response:
    def __init__(self, resp, url="http://localhost/"):
        self.status_code, self.reason, self._json = resp.status_code, resp.status, resp.get_json(silent=True)
        self.url, self.headers = url, dict(resp.headers)

    def json(self):
        if self._json is None:
            raise ValueError("not JSON")
        return self._json


class _FlaskSession:
    """Enough of requests.Session for bidding.tool.client.Client, over Flask's test client; logs paths."""

    def __init__(self, client):
        self.client, self.headers, self.paths = client, {}, []

    def request(self, method, url, *, timeout=None, json=None, params=None, data=None, headers=None):
        path = url.split("://", 1)[1].split("/", 1)[1]
        self.paths.append((method, "/" + path))
        body = data.read() if hasattr(data, "read") else data
        return _Response(self.client.open("/" + path, method=method, json=json, query_string=params, data=body,
                                          headers={**self.headers, **(headers or {})}))

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)


def test_client_uses_one_request_when_the_package_fits_a_chunk(app, client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    path = tmp_path / "p.bid"
    path.write_bytes(data)
    http = _FlaskSession(client)
    api = Client("http://localhost", bidder.token, session=http)
    bid = api.submit(lot.id, path)
    assert http.paths == [("POST", f"/api/bidding/lots/{lot.id}/bids")]
    assert bid["receipt"]["package_sha256"] == sha(data)
    again = api.submit(lot.id, path)
    assert again["receipt"] == bid["receipt"] and again["already_submitted"]
    receipts.verify(bid["receipt"], platform_keys().manifest())
    bigger = package(tmp_path, lot, bidder, size=5000, name="big.pkg")
    path.write_bytes(bigger)
    http.paths.clear()
    replaced = api.submit(lot.id, path, chunk=1024)  # over one chunk: the resumable upload
    assert http.paths[0] == ("POST", f"/api/bidding/lots/{lot.id}/uploads") and len(http.paths) > 3
    assert replaced["receipt"]["package_sha256"] == sha(bigger)


def test_ggzy_bid_submit_resumes_an_upload_a_dropped_run_left_and_withdraws(app, client, ctx, tmp_path,
                                                                          monkeypatch):
    """The bidder tool end to end: a first run sent one chunk and lost its connection; re-running
    the same command sends only the rest, writes a receipt that verifies, and withdraw ends the bid."""
    import json

    from click.testing import CliRunner

    import bidding.tool.client
    from bidding.tool.cli import cli as bid_cli

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=2_500_000)
    path = tmp_path / "p.bid"
    path.write_bytes(data)
    mib = 1024 * 1024
    http = _FlaskSession(client)
    first = Client("http://localhost", bidder.token, session=http)._call(
        "POST", f"/api/bidding/lots/{lot.id}/uploads", json={"size": len(data), "sha256": sha(data)})
    Client("http://localhost", bidder.token, session=http).put_chunk(first["id"], 0, data[:mib])
    http.paths.clear()
    monkeypatch.setattr(bidding.tool.client, "Client",
                        lambda base, token, **kw: Client(base, token, session=http, **kw))
    out = tmp_path / "r.json"
    run = CliRunner().invoke(bid_cli, ["submit", str(path), "--lot", str(lot.id), "--platform", "http://localhost",
                                       "--token", bidder.token, "--receipt", str(out), "--chunk-mb", "1"])
    assert run.exit_code == 0, run.output
    sent = [p for m, p in http.paths if m == "PUT"]
    assert sent == [f"/api/bidding/uploads/{first['id']}/chunks"] * 2  # the same session; two of three chunks
    receipt = json.loads(out.read_text())
    receipts.verify(receipt, platform_keys().manifest())
    assert receipt["package_sha256"] == sha(data) and json.loads(run.stdout)["already_submitted"] is False
    gone = CliRunner().invoke(bid_cli, ["withdraw", str(receipt["bid_id"]), "--platform", "http://localhost",
                                        "--token", bidder.token])
    assert gone.exit_code == 0 and json.loads(gone.stdout)["state"] == "withdrawn", gone.output


def test_client_falls_back_to_the_upload_when_the_server_takes_smaller_chunks(app, client, ctx, tmp_path,
                                                                              monkeypatch):
    """The server's chunk_max is below the client's chunk: the one request is a 413, and the client
    goes on with the resumable upload in chunks of the server's size instead of failing."""
    monkeypatch.setitem(app.config, "GGZY_UPLOAD_CHUNK_MAX", 2000)  # the app is shared by the session
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    path = tmp_path / "p.bid"
    path.write_bytes(data)
    http = _FlaskSession(client)
    bid = Client("http://localhost", bidder.token, session=http).submit(lot.id, path)
    assert http.paths[:2] == [("POST", f"/api/bidding/lots/{lot.id}/bids"), ("POST", f"/api/bidding/lots/{lot.id}/uploads")]
    assert len([p for m, p in http.paths if m == "PUT"]) == -(-len(data) // 2000)
    assert bid["receipt"]["package_sha256"] == sha(data) and _bids(lot.id) == 1


class _WebPage:
    """A wrong --platform: a web server that answers every request with an HTML page."""

    headers: dict = {}

    def request(self, method, url, **kwargs):
        return type("R", (), {"status_code": 200, "reason": "OK", "url": url, "headers": {"Content-Type": "text/html"},
                              "json": lambda self: (_ for _ in ()).throw(ValueError("not JSON"))})()

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)


def test_the_bidder_tool_names_a_wrong_platform_instead_of_crashing(app, ctx, tmp_path, monkeypatch):
    """No traceback: an address that is not a URL is a usage error (exit 2), a server that is not the
    platform is ``bad_response`` (exit 1), and verify-receipt blames the file or the server at fault."""
    import json

    from click.testing import CliRunner

    import bidding.tool.client
    from bidding.tool.cli import cli as bid_cli
    from bidding.tool.client import SubmitError

    path = tmp_path / "p.bid"
    path.write_bytes(b"x" * 100)
    run = CliRunner().invoke
    for args in (["submit", str(path), "--lot", "1"], ["withdraw", "1"]):
        for platform in ("foo", "ftp://x", "http://"):
            got = run(bid_cli, [*args, "--platform", platform, "--token", "t"])
            assert got.exit_code == 2 and "bad_platform" in got.output and got.exception.__class__ is SystemExit, \
                (args, platform, got.output)
    with pytest.raises(SubmitError) as err:
        Client("http://localhost", "t", session=_WebPage()).submit(1, path)
    assert err.value.code == "bad_response" and "--platform" in err.value.detail
    real = Client
    monkeypatch.setattr(bidding.tool.client, "Client", lambda base, token, **kw: real(base, token, session=_WebPage()))
    for args in (["submit", str(path), "--lot", "1"], ["withdraw", "1"]):
        got = run(bid_cli, [*args, "--platform", "http://localhost", "--token", "t"])
        assert got.exit_code == 1 and "bad_response" in got.output and isinstance(got.exception, SystemExit), got.output

    receipt = tmp_path / "r.json"
    receipt.write_text(json.dumps({"type": "x"}))
    keys = tmp_path / "keys.json"
    keys.write_text("<html>")
    got = run(bid_cli, ["verify-receipt", str(receipt), "--platform-keys", str(keys)])
    assert got.exit_code == 2 and f"bad_manifest: {keys} is not JSON" in got.output, got.output
    got = run(bid_cli, ["verify-receipt", str(receipt), "--platform", "foo"])
    assert got.exit_code == 2 and "bad_platform" in got.output, got.output
    # a receipt of the right shape, checked against a list instead of a manifest
    good = {**{f: "x" for f in receipts.FIELDS}, "type": receipts.TYPE, "v": 1, "signature": "x"}
    receipt.write_text(json.dumps(good))
    keys.write_text(json.dumps([platform_keys().manifest()]))
    got = run(bid_cli, ["verify-receipt", str(receipt), "--platform-keys", str(keys)])
    assert got.exit_code == 1 and "bad_manifest" in got.output and isinstance(got.exception, SystemExit), got.output


def test_ggzy_bid_confirm_re_confirms_after_an_amendment(app, client, ctx, tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    import bidding.tool.client
    from bidding.tool.cli import cli as bid_cli
    from tests.bidding.test_submission_browser import _amend

    lot, bidder = open_lot(), new_bidder()
    bid = submit(client, bidder, lot.id, package(tmp_path, lot, bidder)).get_json()
    _amend(lot)
    http = _FlaskSession(client)
    monkeypatch.setattr(bidding.tool.client, "Client", lambda base, token, **kw: Client(base, token, session=http, **kw))
    args = ["confirm", str(bid["id"]), "--platform", "http://localhost", "--token", bidder.token]
    done = CliRunner().invoke(bid_cli, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["needs_reconfirmation"] is False
    db.session.expire_all()
    assert db.session.get(Bid, bid["id"]).confirmed_at is not None
    with frozen(lot.bid_deadline):
        late = CliRunner().invoke(bid_cli, args)
    assert late.exit_code == 1 and "deadline_passed" in late.output
