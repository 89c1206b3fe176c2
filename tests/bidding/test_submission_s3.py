"""Submission onto the S3 store (the production object store): the package streams from the chunks
into one put carrying its SHA-256, or, sent in one request, from its spool; the stored object is
the package, write-once, and its receipt verifies."""
from __future__ import annotations

import uuid

import pytest

from bidding.models import Bid
from bidding.package import receipts
from core.db import db
from core.keys import platform_keys
from core.storage import S3Storage
from tests.bidding.submitting import new_bidder, open_lot, package, sha, start, submit
from tests.s3server import ACCESS_KEY, SECRET_KEY, start_s3_server


@pytest.fixture(scope="module")
def s3_endpoint():
    endpoint, stop = start_s3_server()  # raises (the test errors, never skips) if moto cannot start
    yield endpoint
    stop()


@pytest.fixture
def s3_store(app, tmp_path, monkeypatch, s3_endpoint):
    store = S3Storage(s3_endpoint, ACCESS_KEY, SECRET_KEY, bucket=f"bids-{uuid.uuid4().hex[:12]}", secure=False)
    monkeypatch.setitem(app.extensions, "storage", store)
    monkeypatch.setitem(app.config, "GGZY_UPLOAD_DIR", str(tmp_path / "uploads"))
    return store


def test_chunked_and_one_request_submissions_land_in_s3(app, client, ctx, tmp_path, s3_store):
    lot, chunked, whole = open_lot(), new_bidder(), new_bidder()
    first = package(tmp_path, lot, chunked, size=20_000)
    resp = submit(client, chunked, lot.id, first, chunk=4096)  # several chunks: one streaming put
    assert resp.status_code == 201, resp.get_json()
    second = package(tmp_path, lot, whole, name="w.pkg")
    one = client.post(f"/api/bidding/lots/{lot.id}/bids", data=second, headers={
        **whole.headers, "Content-Type": "application/octet-stream", "X-Package-SHA256": sha(second)})
    assert one.status_code == 201, one.get_json()
    manifest = platform_keys().manifest()
    for body, data in ((resp.get_json(), first), (one.get_json(), second)):
        bid = db.session.get(Bid, body["id"])
        assert s3_store.get_bytes(bid.package_key) == data and s3_store.verify(bid.package_key)
        assert s3_store.stat(bid.package_key).sha256 == sha(data)
        receipts.verify(body["receipt"], manifest)
    again = start(client, chunked, lot.id, first)  # the identical retry: nothing to send, the same receipt
    assert again.status_code == 200 and again.get_json()["receipt"] == resp.get_json()["receipt"]
