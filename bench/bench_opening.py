"""Remote-opening benchmark (DESIGN §10, ``opening.json``).

200 sealed bids of 2 MB are submitted (in-process, before the clock starts), the deadline passes,
the opening starts, the host publishes the list and opens the window.  Then, against gunicorn as in
production (gthread workers), all 200 data keys are sent at once by 200 concurrent clients: each
request decrypts its package, checks every file against the signed manifest and stores the plain
files.  The timed figure is ``seconds_after_window``: from the host's "close the window" request
to the signed opening record being served by the public record endpoint and page.

Baseline, same run: raw segmented decryption (AES-256-GCM STREAM) of the same 200 packages with the
same data keys, one process, nothing else.

Database: PostgreSQL if ``GGZY_BENCH_DATABASE_URL`` is set (its tables are dropped and re-created),
else SQLite.  Run from the repository root: ``python bench/bench_opening.py [--bids 200]``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402

PACKAGE_BYTES = 2 * 1024 * 1024


def _config(tmp: Path) -> dict:
    db_url = os.environ.get("GGZY_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite'}"
    return {"GGZY_ENV": "test", "SECRET_KEY": "bench-" + secrets.token_hex(16), "SQLALCHEMY_DATABASE_URI": db_url,
            "GGZY_TASKS_EAGER": True, "GGZY_BROKER_URL": "memory://", "GGZY_KEY_DIR": str(tmp / "keys"),
            "GGZY_STORAGE": "local", "GGZY_STORAGE_DIR": str(tmp / "store"), "GGZY_INSTANCE_DIR": str(tmp),
            "GGZY_UPLOAD_DIR": str(tmp / "uploads")}


def prepare(tmp: Path, cfg: dict, bids: int) -> dict:
    """Everything before the window: bids in, deadline passed, opening started, list out, window open."""
    from argon2 import PasswordHasher

    import core.identity
    from bidding import services
    from bidding.package import container as c
    from bidding.package import sealing
    from bidding.services import hall
    from core.app import create_app
    from core.clock import now
    from core.db import db
    from core.events import commit
    from core.keys import platform_keys
    from tests.bidding.factories import make_bidder, make_custodians, make_lot
    from tests.factories import token_for

    core.identity._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # setup only
    app = create_app(cfg)
    jobs = []
    with app.app_context():
        db.drop_all()
        db.create_all()
        platform_keys().init()
        lot = make_lot()
        host = make_custodians(lot.id)["opening_host"][0]
        opening = c.b64d(services.create_opening_key(lot_id=lot.id).public_key)
        commit()
        for i in range(bids):
            user, sign, encrypt = make_bidder()
            src = tmp / f"{i}.pdf"
            src.write_bytes(os.urandom(PACKAGE_BYTES - 4096))
            out = tmp / f"{i}.bid"
            sealing.pack(out=out, lot_id=lot.id, opening_public=opening, bidder_sign=sign,
                         bidder_encrypt_public=c.raw_public(encrypt),
                         documents=[sealing.Document("tech.pdf", src, {})],
                         info={"schedule": {"total": f"{1_000_000 + i}.00"}}, device={}, created_at="2026-03-01T00:00:00Z")
            src.unlink()
            data = out.read_bytes()
            services.submit_package(user=user, lot=lot, stream=io.BytesIO(data), length=len(data),
                                    sha256=__import__("hashlib").sha256(data).hexdigest())
            commit()
            manifest = sealing.read_manifest(io.BytesIO(data)).manifest
            jobs.append({"token": token_for(user), "path": out, "key": sealing.data_key_for(manifest, encrypt)})
        lot.bid_deadline = now() + dt.timedelta(milliseconds=1)
        commit()
        time.sleep(0.01)
        assert services.close_bidding(lot_id=lot.id) == "closed"
        commit()  # the event starts the opening (eager tasks)
        hall.publish_list(lot_id=lot.id, actor=host)
        hall.open_window(lot_id=lot.id, actor=host)
        commit()
        facts = {"lot_id": lot.id, "host_token": token_for(host), "jobs": jobs}
        db.session.remove()
        db.engine.dispose()
    return facts


def unseal_all(base: str, lot_id: int, jobs: list[dict]) -> tuple[float, list[str]]:
    """All data keys at once: one thread per bidder, released together."""
    from bidding.package import container as c

    gate, results = threading.Barrier(len(jobs)), [None] * len(jobs)

    def one(i: int, job: dict) -> None:
        gate.wait()
        resp = requests.post(f"{base}/api/bidding/lots/{lot_id}/opening/unseal", timeout=600,
                             headers={"Authorization": f"Bearer {job['token']}"},
                             json={"data_key": c.b64e(job["key"])})
        results[i] = resp.json().get("status", f"http {resp.status_code}")

    threads = [threading.Thread(target=one, args=(i, j)) for i, j in enumerate(jobs)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - started, results


def close_and_publish(base: str, lot_id: int, host_token: str) -> float:
    """From the host's close request to the signed record served by the public endpoint and page."""
    started = time.monotonic()
    resp = requests.post(f"{base}/api/bidding/lots/{lot_id}/opening/close", timeout=120,
                         headers={"Authorization": f"Bearer {host_token}"})
    assert resp.status_code == 200, resp.text
    while True:
        record = requests.get(f"{base}/api/bidding/lots/{lot_id}/opening-record", timeout=60)
        page = requests.get(f"{base}/bidding/opening/{lot_id}/record", timeout=60)
        if record.status_code == 200 and page.status_code == 200:
            elapsed = time.monotonic() - started
            assert len(record.json()["body"]["bids"]) > 0 and record.json()["signature"]
            return elapsed
        time.sleep(0.01)


