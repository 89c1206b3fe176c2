"""Deterministic test vectors of package format v1 (docs/package-format-v1.md §9).

Run ``.venv/bin/python -m tests.bidding.vector_gen`` to rewrite ``tests/bidding/vectors/v1``
after a deliberate format change; the tests regenerate in a temporary directory and compare
byte for byte, so any unintended change to the format shows up as a failing test.

Every random value is drawn from :class:`SeededRandom` (SHAKE-256 of a fixed seed) through the
``random=`` test hook of :func:`bidding.package.sealing.pack`; the draws are written to ``expected.json``
in order so a third-party implementation can reproduce the package without our generator.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.package import container as c
from bidding.package import custody, sealing
from bidding.package.priced_schedule import load_schedule

HERE = Path(__file__).parent / "vectors" / "v1"
SEED = b"ggzy package format v1 test vector"
LOT_ID = 42
CREATED_AT = "2026-03-01T02:00:00Z"
SEGMENT = 64 * 1024
LARGE_SIZE = 150_000  # three segments of 64 KiB
DEVICE = {"mac": ["02:42:ac:11:00:02", "3c:7c:3f:1e:22:10"], "cpu_serial": ["BFEBFBFF000906EA"],
          "disk_serial": ["S3Z9NB0K123456X"], "dongle_serial": ["GLD-2026-000123"],
          "machine_id": ["5f3c0a1e9b2d4c6e8f0a1b2c3d4e5f60"]}
AUTHOR = {"commercial.txt": {}, "large.bin": {},
          "技术标/施工组织设计.txt": {"creator": "张工", "company": "浙江华东建设集团有限公司"},
          "schedule/报价清单.csv": {}}


class SeededRandom:
    """Bytes from SHAKE-256(seed ‖ label), consumed in order, logged for the vector file."""

    def __init__(self, seed: bytes, label: bytes = b""):
        self.xof, self.offset, self.draws = hashlib.shake_256(seed + label), 0, []

    def __call__(self, n: int) -> bytes:
        data = self.xof.digest(self.offset + n)[self.offset:]
        self.offset += n
        self.draws.append(data.hex())
        return data


def fixed_key(label: str, cls):
    return cls.from_private_bytes(hashlib.sha256(SEED + label.encode()).digest())


def keys() -> dict:
    return {"bidder_sign": fixed_key("bidder sign", Ed25519PrivateKey),
            "bidder_encrypt": fixed_key("bidder encrypt", X25519PrivateKey),
            "opening": fixed_key("opening", X25519PrivateKey)}


def large_bytes() -> bytes:
    return hashlib.shake_256(SEED + b" large.bin").digest(LARGE_SIZE)


def documents(work: Path) -> list[sealing.Document]:
    """The committed input files plus large.bin, generated (not committed) from the seed."""
    (work / "large.bin").write_bytes(large_bytes())
    inputs = HERE / "input"
    return [sealing.Document("commercial.txt", inputs / "commercial.txt", AUTHOR["commercial.txt"]),
            sealing.Document("large.bin", work / "large.bin", AUTHOR["large.bin"]),
            sealing.Document("技术标/施工组织设计.txt", inputs / "技术标/施工组织设计.txt",
                             AUTHOR["技术标/施工组织设计.txt"]),
            sealing.Document("schedule/报价清单.csv", inputs / "报价清单.csv", AUTHOR["schedule/报价清单.csv"])]


def build(work: Path) -> dict:
    """Write package.bin into ``work`` and return the expected.json content."""
    k = keys()
    rng = SeededRandom(SEED, b" package")
    info = {"schedule": load_schedule(HERE / "input" / "报价清单.csv")}
    manifest = sealing.pack(out=work / "package.bin", lot_id=LOT_ID, opening_public=c.raw_public(k["opening"]),
                            bidder_sign=k["bidder_sign"], bidder_encrypt_public=c.raw_public(k["bidder_encrypt"]),
                            documents=documents(work), info=info, device=DEVICE, created_at=CREATED_AT,
                            segment_size=SEGMENT, random=rng)
    data = (work / "package.bin").read_bytes()
    manifest_bytes = c.canonical(manifest)
    return {
        "seed": SEED.decode(), "lot_id": LOT_ID, "created_at": CREATED_AT, "segment_size": SEGMENT,
        "keys": {name: {"private_hex": _private_hex(key), "public_b64": c.b64e(c.raw_public(key))}
                 for name, key in k.items()},
        "random_draws_in_order": {"labels": ["data_key", "nonce_prefix", "salt info"] +
                                  [f"salt {d}" for d in AUTHOR] + ["ephemeral opening", "ephemeral bidder"],
                                  "hex": rng.draws},
        "device": DEVICE, "author": AUTHOR, "info_record": json.loads(c.canonical(
            {"lot_id": LOT_ID, "device": DEVICE, **info})),
        "manifest": manifest, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "signature_hex": data[12 + len(manifest_bytes):76 + len(manifest_bytes)].hex(),
        "package_size": len(data), "package_sha256": hashlib.sha256(data).hexdigest(),
        "custody": custody_vector(k["opening"]),
    }


def _private_hex(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption()).hex()


def custody_vector(opening) -> dict:
    """2-of-3 Shamir shares of the opening key with seeded coefficients."""
    rng = SeededRandom(SEED, b" shamir")
    shares = custody.split_opening_key(opening, lot_id=LOT_ID, random=rng)
    return {"coefficients_hex": rng.draws[0], "shares": [{"x": s.x, "y_hex": s.y.hex()} for s in shares]}


def main() -> None:
    expected = build(HERE)
    (HERE / "large.bin").unlink()
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {HERE}/package.bin ({expected['package_size']} bytes) and expected.json")


if __name__ == "__main__":
    main()
