"""条例 Art.40(1)-(6) and Art.34: each planted case is flagged with its evidence, and a clean
near-twin (one detail different) is not flagged at all."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.engine.docsim import simhash
from monitoring.engine.simulate import copied_text_pair
from tests.monitoring.helpers import lot_rows, scan_lots

EVIDENCE_FLAGS = {"ART40_1", "ART40_2", "ART40_3", "ART40_4", "ART40_5", "ART40_6", "ART34",
                  "IDENTICAL_PRICE", "REGULAR_PRICE_GAP", "NEAR_DUPLICATE_DOC"}


def _bids(**column_values) -> list[dict]:
    """Three bidders A, B, C with irregular prices; column_values maps column -> 3 values."""
    bids = [{"bidder_id": b, "amount": a} for b, a in
            (("A", 1_000_000.0), ("B", 1_043_517.25), ("C", 1_101_230.5))]
    for col, values in column_values.items():
        for bid, v in zip(bids, values, strict=True):
            bid[col] = v
    return bids


def _flags(bids: list[dict]) -> tuple[set[str], dict]:
    rec = scan_lots(lot_rows("L1", bids))["L1"]
    return set(rec["flags"]) & EVIDENCE_FLAGS, rec["evidence"]


@pytest.mark.parametrize(("column", "flag"), [
    ("device", "ART40_1"), ("ip", "ART40_1"), ("author", "ART40_1"),
    ("phone", "ART40_2"), ("email", "ART40_2"),
    ("project_manager", "ART40_3"), ("bond_account", "ART40_6"),
])
def test_art40_shared_identity_flagged_with_evidence(column, flag):
    """Art.40(1) same preparer/device/IP, (2) same agent contact, (3) same project manager,
    (6) same bond payer account: two different bidders share the value."""
    flags, ev = _flags(_bids(**{column: ["X-1", "X-1", "Z-9"]}))
    assert flags == {flag}
    assert ev[flag] == [{"field": column, "value": "X-1", "bidders": ["A", "B"]}]


@pytest.mark.parametrize("column", ["device", "ip", "author", "phone", "email",
                                    "project_manager", "bond_account"])
def test_art40_identity_near_twin_not_flagged(column):
    """Art.40(1)(2)(3)(6) near-twin: values differ by one character -> no flag."""
    flags, _ = _flags(_bids(**{column: ["X-1", "X-2", "Z-9"]}))
    assert flags == set()


def test_art40_same_bidder_twice_is_not_collusion():
    """Art.40 needs *different* bidders: one firm's two bids sharing a device are not flagged."""
    bids = _bids(device=["D", "E", "F"])
    bids.append({"bidder_id": "A", "amount": 1_200_000.0, "device": "D"})
    assert _flags(bids)[0] == set()


def test_art40_4_near_duplicate_documents_flagged():
    """Art.40(4) abnormally identical documents: SimHashes of a copy with 3 edited words."""
    a, b = copied_text_pair(np.random.default_rng(1))
    unrelated = copied_text_pair(np.random.default_rng(2))[0]
    flags, ev = _flags(_bids(doc_hash=[simhash(a), simhash(b), simhash(unrelated)]))
    assert flags == {"ART40_4", "NEAR_DUPLICATE_DOC"}
    (item,) = ev["NEAR_DUPLICATE_DOC"]
    assert item["bidders"] == ["A", "B"] and 0 < item["hamming"] <= 10


def test_art40_4_identical_opaque_hash_flagged():
    """Art.40(4) with only an opaque file hash: equality is all the data allows."""
    flags, ev = _flags(_bids(doc_hash=["sha256:aa", "sha256:aa", "sha256:bb"]))
    assert flags == {"ART40_4", "NEAR_DUPLICATE_DOC"}
    assert ev["ART40_4"][0]["bidders"] == ["A", "B"]


def test_art40_4_independent_documents_not_flagged():
    """Art.40(4) near-twin: three independently written documents."""
    texts = [copied_text_pair(np.random.default_rng(s))[0] for s in (3, 4, 5)]
    assert _flags(_bids(doc_hash=[simhash(t) for t in texts]))[0] == set()


