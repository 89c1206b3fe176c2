"""SIGKILL of the web server (gunicorn, as in production) in the middle of uploads.

Real database (PostgreSQL when GGZY_TEST_DATABASE_URL says so, SQLite otherwise), real store on
disk, real HTTP through the bidder tool's client.  After ``kill -9`` and a restart: no bid row is
partial (each has its package stored with the right hash and a receipt that verifies), every receipt
a client received before the kill verifies and names a standing bid, and the interrupted bidders
finish by simply running the submission again.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bidding.models import Bid
from bidding.package import receipts
from bidding.tool.cli import cli as bid_cli
from bidding.tool.client import Client, SubmitError
from core.db import db
from core.keys import platform_keys
from core.storage import LocalStorage
from core.storage.catalog import DatabaseCatalog
from tests.bidding.server import Gunicorn
from tests.bidding.submitting import new_bidder, open_lot, package

BIDDERS = 8


@pytest.fixture
def server(app, tmp_path):
    from tests.conftest import app_config

    web = Gunicorn(app_config(), tmp_path, storage_dir=tmp_path / "store", upload_dir=tmp_path / "uploads")
    yield web
    web.stop()


def _upload(client: Client, lot_id: int, path, results: dict, name: str, kill_at: list) -> None:
    try:
        bid = client.submit(lot_id, path, chunk=16 * 1024)
        results[name] = {"receipt": bid["receipt"], "at": time.monotonic(), "before_kill": not kill_at}
    except SubmitError as err:
        results[name] = {"error": err.code}


def test_sigkill_mid_upload_loses_no_receipt_and_leaves_no_partial_bid(app, server, tmp_path):
    with app.app_context():
        lot = open_lot()
        bidders = [new_bidder() for _ in range(BIDDERS)]
        files = {}
        for i, b in enumerate(bidders):
            path = tmp_path / f"bid{i}.pkg"
            path.write_bytes(package(tmp_path, lot, b, size=250_000 + i * 1000, name=f"bid{i}.pkg"))
            files[f"b{i}"] = (b, path)
        lot_id, manifest = lot.id, platform_keys().manifest()
    server.start()
    results, kill_at = {}, []
    threads = [threading.Thread(target=_upload, args=(Client(server.url, b.token, timeout=10), lot_id, path,
                                                       results, name, kill_at))
               for name, (b, path) in files.items()]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while sum("receipt" in r for r in results.values()) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    kill_at.append(time.monotonic())
    server.kill9()  # uploads are in flight: chunks half-sent, finishes half-done
    before = {n: r for n, r in results.items() if "receipt" in r}
    assert before and len(before) < BIDDERS, "the kill did not land in the middle of the uploads"
    server.start()
    for t in threads:
        t.join(timeout=90)
    with app.app_context():
        _check_store(tmp_path / "store", manifest, lot_id)
    for name, r in before.items():  # every receipt issued before the kill verifies and its bid stands
        receipts.verify(r["receipt"], manifest)
        receipts.check_package(r["receipt"], files[name][1])
    for name, (b, path) in files.items():  # the interrupted ones just run the submission again
        bid = Client(server.url, b.token).submit(lot_id, path)
        receipts.verify(bid["receipt"], manifest)
        if name in before:
            assert bid["receipt"] == before[name]["receipt"]  # idempotent: the same receipt
    with app.app_context():
        standing = db.session.scalars(select(Bid).where(Bid.lot_id == lot_id, Bid.state == "submitted")).all()
        assert len(standing) == BIDDERS
        _check_store(tmp_path / "store", manifest, lot_id)
        _cli_round_trip(server, files["b0"], manifest, tmp_path)


def _check_store(root, manifest, lot_id) -> None:
    """No partial bid: each row has its stored package (hash and size) and a verifying receipt."""
    store = LocalStorage(root, catalog=DatabaseCatalog())  # as the server's: packages described by rows
    with db.engine.connect() as conn:
        rows = conn.execute(select(Bid.id, Bid.package_key, Bid.package_sha256, Bid.size, Bid.receipt)
                            .where(Bid.lot_id == lot_id)).all()
    for bid_id, key, digest, size, receipt in rows:
        info = store.stat(key)
        assert (info.sha256, info.size) == (digest, size) and store.verify(key), bid_id
        receipts.verify(receipt, manifest)
        assert receipt["bid_id"] == bid_id and receipt["package_sha256"] == digest


def _cli_round_trip(server, bidder_file, manifest, tmp_path) -> None:
    """``ggzy bid submit`` (already standing → same receipt) and ``ggzy bid verify-receipt``."""
    bidder, path = bidder_file
    runner = CliRunner()
    with db.engine.connect() as conn:
        lot_id = conn.execute(select(Bid.lot_id).limit(1)).scalar()
    got = runner.invoke(bid_cli, ["submit", str(path), "--lot", str(lot_id), "--platform", server.url,
                                  "--token", bidder.token, "--receipt", str(tmp_path / "r.json")])
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["already_submitted"] is True
    ok = runner.invoke(bid_cli, ["verify-receipt", str(tmp_path / "r.json"), "--platform", server.url,
                                 "--package", str(path)])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["valid"] is True, ok.output
    (tmp_path / "keys.json").write_text(json.dumps(manifest))
    record = json.loads((tmp_path / "r.json").read_text())
    (tmp_path / "bad.json").write_text(json.dumps({**record, "received_at": "2026-01-01T00:00:00.000000Z"}))
    bad = runner.invoke(bid_cli, ["verify-receipt", str(tmp_path / "bad.json"), "--platform-keys",
                                  str(tmp_path / "keys.json")])
    assert bad.exit_code == 1 and "bad_signature" in bad.output
    gone = runner.invoke(bid_cli, ["withdraw", str(record["bid_id"]), "--platform", server.url,
                                   "--token", bidder.token])
    assert gone.exit_code == 0 and json.loads(gone.stdout)["state"] == "withdrawn", gone.output
