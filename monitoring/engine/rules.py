"""Deterministic within-lot rules of 条例 Art.40 (and the price patterns of Art.40(4)).

Each rule looks at the bids of one lot and fires only when two *different* bidders share
something they should not: the same device/IP/author (Art.40(1)), the same contact
(Art.40(2)), the same project manager (Art.40(3)), near-identical documents or a regular
price sequence (Art.40(4)), one bidder's name inside another's document (Art.40(5)), the
same bond payer account (Art.40(6)).  Every hit carries the field, the value and the
bidders, because a supervisor must be able to check the evidence, and a flag is not a
legal finding.  All rules are vectorised over the sorted table.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from types import MappingProxyType

import numpy as np

from monitoring.engine import docsim
from monitoring.engine.table import BidTable, isin_sorted, unique

logger = logging.getLogger(__name__)

#: identity column -> flag code (Art.34 legal representative is handled in graph.py)
COLUMN_FLAG = {
    "device": "ART40_1", "ip": "ART40_1", "author": "ART40_1",
    "phone": "ART40_2", "email": "ART40_2",
    "project_manager": "ART40_3",
    "bond_account": "ART40_6",
}
#: absolute tolerance (currency units) for equal prices and equal gaps: bids are in cents
PRICE_TOL = 0.011
#: relative tolerance for equal consecutive ratios (rounding to cents of 1e4+ amounts)
RATIO_TOL = 0.02  # divided by the price: ratios of cent-rounded prices


_NO_FLAGS: frozenset[str] = frozenset()
_NO_EVIDENCE: MappingProxyType = MappingProxyType({})


class Findings:
    """Flags and evidence per tender block, filled by the rules.  A block without findings
    shares one empty (read-only) set and mapping: most lots have none, and 10⁵ empty sets
    and dicts cost more than the rules."""

    def __init__(self, n_blocks: int) -> None:
        self.flags: list[set[str] | frozenset[str]] = [_NO_FLAGS] * n_blocks
        self.evidence: list[dict[str, list] | MappingProxyType] = [_NO_EVIDENCE] * n_blocks

    def add(self, block: int, flag: str, item: dict) -> None:
        if self.flags[block] is _NO_FLAGS:
            self.flags[block] = set()
            self.evidence[block] = defaultdict(list)
        self.flags[block].add(flag)
        self.evidence[block][flag].append(item)


def _bidders(table: BidTable, rows) -> list[str]:
    return sorted({table.bidder_ids[b] for b in table.bidder[rows]})


def shared_values(table: BidTable, codes: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(block, value code, rows) for every value used by ≥ 2 distinct bidders in one lot,
    in (block, value) order, each group's rows ascending.

    One sort of the (lot, value, bidder) keys finds the hits; only the (few) rows of hit
    values are then grouped, so a clean column costs one sort of its rows."""
    blk_of_row = table.tender_of_rows()
    rows = np.flatnonzero(codes >= 0)
    if len(rows) == 0:
        return []
    nv, nb = int(codes.max()) + 1, max(table.n_bidders, 1)
    key = blk_of_row[rows] * nv + codes[rows]
    kb = np.sort(key * nb + table.bidder[rows])
    ks = kb // nb
    new_key = np.empty(len(kb), dtype=bool)
    new_key[0] = True
    new_key[1:] = ks[1:] != ks[:-1]
    new_pair = np.empty(len(kb), dtype=bool)
    new_pair[0] = True
    new_pair[1:] = kb[1:] != kb[:-1]
    key_start = np.flatnonzero(new_key)
    distinct = np.add.reduceat(new_pair.astype(np.int64), key_start)
    hit = ks[key_start[distinct >= 2]]
    if len(hit) == 0:
        return []
    pick = isin_sorted(key, hit)
    sel, skey = rows[pick], key[pick]
    order = np.argsort(skey, kind="stable")
    sel, skey = sel[order], skey[order]
    cut = np.flatnonzero(np.diff(skey)) + 1
    return [(int(g[0] // nv), int(g[0] % nv), s)
            for g, s in zip(np.split(skey, cut), np.split(sel, cut), strict=True)]


def identity_rules(table: BidTable, found: Findings) -> None:
    """Art.40(1)(2)(3)(6): equal identity values across different bidders of a lot."""
    for column, flag in COLUMN_FLAG.items():
        codes = table.attrs.get(column)
        if codes is None:
            continue
        values = table.attr_values[column]
        for block, code, rows in shared_values(table, codes):
            found.add(block, flag, {"field": column, "value": values[code],
                                    "bidders": _bidders(table, rows)})


def document_rules(table: BidTable, found: Findings) -> None:
    """Art.40(4) abnormally identical documents: equal doc_hash, or SimHashes within
    :data:`docsim.NEAR_BITS` bits (a copied file with small edits)."""
    codes = table.attrs.get("doc_hash")
    if codes is None:
        return
    values = table.attr_values["doc_hash"]
    for block, code, rows in shared_values(table, codes):
        item = {"field": "doc_hash", "value": values[code], "bidders": _bidders(table, rows),
                "hamming": 0}
        found.add(block, "NEAR_DUPLICATE_DOC", item)
        found.add(block, "ART40_4", item)
    _near_simhash_pairs(table, codes, values, found)


def _near_simhash_pairs(table, codes, values, found: Findings) -> None:
    hashes, is_sh = docsim.to_uint64(values)
    if not is_sh.any():
        return
    row_ok = (codes >= 0) & is_sh[np.maximum(codes, 0)]
    h = np.where(row_ok, hashes[np.maximum(codes, 0)], np.uint64(0))
    blk = table.tender_of_rows()
    _, starts, counts = table.blocks()
    # rows of the same lot after each row: pairs (i, i + d) stay inside one lot for d ≤ rem
    rem = counts[blk] - (np.arange(len(h)) - starts[blk]) - 1
    idx = np.flatnonzero(row_ok & (rem > 0))
    for d in range(1, int(counts.max()) if len(counts) else 1):
        idx = idx[rem[idx] >= d]
        if len(idx) == 0:
            break
        j = idx + d
        ok = row_ok[j] & (table.bidder[idx] != table.bidder[j]) & (codes[idx] != codes[j])
        if not ok.any():
            continue
        i, j = idx[ok], j[ok]
        dist = np.bitwise_count(h[i] ^ h[j])
        for a, b, dd in zip(i[dist <= docsim.NEAR_BITS], j[dist <= docsim.NEAR_BITS],
                            dist[dist <= docsim.NEAR_BITS], strict=True):
            item = {"field": "doc_hash", "value": [values[codes[a]], values[codes[b]]],
                    "bidders": _bidders(table, [a, b]), "hamming": int(dd)}
            found.add(int(blk[a]), "NEAR_DUPLICATE_DOC", item)
            found.add(int(blk[a]), "ART40_4", item)


def mixed_document_rule(table: BidTable, found: Findings) -> None:
    """Art.40(5) mixed documents: bid B's document names bidder A of the same lot
    (the ``author`` field holds another bidder's id)."""
    codes = table.attrs.get("author")
    if codes is None:
        return
    bidder_index = {b: i for i, b in enumerate(table.bidder_ids)}
    author_as_bidder = np.array([bidder_index.get(v, -1) for v in table.attr_values["author"]]
                                + [-1], dtype=np.int64)
    named = author_as_bidder[np.where(codes >= 0, codes, -1)]
    blk = table.tender_of_rows().astype(np.int64)
    nb = max(table.n_bidders, 1)
    cand = np.flatnonzero((named >= 0) & (named != table.bidder))
    present = isin_sorted(blk[cand] * nb + named[cand], unique(blk * nb + table.bidder))
    for r in cand[present]:
        found.add(int(blk[r]), "ART40_5", {
            "field": "author", "bid_of": table.bidder_ids[table.bidder[r]],
            "names": table.bidder_ids[named[r]], "value": table.attr_values["author"][codes[r]]})


def price_rules(table: BidTable, found: Findings) -> None:
    """IDENTICAL_PRICE (different bidders, same amount) and REGULAR_PRICE_GAP (≥ 3 bids in an
    arithmetic or geometric sequence: equal consecutive gaps or equal ratios), the latter
    also being Art.40(4) 'regular differences in price'."""
    x, blk = table.amount, table.tender_of_rows()
    if len(x) < 2:
        return
    same = (blk[1:] == blk[:-1]) & (table.bidder[1:] != table.bidder[:-1])
    gap = np.diff(x)
    for i in np.flatnonzero(same & (np.abs(gap) <= PRICE_TOL)):
        found.add(int(blk[i]), "IDENTICAL_PRICE", {
            "amount": float(x[i]), "bidders": _bidders(table, [i, i + 1])})
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x[1:] / x[:-1]
    pair_ok = same[:-1] & same[1:] & (gap[:-1] > PRICE_TOL) & (gap[1:] > PRICE_TOL)
    arith = pair_ok & (np.abs(gap[1:] - gap[:-1]) <= PRICE_TOL)
    geom = pair_ok & (np.abs(ratio[1:] - ratio[:-1]) <= RATIO_TOL / x[1:-1])
    _add_runs(table, found, arith, "difference", gap)
    _add_runs(table, found, geom & ~arith, "ratio", ratio)


def _add_runs(table, found: Findings, starts_mask: np.ndarray, kind: str, step) -> None:
    """Merge overlapping triples (i, i+1, i+2) into one run of regular prices per lot."""
    blk = table.tender_of_rows()
    runs: dict[int, set[int]] = defaultdict(set)
    for i in np.flatnonzero(starts_mask):
        runs[int(blk[i])].update((int(i), int(i) + 1, int(i) + 2))
    for block, rows in runs.items():
        rows_sorted = sorted(rows)
        item = {"pattern": kind, "step": round(float(step[rows_sorted[0]]), 6),
                "amounts": [float(table.amount[r]) for r in rows_sorted],
                "bidders": [table.bidder_ids[table.bidder[r]] for r in rows_sorted]}
        found.add(block, "REGULAR_PRICE_GAP", item)
        found.add(block, "ART40_4", item)


def run_all(table: BidTable) -> Findings:
    """Every within-lot rule over a sorted table."""
    found = Findings(len(table.blocks()[1]))
    identity_rules(table, found)
    document_rules(table, found)
    mixed_document_rule(table, found)
    price_rules(table, found)
    return found
