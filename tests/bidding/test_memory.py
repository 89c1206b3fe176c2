"""Memory stays flat while sealing and opening large inputs (DESIGN §5: 1 GB files).

~200 MB here (the suite runs twice in CI on 2 cores); the 1 GB measurement is by hand with
``python -m tests.bidding.test_memory 1024`` and its output is quoted in docs/bidder-tool.md.
"""
from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

from bidding.package import container as c
from bidding.package import sealing
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


def test_finishing_a_100_mb_upload_keeps_memory_flat(app, client, ctx, tmp_path, fresh_store):
    """The finish reads the chunks as one stream, checks, hashes and spools the package in one pass,
    and stores it by rename: it never holds the package (DESIGN §5)."""
    from bidding import services
    from bidding.models import Upload
    from core.db import db
    from tests.bidding.submitting import new_bidder, open_lot, package, upload_all

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=100 * MiB)
    upload_id = upload_all(client, bidder, lot.id, data, chunk=8 * MiB)
    size = len(data)
    del data
    tracemalloc.start()
    bid, created = services.finish_upload(upload=db.session.get(Upload, upload_id), actor=bidder.user)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert created and bid.size == size
    assert peak < 4 * MiB, f"finish peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB package"  # 0.5 here
