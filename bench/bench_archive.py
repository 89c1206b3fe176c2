"""Archive benchmark (DESIGN §10, ``archive.json``): sealing rate on the local store and on the S3
test server, offline verification rate on both cores, and the baselines measured in the same run.

* ``seal_per_s_*``: captured events → sealed (committed, stored, covered by a signed checkpoint),
  through the real sequencer (``archive.services.run_sequencer``), SQLite database.
* ``verify_per_s``: records per second verified by ``archive.verify`` on exported lot bundles,
  one process per core.
* ``baseline_sign_per_s``: canonical JSON + Ed25519 signature of the same payloads, both cores.
* ``baseline_verify_per_s``: raw Ed25519 verification of the same signatures, both cores.
* ``proof_bytes_1m``: an inclusion proof in a 1,000,000-leaf log (raw hash bytes).

Run from the repository root: ``python bench/bench_archive.py [--records N]``.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import multiprocessing as mp
import os
import pickle
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results" / "archive.json"
LOTS = 20


def _app(tmp: Path, **extra):
    from core.app import create_app
    from core.db import db
    from core.keys import platform_keys

    cfg = {"GGZY_ENV": "test", "SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'db.sqlite'}",
           "GGZY_TASKS_EAGER": True, "GGZY_BROKER_URL": "memory://", "GGZY_KEY_DIR": str(tmp / "keys"),
           "GGZY_STORAGE": "local", "GGZY_STORAGE_DIR": str(tmp / "storage"), "GGZY_INSTANCE_DIR": str(tmp),
           **extra}
    app = create_app(cfg)
    with app.app_context():
        db.create_all()
        platform_keys().init()
    return app


def _payload(i: int, rng: random.Random) -> dict:
    return {"v": 1, "lot_id": 1 + i % LOTS, "bidder_org_id": rng.randint(1, 5000),
            "amount": f"{rng.randint(10**5, 10**8)}.{rng.randint(0, 99):02d}",
            "package_sha256": rng.randbytes(32).hex(), "size": rng.randint(10**5, 10**8),
            "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "device": {"mac": rng.randbytes(6).hex(), "disk": rng.randbytes(8).hex()}}


def _fill_pending(n: int) -> None:
    from sqlalchemy import insert

    from archive.models import ArchivePending
    from core.db import db

    rng, now = random.Random(n), dt.datetime.now(dt.UTC)
    rows = [{"event_id": str(uuid.uuid4()), "name": "bidding.bid_submitted", "payload": _payload(i, rng),
             "created_at": now} for i in range(n)]
    for start in range(0, n, 5000):
        db.session.execute(insert(ArchivePending), rows[start:start + 5000])
    db.session.commit()


def measure_seal(app, n: int, store=None) -> float:
    from archive import services

    with app.app_context():
        if store is not None:
            app.extensions["storage"] = store
        _fill_pending(n)
        started = time.perf_counter()
        sealed = services.run_sequencer(max_seconds=10**6)
        seconds = time.perf_counter() - started
        assert sealed == n and services.pending_count() == 0, sealed
        assert services.log_size() == n
    return n / seconds


#: what the pool's workers work on, handed over as one pickled blob before the pool forks; each
#: worker unpickles its own copy in the pool's initializer (untimed), as a verifier that has read a
#: bundle holds it in its own memory.  Why not share the parent's objects: touching them in a forked
#: child copies every page on write (reference counts), and on this virtual machine a first touch of
#: fresh memory costs about 1.5 ms per MB, which swung the measured rate by ±10 % from run to run.
_WORK: dict = {}
_MINE: dict = {}
VERIFY_PASSES = 3  # passes over the bundles, so that a measurement lasts seconds, not one


def _load_own_copy() -> None:
    """Pool initializer: this worker's own inputs, and one untimed verification to warm it."""
    _MINE.update(pickle.loads(_WORK["blob"]))
    if "bundles" in _MINE:
        _verify_bundle(0)
    with _WORK["ready"].get_lock():
        _WORK["ready"].value += 1