@pytest.mark.parametrize(("amounts", "pattern"), [
    ([1_000_000.0, 1_012_000.0, 1_024_000.0], "difference"),
    ([1_000_000.0, 1_020_000.0, 1_040_400.0], "ratio"),
])
def test_art40_4_regular_price_gap_flagged(amounts, pattern):
    """Art.40(4) regular price differences: an arithmetic or geometric price ladder."""
    bids = [{"bidder_id": b, "amount": a} for b, a in zip("ABC", amounts, strict=True)]
    bids.append({"bidder_id": "D", "amount": 1_187_311.42})
    flags, ev = _flags(bids)
    assert flags == {"ART40_4", "REGULAR_PRICE_GAP"}
    (item,) = ev["REGULAR_PRICE_GAP"]
    assert item["pattern"] == pattern and item["bidders"] == ["A", "B", "C"]


def test_art40_4_almost_regular_gap_not_flagged():
    """Near-twin: the two gaps differ by one yuan."""
    bids = [{"bidder_id": b, "amount": a} for b, a in
            zip("ABCD", (1_000_000.0, 1_012_000.0, 1_024_001.0, 1_187_311.42), strict=True)]
    assert _flags(bids)[0] == set()


def test_art40_5_mixed_documents_flagged():
    """Art.40(5) mixed documents: B's file carries bidder A's name."""
    flags, ev = _flags(_bids(author=["alice", "A", "carol"]))
    assert flags == {"ART40_5"}
    assert ev["ART40_5"] == [{"field": "author", "bid_of": "B", "names": "A", "value": "A"}]


def test_art40_5_own_name_or_absent_firm_not_flagged():
    """Near-twin: a file naming its own bidder, or a firm not bidding on this lot."""
    assert _flags(_bids(author=["A", "Q", "carol"]))[0] == set()


def test_art34_same_legal_representative_flagged_across_lots():
    """Art.34: A and B share a legal representative recorded on another lot; they meet on L1."""
    other = lot_rows("L0", [{"bidder_id": "A", "amount": 5.0e5, "legal_rep": "Wang Wei"},
                            {"bidder_id": "B", "amount": 5.3e5, "legal_rep": "Wang Wei"}])
    l1 = lot_rows("L1", _bids(legal_rep=[None, None, "Li Na"]))
    rec = scan_lots(other, l1)["L1"]
    assert "ART34" in rec["flags"]
    assert rec["evidence"]["ART34"] == [{"field": "legal_rep", "value": ["Wang Wei"],
                                         "bidders": ["A", "B"]}]


def test_art34_related_firms_never_meeting_not_flagged():
    """Near-twin: same legal representative, but never on the same lot -> no Art.34 flag."""
    l0 = lot_rows("L0", [{"bidder_id": "A", "amount": 5.0e5, "legal_rep": "Wang Wei"},
                         {"bidder_id": "Q", "amount": 5.4e5, "legal_rep": "Zhao Lei"}])
    l1 = lot_rows("L1", [{"bidder_id": "B", "amount": 5.0e5, "legal_rep": "Wang Wei"},
                         {"bidder_id": "C", "amount": 5.2e5, "legal_rep": "Li Na"}])
    recs = scan_lots(l0, l1)
    assert all("ART34" not in r["flags"] for r in recs.values())


def test_identical_price_flagged_and_one_yuan_apart_not():
    """Identical bid prices of different bidders (Cardinal R028); 1 yuan apart is clean."""
    same = [{"bidder_id": "A", "amount": 1e6}, {"bidder_id": "B", "amount": 1e6},
            {"bidder_id": "C", "amount": 1.13e6}]
    flags, ev = _flags(same)
    assert flags == {"IDENTICAL_PRICE"} and ev["IDENTICAL_PRICE"][0]["bidders"] == ["A", "B"]
    same[1]["amount"] = 1e6 + 1
    assert _flags(same)[0] == set()


def test_evidence_flag_scores_above_alert_threshold_and_clean_below():
    """One Art.40 hit alone is an alert; a clean lot with ordinary prices is not."""
    bad = scan_lots(lot_rows("L1", _bids(bond_account=["6222", "6222", "6223"])))["L1"]
    clean = scan_lots(lot_rows("L1", _bids(bond_account=["6222", "6224", "6223"])))["L1"]
    assert bad["score"] >= 0.5 > clean["score"]
