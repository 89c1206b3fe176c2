"""Pure builders for the selection and verifier tests: a pool snapshot, contributions, a bundle."""
from __future__ import annotations

import copy
import hashlib

from experts import selection as sel

SALT = b"s" * 32


def contribution(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def snapshot(n: int, codes=("A01", "B02"), salt: bytes = SALT) -> list[dict]:
    """``n`` entries spread over ``codes`` (sub-codes so hierarchy matters), sorted by pseudonym."""
    entries = []
    for i in range(1, n + 1):
        code = codes[i % len(codes)] + f"{i % 3:02d}"
        nonce = sel.entry_nonce(salt=salt, expert_id=i)
        entries.append({"p": sel.pseudonym(expert_id=i, nonce_hex=nonce), "s": [code], "r": "3302"})
    return sorted(entries, key=lambda e: e["p"])


def bundle(*, n: int = 60, quotas=None, excluded: int = 5, lot_id: int = 7, number: int = 1,
           op: str = "op", sup: str = "sup") -> dict:
    """An honest bundle exactly as the platform publishes it."""
    quotas = sel.normalise_quotas(quotas or [{"specialty": "A01", "count": 3}, {"specialty": "B02", "count": 2}])
    snap = snapshot(n)
    exclusions = [{"p": e["p"], "reasons": ["employer_bidder"]} for e in snap[:excluded]]
    contributions = {"operator": contribution(op), "supervisor": contribution(sup)}
    hashes = {"snapshot_hash": sel.canonical_hash(snap), "exclusions_hash": sel.canonical_hash(exclusions),
              "quotas_hash": sel.canonical_hash(quotas)}
    seed = sel.seed(contributions=contributions, lot_id=lot_id, draw_number=number, **hashes)
    result = sel.run(seed_hex=seed, snapshot=snap, exclusions=exclusions, quotas=quotas).result()
    commitments = {p: sel.commitment(party=p, lot_id=lot_id, draw_number=number, contribution_hex=c)
                   for p, c in contributions.items()}
    recorded = {"commitments": commitments, **hashes, "seed": seed, "result_hash": sel.canonical_hash(result)}
    return {"version": sel.VERSION, "lot_id": lot_id, "draw_number": number, "recorded": recorded,
            "contributions": contributions, "snapshot": snap, "exclusions": exclusions, "quotas": quotas,
            "seed": seed, "result": result, "replacements": [], "openings": []}


def altered(b: dict, fn) -> dict:
    out = copy.deepcopy(b)
    fn(out)
    return out
