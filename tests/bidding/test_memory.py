"""Memory stays flat while sealing and opening large inputs (DESIGN §5: 1 GB files).

~200 MB here (the suite runs twice in CI on 2 cores); the 1 GB measurement is by hand with
``python -m tests.bidding.test_memory 1024`` and its output is quoted in docs/bidder-tool.md.
"""
from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

from bidding import container as c
from bidding import sealing
from tests.bidding.helpers import Keys

MiB = 1024 * 1024
LIMIT = 24 * MiB


def _big_file(path: Path, mib: int) -> None:
    block = (bytes(range(256)) * 4096)[:MiB]
    with open(path, "wb") as fh:
        for i in range(mib):
            fh.write(i.to_bytes(8, "big") + block[8:])


def measure(tmp: Path, mib: int) -> dict:
    keys = Keys()
    _big_file(tmp / "big.bin", mib)
    tracemalloc.start()
    t0 = time.perf_counter()
    sealing.pack(out=tmp / "big.bid", lot_id=1, opening_public=c.raw_public(keys.opening), bidder_sign=keys.sign,
                 bidder_encrypt_public=c.raw_public(keys.encrypt),
                 documents=[sealing.Document("big.bin", tmp / "big.bin")], info={}, device={},
                 created_at="2026-03-01T00:00:00Z")
    t1 = time.perf_counter()
    _cur, pack_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    with open(tmp / "big.bid", "rb") as fh:
        out = sealing.unseal(fh, tmp / "out", private_key=keys.encrypt)
    t2 = time.perf_counter()
    _cur, unseal_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.files[0]["size"] == mib * MiB
    return {"mib": mib, "pack_peak_mib": round(pack_peak / MiB, 2), "pack_s": round(t1 - t0, 2),
            "unseal_peak_mib": round(unseal_peak / MiB, 2), "unseal_s": round(t2 - t1, 2)}


def test_pack_and_unseal_200_mb_with_flat_memory(tmp_path):
    got = measure(tmp_path, 200)
    assert got["pack_peak_mib"] * MiB < LIMIT, got
    assert got["unseal_peak_mib"] * MiB < LIMIT, got


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(dir=".") as d:
        print(measure(Path(d), int(sys.argv[1]) if len(sys.argv) > 1 else 1024))
