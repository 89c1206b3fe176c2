"""Draw benchmark (DESIGN §10, ``draw.json``): pool of 100k experts, avoidance against 50 bidders,
1,000 draws; p50/p95 of one draw including its database reads.

One draw = freeze (read the experts under the quota codes, their declarations naming a bidder,
penalties and recent sittings; apply the avoidance rules; pseudonymise, sort and hash the snapshot
and exclusions) + seed + selection, i.e. what the second commitment and the second reveal compute.
The DB-read part is also timed alone (``db_read_p50_ms`` / ``db_read_p95_ms``), like the freeze
with the cyclic collector held; full collections during the run are counted and timed separately.  SQLite in a temp
directory, or PostgreSQL if ``GGZY_BENCH_DATABASE_URL`` is set.

Run from the repository root: ``python bench/bench_draw.py [--pool N] [--draws N]``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CODES = [f"A{i:02d}{j:02d}" for i in range(1, 11) for j in range(1, 11)]  # 100 leaf specialties


def _app(tmp: Path):
    from core.app import create_app
    from core.db import db

    url = os.environ.get("GGZY_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite'}"
    app = create_app({"GGZY_ENV": "test", "SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": url,
                      "GGZY_TASKS_EAGER": True, "GGZY_BROKER_URL": "memory://", "GGZY_KEY_DIR": str(tmp / "keys"),
                      "GGZY_STORAGE": "local", "GGZY_STORAGE_DIR": str(tmp / "storage"),
                      "GGZY_INSTANCE_DIR": str(tmp)})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def _populate(pool: int, rng: random.Random) -> tuple[list[int], int]:
    """Bulk-insert organisations, a lot, the pool with specialties and declarations."""
    from core.db import db
    from core.identity import make_uscc
    from core.models import Organisation, User
    from experts.models import Declaration, Expert, ExpertSpecialty, Specialty
    from trading.models import Lot, Project

    now = dt.datetime.now(dt.UTC)
    orgs = [{"id": i, "uscc": make_uscc(f"91330200MA{i:07d}"), "name": f"企业{i}", "kind": "enterprise",
             "region": "330200", "legal_rep": {"id_number_hash": f"h{i}"}, "shareholders": [], "contacts": [],
             "affiliated_with_operator": False, "created_at": now} for i in range(1, 1001)]
    db.session.execute(db.insert(Organisation), orgs)
    db.session.execute(db.insert(User), [{"id": 1, "email": "op@bench", "name": "op", "role": "agency",
                                          "password_hash": "x", "created_at": now}])
    db.session.execute(db.insert(Project), [{"id": 1, "code": "B-1", "name": "bench", "category": "construction",
                                             "mode": "open", "region": "330200", "tenderee_name": "企业1",
                                             "agency_org_id": 2, "created_by": 1, "created_at": now}])
    db.session.execute(db.insert(Lot), [{"id": 1, "project_id": 1, "number": 1, "name": "lot", "estimate": 1,
                                         "state": "bidding_closed", "bid_deadline": now, "created_at": now,
                                         "invitees": []}])
    db.session.execute(db.insert(Specialty), [{"code": c, "name": c} for c in CODES])
    experts, specs, decls = [], [], []
    for i in range(1, pool + 1):
        experts.append({"id": i, "name": f"专家{i}", "id_number_hash": f"{i:064d}", "phone": "", "title": "高工",
                        "senior_title": True, "years": 10, "attestation": "", "employer_uscc": orgs[i % 1000]["uscc"],
                        "employer_name": "", "region": f"33{i % 11:02d}00", "status": "banned" if i % 97 == 0
                        else "active", "created_at": now})
        specs += [{"expert_id": i, "code": c} for c in {rng.choice(CODES), rng.choice(CODES)}]
        if i % 50 == 0:
            decls.append({"expert_id": i, "kind": "relative", "org_uscc": orgs[rng.randrange(1000)]["uscc"],
                          "person_hash": "", "note": ""})
    for chunk in range(0, pool, 5000):
        db.session.execute(db.insert(Expert), experts[chunk:chunk + 5000])
    for chunk in range(0, len(specs), 5000):
        db.session.execute(db.insert(ExpertSpecialty), specs[chunk:chunk + 5000])
    db.session.execute(db.insert(Declaration), decls)
    db.session.commit()
    return [o["id"] for o in orgs], now


def _one_draw(org_ids: list[int], rng: random.Random, number: int) -> tuple[float, float]:
    """Time one draw (freeze + seed + selection) and, separately, its database reads."""
    from core.db import db
    from experts import selection as sel
    from experts.models import Draw
    from experts.services import snapshot

    codes = rng.sample(CODES, 2)
    draw = Draw(lot_id=1, number=number, size=5, quotas=sel.normalise_quotas(
        [{"specialty": codes[0], "count": 3}, {"specialty": codes[1], "count": 2}]),
        rules={"bidder_org_ids": rng.sample(org_ids, 50), "tenderee_uscc": "", "agency_uscc": "",
               "tenderee_key": "企业1", "frequency_limit": 3, "region_exclude": ["3302"]},
        salt=os.urandom(32).hex(), created_by=1)
    started = time.perf_counter()
    snapshot.freeze(draw)
    contributions = {p: hashlib.sha256(f"{p}{number}".encode()).hexdigest() for p in sel.PARTIES}
    seed = sel.seed(contributions=contributions, lot_id=1, draw_number=number, snapshot_hash=draw.snapshot_hash,
                    exclusions_hash=draw.exclusions_hash, quotas_hash=draw.quotas_hash)
    sel.run(seed_hex=seed, snapshot=draw.snapshot, exclusions=draw.exclusions, quotas=draw.quotas)
    total = time.perf_counter() - started
    started = time.perf_counter()
    with snapshot.gc_paused():  # the reads as the freeze performs them
        snapshot.read_inputs(draw)
    reads = time.perf_counter() - started
    db.session.rollback()
    return total * 1000, reads * 1000


class _FullCollections:
    """Counts full (generation 2) garbage collections and their time over the measured draws.

    The freeze holds the collector, so these pauses fall outside the timed windows; they are the
    process's cost of the objects a draw leaves behind, reported here so the figure hides nothing.
    """

    def __init__(self) -> None:
        self.count, self.ms, self._t0 = 0, 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.count += 1
            self.ms += (time.perf_counter() - self._t0) * 1000


def _pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 2)


def _notes(dialect: str) -> str:
    """Say plainly what was measured, so the figure is not read as more than it is."""
    where = ("SQLite file in a temp directory, core's default pragmas (2 MB page cache)" if dialect == "sqlite"
             else f"{dialect} from GGZY_BENCH_DATABASE_URL")
    return (f"Database: {where}. Timed: freeze (DB reads, avoidance, pseudonyms, snapshot/exclusion hashes) + "
            "seed + selection, in one process on a machine shared with other builds (see loadavg). Not timed: "
            "flushing the draw row and seating the members (the reveal's writes, notifications, scheduler jobs). "
            "The freeze holds the cyclic garbage collector (it builds no cycles); the full collections that "
            "still run fall outside the timed windows and are counted in gc_full_collections/gc_full_ms_total.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    from bench.common import write

    rng = random.Random(7)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ggzy-bench-draw-") as tmp:
        app = _app(Path(tmp))
        with app.app_context():
            started = time.perf_counter()
            org_ids, _ = _populate(args.pool, rng)
            load_s = time.perf_counter() - started
            for i in range(20):  # warm the caches and the statement cache
                _one_draw(org_ids, rng, i + 1)
            watch = _FullCollections()
            gc.callbacks.append(watch)
            times = [_one_draw(org_ids, rng, 100 + i) for i in range(args.draws)]
            gc.callbacks.remove(watch)
            dialect = app.extensions["sqlalchemy"].engine.dialect.name
    totals, reads = [t for t, _ in times], [r for _, r in times]
    figures = {"pool": args.pool, "draws": args.draws, "bidders": 50, "database": dialect,
               "p50_ms": _pct(totals, 50), "p95_ms": _pct(totals, 95), "db_read_p50_ms": _pct(reads, 50),
               "db_read_p95_ms": _pct(reads, 95), "target_p95_ms": 50, "load_s": round(load_s, 1),
               "gc_full_collections": watch.count, "gc_full_ms_total": round(watch.ms, 1),
               "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
               "notes": _notes(dialect)}
    path = write("draw", figures)
    print(f"{'figure':<18}{'value':>12}")
    for key, value in figures.items():
        print(f"{key:<18}{value!s:>12}")
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
