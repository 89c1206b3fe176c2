"""Scan throughput (DESIGN §10, scan.json): 1 M bids / 100k tenders / 20k firms.

Run from the repository root: ``python bench/bench_scan.py [--tenders N]``.
* ``seconds`` / ``peak_rss_gb``: ``scan`` of the simulated bids-csv (read, analyse, write
  JSON lines) in a child process, whose peak RSS is read from getrusage.
* ``incremental_p95_s``: ``Market.score_new_lot`` on 200 lots of the analysed market.
* ``ocds_scan_s_per_100k`` vs ``json_parse_s_per_100k``: the same market as OCDS
  compiled releases, scanned (the ``scan --format ocds`` command in this process: read,
  analyse, write every tender and group record) vs merely parsed line by line by the
  standard json module (``json.loads`` per line), measured alternately three times in the
  same run; the best of each is reported (the machine is shared and noisy).
* ``load_avg``: ``os.getloadavg()`` before and after (other work on the 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

from monitoring.engine import export  # noqa: E402
from monitoring.engine.io import read_bids_csv  # noqa: E402
from monitoring.engine.market import Market  # noqa: E402
from monitoring.engine.simulate import Simulator  # noqa: E402

OUT = ROOT / "bench" / "results" / "scan.json"
SCAN_CHILD = ("import sys; from monitoring.cli import cli; "
              "cli(['scan', sys.argv[1], '--out', sys.argv[2]], standalone_mode=True)")


def simulate(tmp: Path, n_tenders: int) -> dict:
    sim = Simulator(n_tenders, seed=1)
    sim.extra_bidders = 8.0
    market = sim.generate()
    export.write_bids_csv(market.cols, tmp / "bids.csv")
    export.write_ocds(market.cols, tmp / "ocds.jsonl")
    return {"bids": len(market.cols["amount"]), "tenders": n_tenders, "firms": sim.n_firms}


def timed_scan_child(tmp: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of a scan in a fresh process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", SCAN_CHILD, str(tmp / "bids.csv"), str(tmp / "scan.jsonl")],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024 / 1024


def incremental_p95(tmp: Path, lots: int = 200) -> float:
    table = read_bids_csv(tmp / "bids.csv")
    market = Market(table).analyse()
    t = market.table
    _, starts, counts = t.blocks()
    rng = np.random.default_rng(0)
    names = ["tender_id", "bidder_id", "amount", "winner"]
    times = []
    for k in rng.choice(len(starts), lots, replace=False):
        rows = range(starts[k], starts[k] + counts[k])
        bids = [dict(zip(names, (f"new-{k}", t.bidder_ids[t.bidder[r]], float(t.amount[r]),
                                 bool(t.winner[r])), strict=True)) for r in rows]
        for col, codes in t.attrs.items():
            for b, r in zip(bids, rows, strict=True):
                b[col] = t.attr_values[col][codes[r]] if codes[r] >= 0 else None
        t0 = time.perf_counter()
        market.score_new_lot(bids)
        times.append(time.perf_counter() - t0)
    return float(np.percentile(times, 95))


def parse_only(path: Path) -> float:
    t0 = time.perf_counter()
    loads = json.loads
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            loads(line)
    return time.perf_counter() - t0


def ocds_scan(path: Path, out: Path) -> float:
    from monitoring.cli import cli

    t0 = time.perf_counter()
    cli(["scan", str(path), "--format", "ocds", "--out", str(out)], standalone_mode=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenders", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep", type=Path, default=None,
                    help="Directory to keep (and reuse) the simulated files between runs.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = args.keep or Path(d)
        tmp.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        info_file = tmp / "info.json"
        if info_file.exists() and json.loads(info_file.read_text())["tenders"] == args.tenders:
            info = json.loads(info_file.read_text())
        else:
            info = simulate(tmp, args.tenders)
            info_file.write_text(json.dumps(info))
        sim_s = time.perf_counter() - t0
        load_before = [round(x, 2) for x in os.getloadavg()]
        seconds, rss = timed_scan_child(tmp)
        inc = incremental_p95(tmp)
        per = 100_000 / args.tenders
        parse, scan = [], []
        for _ in range(3):  # alternate to share the machine's noise
            parse.append(parse_only(tmp / "ocds.jsonl"))
            scan.append(ocds_scan(tmp / "ocds.jsonl", tmp / "ocds_scan.jsonl"))
        load_after = [round(x, 2) for x in os.getloadavg()]
    out = {**info, "seconds": round(seconds, 2), "peak_rss_gb": round(rss, 3),
           "incremental_p95_s": round(inc, 4),
           "ocds_scan_s_per_100k": round(min(scan) * per, 2),
           "json_parse_s_per_100k": round(min(parse) * per, 2),
           "ocds_ratio": round(min(scan) / min(parse), 3),
           "ocds_scan_runs_s": [round(x, 2) for x in scan], "json_parse_runs_s": [round(x, 2) for x in parse],
           "simulate_s": round(sim_s, 1), "load_avg_before": load_before, "load_avg_after": load_after}
    if args.out == OUT:
        common.write("scan", out)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    for k in ("bids", "tenders", "firms", "seconds", "peak_rss_gb", "incremental_p95_s",
              "ocds_scan_s_per_100k", "json_parse_s_per_100k", "ocds_ratio", "ocds_scan_runs_s",
              "json_parse_runs_s", "load_avg_before", "load_avg_after"):
        print(f"{k:24} {out[k]}")


if __name__ == "__main__":
    main()