@contextlib.contextmanager
def _pool():
    """Two forked workers that carry nothing of this process's heap into their collector.

    Why ``gc.freeze``: the workers inherit this process's millions of objects (the app, the sealed
    log); a full collection in a worker would walk them all, and writing their headers copies every
    page — time the measured verifier would be charged for although a verifier process has no such
    heap.  Frozen objects are left alone by the collector."""
    gc.collect()
    gc.freeze()
    ctx = mp.get_context("fork")
    _WORK["ready"] = ctx.Value("i", 0)
    pool = ctx.Pool(2, initializer=_load_own_copy)
    # the initializers run after Pool() returns: start no clock before both workers are ready
    try:
        deadline = time.monotonic() + 300
        while _WORK["ready"].value < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the benchmark workers did not start")
            time.sleep(0.01)
        yield pool
    finally:
        pool.terminate()
        pool.join()
        gc.unfreeze()  # the parent's own later work (sealing on S3) runs with its collector as usual


def _verify_bundle(i: int) -> int:
    from archive import verify

    code, report = verify.verify_files(_MINE["bundles"][i], verify.load_trust(_MINE["trust"]))
    assert code == 0, report
    return report["records"]


def measure_verify(app) -> tuple[float, list[bytes], float]:
    """(records verified per second, sample envelopes for the baselines, statement bytes per record)."""
    from archive import services

    with app.app_context():
        bundles = [services.build_bundle(chain=f"lot:{lot}") for lot in range(1, LOTS + 1)]
        trust = json.dumps(services.trust_document()).encode()
    samples = [data for files in bundles[:2] for path, data in files.items() if path.startswith("data/records/")]
    records = sum(len([p for p in files if p.startswith("data/records/")]) for files in bundles)
    statement_bytes = sum(len(files["data/statement.json"]) for files in bundles)
    _WORK["blob"] = pickle.dumps({"bundles": bundles, "trust": trust})
    with _pool() as pool:
        started = time.perf_counter()
        total = sum(pool.map(_verify_bundle, list(range(len(bundles))) * VERIFY_PASSES, chunksize=1))
        seconds = time.perf_counter() - started
    return total / seconds, samples, statement_bytes / records


def _sign_chunk(payloads) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from archive import jcs

    key = Ed25519PrivateKey.generate()
    for payload in payloads:
        key.sign(jcs.dumps(payload))
    return len(payloads)


def _verify_chunk(items) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = {}
    for public, message, signature in items:
        key = keys.get(public) or keys.setdefault(public, Ed25519PublicKey.from_public_bytes(public))
        key.verify(signature, message)
    return len(items)


def _both_cores(fn, items) -> float:
    _WORK["blob"] = pickle.dumps({"chunks": [items[i::2] for i in range(2)]})
    with _pool() as pool:
        pool.starmap(_run_on, [(fn, i, 50) for i in range(2)])
        started = time.perf_counter()
        done = sum(pool.starmap(_run_on, [(fn, i, None) for i in range(2)]))
        return done / (time.perf_counter() - started)


def _run_on(fn, i: int, limit: int | None) -> int:
    return fn(_MINE["chunks"][i][:limit])


def baselines(samples: list[bytes], trust: dict) -> tuple[float, float]:
    import base64

    envelopes = [json.loads(s) for s in samples]
    payloads = [e["payload"] for e in envelopes]
    from archive import jcs

    keys = {k: base64.b64decode(v["public_key"]) for k, v in trust["keys"].items()}
    items = [(keys[e["sig"]["kid"]], jcs.dumps(e["payload"]), base64.b64decode(e["sig"]["value"])) for e in envelopes]
    return _both_cores(_sign_chunk, payloads * 3), _both_cores(_verify_chunk, items * 15)


def proof_bytes_1m() -> dict:
    from archive import merkle

    log = merkle.MemoryLog()
    log.append_hashes(i.to_bytes(32, "big") for i in range(1_000_000))
    index = 765_432
    path = log.inclusion(index)
    assert merkle.verify_inclusion(index, log.size, index.to_bytes(32, "big"), path, log.root())
    as_json = json.dumps({"leaf_index": index, "tree_size": log.size, "path": [h.hex() for h in path]})
    consistency = log.consistency(500_000)
    return {"hashes": len(path), "raw": 32 * len(path), "json": len(as_json.encode()),
            "consistency_hashes_500k": len(consistency)}


