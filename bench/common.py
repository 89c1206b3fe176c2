"""What every benchmark result carries: git sha, date, machine."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    mem = ""
    try:
        mem = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "memory_kib": int(mem) if mem else None,
            "python": platform.python_version(), "platform": platform.platform()}


def git_sha() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write(name: str, figures: dict) -> Path:
    """Write bench/results/NAME.json with the figures plus provenance."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {**figures, "git_sha": git_sha(), "date": dt.datetime.now(dt.UTC).isoformat(), "machine": machine()}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path
