"""Near-duplicate bid documents: 64-bit SimHash over word shingles.

条例 Art.40(4) presumes collusion when bid documents of different bidders are abnormally
identical.  Exact file hashes miss a copied document with a changed cover page, so bid
clients (and our simulator) record a SimHash of the text: copies differ in a few bits,
unrelated documents in about 32.  In a bids-csv the ``doc_hash`` column holds either such a
SimHash (16 hex digits) or an opaque hash, which can then only be compared for equality.
"""

from __future__ import annotations

import hashlib
import logging
import re

import numpy as np

logger = logging.getLogger(__name__)

#: Hamming distance at or below which two SimHashes are near-duplicates (of 64 bits)
NEAR_BITS = 10
_HEX16 = re.compile(r"^[0-9a-fA-F]{16}\Z")
_HEX_RUN = re.compile(r"[0-9a-fA-F]*")
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, k: int = 3) -> list[str]:
    """Word k-shingles; CJK text without spaces falls back to character shingles."""
    words = _WORD.findall(text.lower())
    if len(words) <= 1 and text:
        words = list(text.replace(" ", ""))
    if len(words) < k:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + k]) for i in range(len(words) - k + 1)]


def simhash(text: str) -> str:
    """64-bit SimHash of ``text`` as 16 hex digits (Charikar 2002), vectorised over shingles."""
    sh = shingles(text)
    if not sh:
        return "0" * 16
    digests = b"".join(hashlib.blake2b(s.encode(), digest_size=8).digest() for s in sh)
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(len(sh), 8), axis=1)
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(sh)
    value = 0
    for i, v in enumerate(votes):
        if v > 0:
            value |= 1 << (63 - i)
    return f"{value:016x}"


def to_uint64(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 SimHash per value, bool mask of values that are SimHashes).

    A value counts when it has 16 characters and ``int(v, 16)`` reads it.  When every such
    value is plain hex (the usual case) they are converted in one ``bytes.fromhex`` pass."""
    arr = np.zeros(len(values), dtype=np.uint64)
    mask = np.zeros(len(values), dtype=bool)
    if not values:
        return arr, mask
    cand = np.flatnonzero(np.fromiter(map(len, values), dtype=np.int64, count=len(values)) == 16)
    if len(cand) == 0:
        return arr, mask
    joined = "".join([values[i] for i in cand.tolist()])
    if _HEX_RUN.fullmatch(joined):
        arr[cand] = np.frombuffer(bytes.fromhex(joined), dtype=">u8").astype(np.uint64)
        mask[cand] = True
        return arr, mask
    for i in cand.tolist():
        try:
            arr[i] = int(values[i], 16)
            mask[i] = True
        except ValueError:
            continue
    return arr, mask