def baseline(jobs: list[dict]) -> float:
    """Raw segmented decryption of the same packages with the same keys (no checks, no storage)."""
    from bidding.package import container as c
    from bidding.package import sealing

    started = time.monotonic()
    for job in jobs:
        with open(job["path"], "rb") as fh:
            m = sealing.read_manifest(fh).manifest
            p = m["payload"]
            count = c.segment_count(p["size"], p["segment_size"])
            for _ in c.decrypt_segments(sealing.ciphertext_segments(fh, m), job["key"], c.b64d(p["nonce_prefix"]),
                                        p["segment_size"], count):
                pass
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bids", type=int, default=200)
    args = parser.parse_args()
    from tests.bidding.server import Gunicorn

    with tempfile.TemporaryDirectory(prefix="ggzy-bench-opening-") as name:
        tmp = Path(name)
        cfg = _config(tmp)
        print(f"preparing {args.bids} bids of 2 MB…", flush=True)
        facts = prepare(tmp, cfg, args.bids)
        web = Gunicorn(cfg, tmp, storage_dir=tmp / "store", upload_dir=tmp / "uploads", workers=2,
                       threads=args.bids // 2 + 8)
        web.start()
        try:
            unseal_s, results = unseal_all(web.url, facts["lot_id"], facts["jobs"])
            seconds = close_and_publish(web.url, facts["lot_id"], facts["host_token"])
        finally:
            web.stop()
        base_s = baseline(facts["jobs"])
    figures = {"bids": args.bids, "seconds_after_window": round(seconds, 3), "baseline_decrypt_s": round(base_s, 3),
               "unseal_all_keys_s": round(unseal_s, 2), "unsealed": results.count("unsealed"),
               "target_seconds_after_window": 2.0,
               "setup": {"database": cfg["SQLALCHEMY_DATABASE_URI"].split(":")[0], "server": "gunicorn gthread",
                         "workers": 2, "threads": args.bids // 2 + 8, "store": "local directory",
                         "package_bytes": PACKAGE_BYTES},
               "load_avg": os.getloadavg()}
    for key, value in figures.items():
        print(f"{key:28} {value}")
    write("opening", figures)
    return 0 if figures["unsealed"] == args.bids else 1


if __name__ == "__main__":
    sys.exit(main())
