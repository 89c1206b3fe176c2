"""The verifiable expert draw as pure functions: no database, no clock, no Flask (DESIGN §6).

Everything a verifier needs is here, so ``ggzy experts verify-draw`` and the live draw run the very
same code.  The algorithm is specified in docs/expert-draw.md precisely enough to reimplement:

* each party commits to a 32-byte contribution: ``H(dom_commit ‖ party ‖ lot ‖ draw ‖ contribution)``;
* the pool snapshot is a sorted list of pseudonymised entries, hashed in canonical JSON, together
  with the exclusions (pseudonym + reason codes) and the quotas;
* ``seed = H(dom_seed ‖ c_operator ‖ c_supervisor ‖ lot ‖ draw ‖ H(snapshot) ‖ H(exclusions) ‖ H(quotas))``;
* per quota an HMAC-SHA256 counter stream gives 64-bit words, rejection-sampled (no modulo bias)
  into a lazily run Fisher–Yates shuffle of that quota's eligible candidates; the first ``count``
  positions are the members, the following positions the reserve order used by replacements.

Every byte string is length-prefixed (4-byte big-endian) so no two inputs share an encoding.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

VERSION = "ggzy-expert-draw/1"
DOM_COMMIT = b"ggzy/expert-draw/commit/v1"
DOM_SEED = b"ggzy/expert-draw/seed/v1"
DOM_PSEUDONYM = b"ggzy/expert-draw/pseudonym/v1"
PARTIES = ("operator", "supervisor")
CONTRIBUTION_BYTES = 32
_TWO64 = 1 << 64


class SelectionError(ValueError):
    """The inputs cannot produce a draw (malformed, or too few candidates for a quota)."""


def lp(data: bytes | str) -> bytes:
    """Length-prefix: 4-byte big-endian length, then the bytes (str is UTF-8)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return len(raw).to_bytes(4, "big") + raw


def sha256_hex(*parts: bytes) -> str:
    return hashlib.sha256(b"".join(parts)).hexdigest()


def canonical(value) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8); equals RFC 8785 for str/int/list/dict values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_hash(value) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def parse_contribution(contribution_hex: str) -> bytes:
    """A contribution is exactly 32 random bytes given as 64 lowercase hex digits."""
    try:
        raw = bytes.fromhex(contribution_hex)
    except (ValueError, TypeError):
        raise SelectionError("contribution must be hexadecimal") from None
    if len(raw) != CONTRIBUTION_BYTES or contribution_hex != raw.hex():
        raise SelectionError(f"contribution must be {CONTRIBUTION_BYTES} bytes as 64 lowercase hex digits")
    return raw


def commitment(*, party: str, lot_id: int, draw_number: int, contribution_hex: str) -> str:
    """The hash a party publishes before the draw; binding to the lot and draw stops reuse elsewhere."""
    if party not in PARTIES:
        raise SelectionError(f"unknown party {party!r}")
    raw = parse_contribution(contribution_hex)
    return sha256_hex(DOM_COMMIT, lp(party), lp(str(lot_id)), lp(str(draw_number)), lp(raw))


def pseudonym(*, expert_id: int, nonce_hex: str) -> str:
    """An entry's public name: opening one (id + nonce) reveals nothing about the others."""
    return sha256_hex(DOM_PSEUDONYM, lp(bytes.fromhex(nonce_hex)), lp(str(expert_id)))


def entry_nonce(*, salt: bytes, expert_id: int) -> str:
    """Per-entry nonce derived from the draw's secret salt, so the platform stores one secret."""
    return hmac.new(salt, str(expert_id).encode(), hashlib.sha256).hexdigest()


def pseudonyms(*, salt: bytes, expert_ids: Iterable[int]) -> dict[int, str]:
    """``pseudonym(entry_nonce(id))`` for many ids: byte for byte the same values (known-answer tests
    hold it), computed from precomputed hash states, because a draw names thousands of candidates."""
    inner, outer = _hmac_states(salt)
    base = hashlib.sha256(DOM_PSEUDONYM + (32).to_bytes(4, "big"))
    out = {}
    for expert_id in expert_ids:
        raw = str(expert_id).encode()
        nonce_in = inner.copy()
        nonce_in.update(raw)
        nonce = outer.copy()
        nonce.update(nonce_in.digest())
        name = base.copy()
        name.update(nonce.digest() + len(raw).to_bytes(4, "big") + raw)
        out[expert_id] = name.hexdigest()
    return out


def _hmac_states(key: bytes) -> tuple:
    """HMAC-SHA256 (RFC 2104) inner and outer hash states after absorbing the padded key; copying
    them is much cheaper than a new ``hmac`` object per message."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key)))


def seed(*, contributions: dict[str, str], lot_id: int, draw_number: int, snapshot_hash: str,
         exclusions_hash: str, quotas_hash: str) -> str:
    """Both parties' contributions and every draw input, hashed; neither party alone fixes it."""
    if set(contributions) != set(PARTIES):
        raise SelectionError("both the operator's and the supervisor's contributions are needed")
    parts = [lp(parse_contribution(contributions[p])) for p in PARTIES]
    return sha256_hex(DOM_SEED, *parts, lp(str(lot_id)), lp(str(draw_number)), lp(snapshot_hash),
                      lp(exclusions_hash), lp(quotas_hash))


