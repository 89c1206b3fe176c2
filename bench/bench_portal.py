"""Public portal under load (DESIGN §10, ``portal.json``).

100k notices in PostgreSQL (bench/portal_seed.py: bulk inserts shaped like the trading services'
rows, with the projects, lots, amendments, documents and timeline they hang off).  gunicorn as in
production (``GGZY_ENV=production``, gthread, 2 workers x 8 threads as ``ggzy run``) serves
``bench.portal_app:app``, which is ``wsgi:app`` plus one constant endpoint.

A load generator in a process of its own (bench/portal_load.py) sends an open-loop 200 requests/s
for 60 s over loopback: latency counts from each request's scheduled time, so a slow answer delays
nothing and hides nothing (no coordinated omission).  The mix: half ``GET /api/trading/notices``
(the JSON listing), half ``GET /notices`` (the portal page), each on a random page 1–50 with a
random filter (none, category, region prefix of 2, 4 or 6 digits, notice kind, category + region,
a Beijing-date range); every filter matches at least 50 pages.

Baseline, same server, same load, same run: ``GET /bench/constant`` at the same rate for the same
time, once before and once after the portal's run (``baseline_p99_ms`` is the p99 of both together).
A 10 s warm-up of the portal mix comes first and is not counted.

Database: ``GGZY_BENCH_DATABASE_URL`` if set (PostgreSQL only; its tables are dropped and re-created:
give it a database of its own), else a private PostgreSQL cluster started for the run in a temporary
directory and removed after it.

Run from the repository root: ``python bench/bench_portal.py [--notices 100000] [--rate 200] [--seconds 60]``
(``make bench`` runs it with these defaults); ``--rate 100 --name portal_100`` measures another rate
without replacing ``portal.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_burst import Server, _analyse, _free_port, _log_tail  # noqa: E402
from bench.common import write  # noqa: E402
from bench.portal_seed import REGIONS  # noqa: E402

KINDS = ("tender_notice", "invitation", "amendment", "suspension", "resumption", "cancellation", "failure",
         "opening_record")
CATEGORIES = ("construction", "gov_procurement")


def random_filter(rng: random.Random) -> dict:
    """One of the filters the listing supports (keyword search aside), each as likely as the others."""
    region = rng.choice(REGIONS)
    choice = rng.randrange(8)
    if choice == 0:
        return {}
    if choice == 1:
        return {"category": rng.choice(CATEGORIES)}
    if choice in (2, 3, 4):
        return {"region": region[: (2, 4, 6)[choice - 2]]}
    if choice == 5:
        return {"kind": rng.choice(KINDS)}
    if choice == 6:
        return {"category": rng.choice(CATEGORIES), "region": region[:4]}
    start = dt.date.today() - dt.timedelta(days=rng.randrange(200, 700))
    return {"date_from": start.isoformat(), "date_to": (start + dt.timedelta(days=180)).isoformat()}


def plan(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` requests: half the JSON listing, half the portal page, random page 1–50 and filter."""
    from urllib.parse import urlencode

    out = []
    for _ in range(count):
        query = {"page": rng.randint(1, 50), **random_filter(rng)}
        if rng.random() < 0.5:
            out.append(("json", "/api/trading/notices?" + urlencode({**query, "page_size": 20})))
        else:
            out.append(("html", "/notices?" + urlencode(query)))
    return out


def write_plan(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{kind}\t{url}\n" for kind, url in rows), encoding="utf-8")
    return path


# --- PostgreSQL --------------------------------------------------------------------------------

def _as_postgres(cmd: list[str]) -> list[str]:
    """root cannot run the server: the cluster's commands run as the postgres user."""
    if os.geteuid() == 0:
        return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]
    return cmd


