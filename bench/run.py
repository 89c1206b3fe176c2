"""`make bench`: run every benchmark script in bench/ (bench_*.py), each of which prints its table
and writes bench/results/<name>.json with the keys of the design document, git sha, date and machine.

Usage: python bench/run.py [name ...]   e.g. `python bench/run.py archive detection`, or through make:
`make bench ONLY=burst` (both parts of the deadline burst, 2 MB and large packages; for one part
only, `python bench/bench_burst.py --part large`).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    failed = []
    for script in scripts:
        print(f"== {script.stem} ==", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"   ({time.monotonic() - started:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(script.stem)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
