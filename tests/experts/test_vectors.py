"""Known-answer vectors for ``ggzy-expert-draw/1``.

Produced by the reference implementation before the draw was optimised, so any speed-up that
changes a single published byte (nonce, pseudonym, snapshot hash, result, reserve order) fails here
and a verifier built from docs/expert-draw.md keeps agreeing with the platform.
"""
from __future__ import annotations

import hashlib
import hmac

from experts import selection as sel

SALT = bytes(range(32))
NONCE_7 = "43c875c1027e0bb60b3c5e055d7245befa0322f45d7a0f86cfb578e79a5ce269"
PSEUDONYM_7 = "b7a52adfa8c9ff2e61b98c277678b7a20cd2da4c456f4aa195c8d19d6820b3e3"
SNAPSHOT_HASH = "b44b021f7a418faf8ed37f988654918f2c69e7cc06511fa4ba7acc757f3cce19"
RESULT_HASH = "9748d4fbcd0278e362f842025a8107ca5a64be96cd52e8d947d41239e1723237"
FIRST_RESERVE = "e9643fe1ce28fad280f3440ef15a93a439fdc976bd06f3eeb38efa34170d66cf"
QUOTAS = [{"specialty": "A01", "count": 3}, {"specialty": "B02", "count": 2}]


def _name(expert_id: int) -> str:
    return sel.pseudonym(expert_id=expert_id, nonce_hex=sel.entry_nonce(salt=SALT, expert_id=expert_id))


def _snapshot() -> list[dict]:
    entries = ({"p": _name(i), "r": "330203", "s": ["A01" if i % 2 else "A0102", "B02"] if i % 3 else ["B0201"]}
               for i in range(1, 41))
    return sorted(entries, key=lambda e: e["p"])


def test_nonce_and_pseudonym_match_the_written_specification():
    """Recomputed here from the document's formulas with the standard library only."""
    nonce = hmac.new(SALT, b"7", hashlib.sha256).hexdigest()
    raw = bytes.fromhex(nonce)
    spec = hashlib.sha256(b"ggzy/expert-draw/pseudonym/v1" + len(raw).to_bytes(4, "big") + raw
                          + (1).to_bytes(4, "big") + b"7").hexdigest()
    assert (nonce, spec) == (NONCE_7, PSEUDONYM_7)
    assert sel.entry_nonce(salt=SALT, expert_id=7) == NONCE_7
    assert _name(7) == PSEUDONYM_7


def test_batch_pseudonyms_equal_the_one_at_a_time_function():
    ids = [1, 7, 12, 99_999, 10**9]
    batch = sel.pseudonyms(salt=SALT, expert_ids=ids)
    assert batch == {i: _name(i) for i in ids}


def test_snapshot_result_and_reserve_order_are_unchanged():
    snap = _snapshot()
    assert sel.canonical_hash(snap) == SNAPSHOT_HASH
    draw = sel.run(seed_hex="ab" * 32, snapshot=snap, exclusions=[{"p": snap[5]["p"], "reasons": ["banned"]}],
                   quotas=QUOTAS)
    assert sel.canonical_hash(draw.result()) == RESULT_HASH
    assert sel.replace(draw, specialty="A01", unavailable=set(), start=3) == (FIRST_RESERVE, 3, [])


def test_batch_pseudonyms_handle_any_salt_length_like_hmac():
    """RFC 2104 hashes keys longer than the block; the batch path must agree for every length."""
    for salt in (b"", b"k", b"k" * 64, b"k" * 65, bytes(range(200))):
        expected = {i: sel.pseudonym(expert_id=i, nonce_hex=sel.entry_nonce(salt=salt, expert_id=i)) for i in (3, 40)}
        assert sel.pseudonyms(salt=salt, expert_ids=[3, 40]) == expected