@contextmanager
def postgres():
    """``GGZY_BENCH_DATABASE_URL``, or a private throwaway cluster on a free loopback port."""
    url = os.environ.get("GGZY_BENCH_DATABASE_URL")
    if url:
        if not url.startswith("postgresql"):
            raise SystemExit("the portal benchmark measures PostgreSQL: GGZY_BENCH_DATABASE_URL must be one")
        yield url, "GGZY_BENCH_DATABASE_URL", None
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins:
        raise SystemExit("no PostgreSQL server here: install postgresql or set GGZY_BENCH_DATABASE_URL")
    pgbin, port, home = bins[-1], _free_port(), Path(tempfile.mkdtemp(prefix="ggzy-portal-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data = home / "data"
    subprocess.run(_as_postgres([str(pgbin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
    subprocess.run(_as_postgres([str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(home / "pg.log"), "-o",
                                 f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c max_connections=100",
                                 "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
    try:
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-qc",
                        "create database ggzy_portal"], check=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/ggzy_portal", f"private cluster {pgbin.parent.name}", data
    finally:
        subprocess.run(_as_postgres([str(pgbin / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(home, ignore_errors=True)


def database_cpu_seconds(data: Path | None) -> float | None:
    """CPU used so far by a private cluster's server processes (live ones plus those that exited)."""
    if data is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((data / "postmaster.pid").read_text().split()[0])

    def stat(pid) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    own = stat(postmaster)
    total = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
        try:
            total += sum(int(x) for x in stat(child)[11:13])
        except (FileNotFoundError, IndexError):
            pass
    return total / tick


def prepare(tmp: Path, db_url: str, notices: int) -> dict:
    """Fresh tables, platform keys, the seeded notices; statistics taken before the run."""
    from argon2 import PasswordHasher

    import core.identity
    from bench.portal_seed import seed
    from core.app import create_app
    from core.db import db
    from core.keys import platform_keys

    core.identity._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # setup only
    app = create_app(_config(tmp, db_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        platform_keys().init()
        started = time.monotonic()
        counts = seed(target=notices)
        counts["seed_seconds"] = round(time.monotonic() - started, 1)
        db.session.remove()
        _analyse(db.engine)
        db.engine.dispose()
    return counts


def _config(tmp: Path, db_url: str) -> dict:
    return {"GGZY_ENV": "test", "SECRET_KEY": "bench-" + secrets.token_hex(16), "SQLALCHEMY_DATABASE_URI": db_url,
            "GGZY_TASKS_EAGER": True, "GGZY_BROKER_URL": "memory://", "GGZY_KEY_DIR": str(tmp / "keys"),
            "GGZY_STORAGE": "local", "GGZY_STORAGE_DIR": str(tmp / "store"), "GGZY_INSTANCE_DIR": str(tmp)}


# --- the run -----------------------------------------------------------------------------------

def load(port: int, plan_file: Path, out: Path, rate: float, seconds: float) -> dict:
    """One open-loop phase, by the load generator's own process."""
    subprocess.run([sys.executable, str(ROOT / "bench" / "portal_load.py"), "--port", str(port), "--rate",
                    str(rate), "--seconds", str(seconds), "--plan", str(plan_file), "--out", str(out)], check=True)
    return json.loads(out.read_text())


def quantile(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)  # as ``ggzy run``
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-count-cache", action="store_true", help="count every listing afresh (a comparison)")
    parser.add_argument("--name", default="portal", help="bench/results/NAME.json (another name for comparisons)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ggzy-portal-"))
    rng = random.Random(20261210)
    with postgres() as (db_url, db_source, pg_data):
        print(f"seeding {args.notices} notices ({db_source}) …", flush=True)
        counts = prepare(tmp, db_url, args.notices)
        print(f"seeded in {counts['seed_seconds']} s: {counts}", flush=True)
        portal_plan = write_plan(tmp / "portal.plan", plan(rng, int(args.rate * args.seconds)))
        warm_plan = write_plan(tmp / "warm.plan", plan(rng, int(args.rate * args.warmup)))
        constant_plan = write_plan(tmp / "constant.plan", [("constant", "/bench/constant")])
        env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
        env.update({"GGZY_ENV": "production", "GGZY_SECRET_KEY": "bench-" + secrets.token_hex(16),
                    "GGZY_BASE_URL": "https://ggzy.bench.invalid",
                    "GGZY_DATABASE_URL": db_url, "GGZY_BROKER_URL": "memory://", "GGZY_KEY_DIR": str(tmp / "keys"),
                    "GGZY_STORAGE": "local", "GGZY_STORAGE_DIR": str(tmp / "store"), "GGZY_INSTANCE_DIR": str(tmp),
                    "PYTHONPATH": str(ROOT), "GGZY_BENCH_NO_COUNT_CACHE": "1" if args.no_count_cache else ""})
        with Server("bench.portal_app:app", env, tmp, args.workers, args.threads) as srv:
            load(srv.port, warm_plan, tmp / "warm.json", args.rate, args.warmup)
            loadavg = [os.getloadavg()]
            cpu0 = srv.worker_cpu_seconds()
            before = load(srv.port, constant_plan, tmp / "before.json", args.rate, args.seconds)
            cpu1, db1 = srv.worker_cpu_seconds(), database_cpu_seconds(pg_data)
            portal = load(srv.port, portal_plan, tmp / "portal.json", args.rate, args.seconds)
            cpu2, db2 = srv.worker_cpu_seconds(), database_cpu_seconds(pg_data)
            after = load(srv.port, constant_plan, tmp / "after.json", args.rate, args.seconds)
            cpu3 = srv.worker_cpu_seconds()
            loadavg.append(os.getloadavg())
        log_tail = _log_tail(tmp / "gunicorn.log")
    figures = summarise(args, counts, db_source, portal, before, after, loadavg,
                        cpu={"baseline_before": cpu1 - cpu0, "portal": cpu2 - cpu1, "baseline_after": cpu3 - cpu2},
                        db_cpu=None if db1 is None else db2 - db1, log_tail=log_tail)
    path = write(args.name, figures)
    print_table(figures, path)
    shutil.rmtree(tmp, ignore_errors=True)
    # a client timeout under overload is a latency (counted in ``errors``); an answer other than 200 is a failure
    return 0 if set(figures["setup"]["statuses"]) <= {"200"} else 1


def summarise(args, counts: dict, db_source: str, portal: dict, before: dict, after: dict, loadavg: list,
              cpu: dict, db_cpu: float | None, log_tail: list[str]) -> dict:
    lat = portal["latencies_ms"]
    every = [x for values in lat.values() for x in values]
    base = before["latencies_ms"].get("constant", []) + after["latencies_ms"].get("constant", [])
    per_kind = {kind: {"requests": len(v), "p50_ms": quantile(v, 50), "p99_ms": quantile(v, 99),
                       "max_ms": round(max(v), 1)} for kind, v in sorted(lat.items())}
    errors = len(portal["errors"])
    return {
        "notices": counts["notices"], "rps": round(portal["completed"] / portal["seconds"], 1),
        "p50_ms": quantile(every, 50), "p99_ms": quantile(every, 99), "max_ms": round(max(every), 1),
        "baseline_p50_ms": quantile(base, 50), "baseline_p99_ms": quantile(base, 99), "errors": errors,
        "per_kind": per_kind,
        "setup": {
            "database": f"postgresql ({db_source})", "rows": {k: v for k, v in counts.items() if k != "seed_seconds"},
            "seed_seconds": counts["seed_seconds"],
            "server": "gunicorn gthread (bench.portal_app:app = wsgi:app + /bench/constant), GGZY_ENV=production",
            "workers": args.workers, "threads": args.threads,
            "load": f"open loop, {args.rate:g} req/s for {args.seconds:g} s, one loopback generator process "
                    "(bench/portal_load.py, asyncio, keep-alive); latency from each request's scheduled time",
            "mix": "50 % GET /api/trading/notices, 50 % GET /notices; page 1-50; filter: none | category | "
                   "region prefix 2/4/6 digits | kind | category + region | 180-day date range",
            "warmup_seconds": args.warmup, "offered": portal["requests"], "completed": portal["completed"],
            "portal_seconds": portal["seconds"], "send_lag_ms_max": portal["send_lag_ms_max"],
            "connections": portal["connections"], "statuses": portal["statuses"],
            "baseline_p99_ms_before_after": [quantile(before["latencies_ms"]["constant"], 99),
                                             quantile(after["latencies_ms"]["constant"], 99)],
            "baseline_errors": len(before["errors"]) + len(after["errors"]),
            "count_cache": not args.no_count_cache,
            "server_cpu_ms_per_request": {k: round(v / portal["requests"] * 1000, 2) for k, v in cpu.items()},
            "database_cpu_ms_per_request": None if db_cpu is None else round(db_cpu / portal["requests"] * 1000, 2),
            "loadavg_before_after": [[round(x, 2) for x in avg] for avg in loadavg],
            "error_samples": portal["errors"][:5], **({"server_log_tail": log_tail} if errors else {}),
        },
    }


def print_table(f: dict, path: Path) -> None:
    print(f"{'notices':>8} {'rps':>6} {'p50_ms':>7} {'p99_ms':>7} {'max_ms':>7} {'base_p99':>8} {'errors':>6}")
    print(f"{f['notices']:>8} {f['rps']:>6} {f['p50_ms']:>7} {f['p99_ms']:>7} {f['max_ms']:>7} "
          f"{f['baseline_p99_ms']:>8} {f['errors']:>6}  → {path}")
    for kind, k in f["per_kind"].items():
        print(f"   {kind:>5}: {k['requests']} requests, p50 {k['p50_ms']} ms, p99 {k['p99_ms']} ms, max {k['max_ms']} ms")
    print(f"   loadavg before/after: {f['setup']['loadavg_before_after']}")


if __name__ == "__main__":
    sys.exit(main())