def measure_s3(tmp: Path, n: int) -> float | None:
    sys.path.insert(0, str(ROOT))
    from core.storage import S3Storage
    from tests.s3server import ACCESS_KEY, SECRET_KEY, start_s3_server

    endpoint, stop = start_s3_server()
    try:
        app = _app(tmp / "s3")
        store = S3Storage(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, bucket="bench-archive")
        return measure_seal(app, n, store)
    finally:
        stop()


def machine() -> dict:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--s3-records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is reported)")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="ggzy-bench-archive-"))
    # the machine is noisy (other engineers run tests): every figure is the median of --repeat runs,
    # and each verification run sits between two baseline runs whose mean is its own baseline
    seals, ratios, verifies, signs, verify_bases = [], [], [], [], []
    for i in range(args.repeat):
        app = _app(tmp / f"local-{i}")
        seals.append(measure_seal(app, args.records))
    with app.app_context():
        from archive import services

        trust = services.trust_document()
    _rate, samples, statement_per_record = measure_verify(app)
    sign_1, verify_1 = baselines(samples, trust)
    for _ in range(args.repeat):
        verify_rate, _samples, _size = measure_verify(app)
        sign_2, verify_2 = baselines(samples, trust)
        verifies.append(verify_rate)
        signs.append((sign_1 + sign_2) / 2)
        verify_bases.append((verify_1 + verify_2) / 2)
        ratios.append(verify_rate / verify_bases[-1])
        sign_1, verify_1 = sign_2, verify_2
    seal_local, verify_rate = statistics.median(seals), statistics.median(verifies)
    sign_base, verify_base = statistics.median(signs), statistics.median(verify_bases)
    ratio = statistics.median(ratios)
    seal_s3 = measure_s3(tmp, args.s3_records)
    proof = proof_bytes_1m()
    result = {
        "git_sha": git_sha(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine(),
        "records_local": args.records, "records_s3": args.s3_records,
        "seal_per_s_local": round(seal_local, 1), "seal_per_s_s3": round(seal_s3, 1),
        "verify_per_s": round(verify_rate, 1), "baseline_sign_per_s": round(sign_base, 1),
        "baseline_verify_per_s": round(verify_base, 1),
        "verify_ratio_vs_baseline": round(ratio, 3),
        "runs": {"repeat": args.repeat, "seal_per_s_local": [round(x, 1) for x in seals],
                 "verify_per_s": [round(x, 1) for x in verifies],
                 "baseline_verify_per_s": [round(x, 1) for x in verify_bases],
                 "verify_ratio_vs_baseline": [round(x, 3) for x in ratios]},
        "uptime": uptime(),
        "statement_bytes_per_record": round(statement_per_record),
        "proof_bytes_1m": proof["raw"], "proof_json_bytes_1m": proof["json"], "proof_hashes_1m": proof["hashes"],
        "consistency_hashes_500k_1m": proof["consistency_hashes_500k"],
        "targets": {"seal_per_s_local": ">= 3000", "verify_per_s": ">= 0.7 x baseline_verify_per_s"},
        "notes": "medians of `repeat` runs (see runs; uptime shows the load); SQLite database; sealing = "
                 "sequencer batches of 2000 (one transaction, one segment PUT, one signed checkpoint each; "
                 "signatures made on the other core while the batch is built); S3 = moto server (not representative of MinIO speed); verification "
                 "and baselines use 2 processes that hold their inputs in memory (forked): 3 passes over 20 lot bundles, "
                 "30,000 raw verifications; canonical JSON via archive.jcs (byte-identical to rfc8785).",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for key in ("seal_per_s_local", "seal_per_s_s3", "verify_per_s", "baseline_sign_per_s", "baseline_verify_per_s",
                "verify_ratio_vs_baseline", "proof_bytes_1m", "proof_json_bytes_1m"):
        print(f"{key:28s} {result[key]:>12}")
    print(f"runs {json.dumps(result['runs'])}")
    print(f"uptime {result['uptime']}")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