def words(seed_hex: str, label: str) -> Iterator[int]:
    """Unbounded stream of 64-bit words: HMAC-SHA256(seed, lp(label) ‖ counter₈) split in four."""
    key, prefix = bytes.fromhex(seed_hex), lp(label)
    counter = 0
    while True:
        block = hmac.new(key, prefix + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        for i in range(0, 32, 8):
            yield int.from_bytes(block[i:i + 8], "big")
        counter += 1


def uniform_below(stream: Iterator[int], n: int) -> int:
    """Uniform integer in [0, n) by rejection: words ≥ the largest multiple of n are discarded."""
    if n <= 0:
        raise SelectionError("cannot choose from an empty set")
    limit = _TWO64 - (_TWO64 % n)
    for word in stream:
        if word < limit:
            return word % n
    raise AssertionError("unreachable: the stream is infinite")  # pragma: no cover


def normalise_quotas(quotas: list[dict]) -> list[dict]:
    """Quotas in canonical order (by specialty code); one quota per code, count ≥ 1."""
    out = sorted(({"specialty": str(q["specialty"]), "count": int(q["count"])} for q in quotas),
                 key=lambda q: q["specialty"])
    codes = [q["specialty"] for q in out]
    if not out or len(set(codes)) != len(codes) or any(q["count"] < 1 or not q["specialty"] for q in out):
        raise SelectionError("quotas need distinct non-empty specialty codes and counts ≥ 1")
    return out


def matches(specialties: list[str], code: str) -> bool:
    """Hierarchical codes: an expert of ``A0102`` serves a quota for ``A01`` (prefix match)."""
    return any(s.startswith(code) for s in specialties)


@dataclass
class QuotaShuffle:
    """A lazily run Fisher–Yates shuffle of one quota's candidates; positions are fixed once reached."""

    specialty: str
    count: int
    candidates: list[str]
    stream: Iterator[int]
    done: int = 0

    def position(self, i: int) -> str | None:
        """The candidate at position ``i`` of the shuffle (None past the end)."""
        n = len(self.candidates)
        while self.done <= i and self.done < n:
            j = self.done + uniform_below(self.stream, n - self.done)
            c = self.candidates
            c[self.done], c[j] = c[j], c[self.done]
            self.done += 1
        return self.candidates[i] if i < n else None


@dataclass
class Draw:
    """The outcome: members per quota in canonical quota order, and the shuffles for replacements."""

    seed: str
    quotas: list[dict]
    members: list[list[str]]
    shuffles: list[QuotaShuffle] = field(repr=False)

    def result(self) -> list[dict]:
        return [{"specialty": q["specialty"], "members": m} for q, m in zip(self.quotas, self.members, strict=True)]


def run(*, seed_hex: str, snapshot: list[dict], exclusions: list[dict], quotas: list[dict]) -> Draw:
    """Draw every quota from the snapshot minus the exclusions; earlier quotas' members are not
    candidates of later ones, so nobody sits twice."""
    quotas = normalise_quotas(quotas)
    excluded = {x["p"] for x in exclusions}
    taken: set[str] = set()
    shuffles, members = [], []
    for index, quota in enumerate(quotas):
        code = quota["specialty"]
        candidates = _serving(snapshot, code, excluded | taken)
        if len(candidates) < quota["count"]:
            raise SelectionError(f"quota {code}: {len(candidates)} eligible candidates for {quota['count']} seats")
        shuffle = QuotaShuffle(code, quota["count"], candidates, words(seed_hex, f"quota:{index}:{code}"))
        chosen = [shuffle.position(i) for i in range(quota["count"])]
        taken.update(chosen)
        shuffles.append(shuffle)
        members.append(chosen)
    return Draw(seed_hex, quotas, members, shuffles)


def _serving(snapshot: list[dict], code: str, unavailable: set[str]) -> list[str]:
    """Sorted pseudonyms of the entries serving ``code`` (:func:`matches`, written out as a loop
    because a draw runs it over thousands of entries per quota) that are not ``unavailable``."""
    out = []
    for entry in snapshot:
        p = entry["p"]
        if p in unavailable:
            continue
        for s in entry["s"]:
            if s.startswith(code):
                out.append(p)
                break
    out.sort()
    return out


def replace(draw: Draw, *, specialty: str, unavailable: set[str], start: int) -> tuple[str, int, list[str]]:
    """The next reserve of ``specialty``'s quota from position ``start`` on, skipping the unavailable.

    The reserve order was fixed by the seed at draw time, so a replacement cannot be steered: to reach
    a given expert one would have to exclude, publicly and with a reason, everyone ahead of them.
    Returns (pseudonym, position, skipped pseudonyms).
    """
    index = next((i for i, q in enumerate(draw.quotas) if q["specialty"] == specialty), None)
    if index is None:
        raise SelectionError(f"no quota for specialty {specialty}")
    shuffle, skipped, i = draw.shuffles[index], [], max(start, draw.quotas[index]["count"])
    while True:
        candidate = shuffle.position(i)
        if candidate is None:
            raise SelectionError(f"quota {specialty}: the reserve list is exhausted")
        if candidate not in unavailable:
            return candidate, i, skipped
        skipped.append(candidate)
        i += 1
