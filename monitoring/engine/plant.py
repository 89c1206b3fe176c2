"""Planted cartels for the market simulator, one function per kind.

Each evidence kind changes one lot the way a real case looks on a platform (two bidders'
files made on one machine, the same bond payer, a copied proposal, a price ladder …);
each price-only kind (rotation, cover bidding) changes a series of lots of one region and
specialty and leaves no identity trace.  Cartel members bid less outside their ring, as
ring members do, which is what makes them stable partners.
"""

from __future__ import annotations

import logging

import numpy as np

from monitoring.engine import simulate as sim_mod

logger = logging.getLogger(__name__)

#: lots per ring / per cover scheme
RING_LOTS = 10
#: activity outside the ring, relative to an ordinary firm of the same size
RING_OUTSIDE_ACTIVITY = 0.15


def choose_rings(sim, cells: list[np.ndarray]) -> list[tuple[str, int, list[int]]]:
    """Pick ring members before the competitive lots are drawn (they bid less outside)."""
    rings = []
    n_rings = max(2, sim.plant // RING_LOTS)
    used: set[int] = set()
    for i in range(2 * n_rings):
        kind = sim_mod.PRICE_KINDS[i % 2]
        c = int(sim.rng.integers(0, len(cells)))
        pool = [int(f) for f in cells[c] if int(f) not in used]
        k = 4 if kind == "rotation" else 3
        if len(pool) < k + 3:
            continue
        members = [int(f) for f in sim.rng.choice(pool, k, replace=False)]
        used.update(members)
        sim.firms.activity[members] = RING_OUTSIDE_ACTIVITY
        rings.append((kind, c, members))
    return rings


def plant_all(sim, lots: list[dict], cells: list[np.ndarray], rings) -> None:
    """Plant every kind; each planted lot is used by exactly one kind."""
    free = {i for i, lot in enumerate(lots) if len(lot["firms"]) >= 3}
    by_cell: dict[int, list[int]] = {}
    for i, lot in enumerate(lots):
        by_cell.setdefault(lot["cell"], []).append(i)
    for kind, c, members in rings:
        _plant_ring(sim, lots, free, kind, members, by_cell[c])
    _plant_legal_rep(sim, lots, free, by_cell)
    for kind in sim_mod.EVIDENCE_KINDS:
        if kind == "same_legal_rep":
            continue
        for i in _take(sim, free, sim.plant):
            _PLANTERS[kind](sim, lots[i])
            lots[i]["kind"] = kind


def _take(sim, free: set[int], k: int, candidates=None) -> list[int]:
    pool = sorted(free) if candidates is None else [i for i in candidates if i in free]
    chosen = [int(i) for i in sim.rng.choice(pool, min(k, len(pool)), replace=False)]
    free.difference_update(chosen)
    return chosen


def _colluders(sim, lot: dict, k: int = 2) -> list[int]:
    """Positions of k bidders in the lot (the winner among them half of the time)."""
    n = len(lot["firms"])
    pos = [int(p) for p in sim.rng.choice(n, k, replace=False)]
    lot["members"] = [int(lot["firms"][p]) for p in pos]
    return pos


def _share(sim, lot: dict, key: str, make) -> None:
    a, b = _colluders(sim, lot)
    value = make(int(lot["firms"][a]))
    lot["override"][a] = {key: value}
    lot["override"][b] = {key: value}


_PLANTERS = {
    "shared_device": lambda s, lot: _share(s, lot, "device", lambda f: f"MAC-{f:06d}-0"),
    "shared_ip": lambda s, lot: _share(s, lot, "ip", lambda f: f"172.16.{f // 256 % 256}.{f % 256}"),
    "same_author": lambda s, lot: _share(s, lot, "author", lambda f: f"AU{f:06d}0"),
    "shared_agent": lambda s, lot: _share(s, lot, "phone", lambda f: f"+86-139{f:08d}"),
    "shared_pm": lambda s, lot: _share(s, lot, "project_manager", lambda f: f"PM{f:06d}0"),
    "shared_bond": lambda s, lot: _share(s, lot, "bond_account", lambda f: f"6222{f:012d}"),
}


def _copied_doc(sim, lot: dict) -> None:
    a, b = _colluders(sim, lot)
    ha, hb = sim_mod.copied_hashes(sim.rng)
    lot["override"][a] = {"doc_hash": ha}
    lot["override"][b] = {"doc_hash": hb}


def _mixed_doc(sim, lot: dict) -> None:
    a, b = _colluders(sim, lot)
    lot["override"][b] = {"author": f"F{int(lot['firms'][a]):06d}"}


def _identical_price(sim, lot: dict) -> None:
    a, b = _colluders(sim, lot)
    lot["prices"][b] = lot["prices"][a]


def _regular_gap(sim, lot: dict) -> None:
    """Three bidders: the lowest bid and two covers on an arithmetic or geometric ladder
    placed below every other bid, so the three are consecutive."""
    prices = lot["prices"]
    order = np.argsort(prices)
    a = int(order[0])
    others = [int(p) for p in sim.rng.choice(order[1:], 2, replace=False)]
    p0 = float(prices[a])
    rest = np.delete(prices, [a, *others])
    ceiling = float(rest.min()) if len(rest) else p0 * 1.1
    room = max(ceiling - p0, 3.0)
    if sim.rng.random() < 0.5:
        step = max(1.0, float(np.floor(room / 3)))
        ladder = [p0 + step, p0 + 2 * step]
    else:
        r = round(1 + room / p0 / 3, 5)
        ladder = [round(p0 * r, 2), round(p0 * r * r, 2)]
    for p, v in zip(others, ladder, strict=True):
        prices[p] = v
    for p in range(len(prices)):  # keep the ladder's rungs consecutive
        if p not in (a, *others) and prices[p] <= ladder[1] + 0.01:
            prices[p] = round(ladder[1] + (ladder[1] - p0), 2)
    lot["members"] = [int(lot["firms"][p]) for p in (a, *others)]


_PLANTERS.update({"copied_doc": _copied_doc, "mixed_doc": _mixed_doc,
                  "identical_price": _identical_price, "regular_gap": _regular_gap})


def _plant_legal_rep(sim, lots: list[dict], free: set[int], by_cell: dict[int, list[int]]) -> None:
    """Art.34: pairs of firms with one legal representative meet in several lots.  Every lot
    where both bid is a true case, so the truth is derived after planting."""
    n_pairs = max(2, sim.plant // 3)
    for i in _take(sim, free, n_pairs):
        lot = lots[i]
        a, b = (int(f) for f in lot["firms"][:2])
        sim.firms.legal_rep[b] = sim.firms.legal_rep[a]
        lot["kind"], lot["members"] = "same_legal_rep", [a, b]
        for j in _take(sim, free, 2, by_cell[lot["cell"]]):
            other = lots[j]
            firms = [int(f) for f in other["firms"]]
            for f in (a, b):
                if f not in firms:
                    slot = next(k for k, g in enumerate(firms) if g not in (a, b))
                    firms[slot] = f
            other["firms"] = np.array(firms)
            other["kind"], other["members"] = "same_legal_rep", [a, b]


def _plant_ring(sim, lots, free, kind: str, members: list[int], cell_lots: list[int]) -> None:
    chosen = sorted(_take(sim, free, RING_LOTS, cell_lots))
    for n, i in enumerate(chosen):
        lot = lots[i]
        outsiders = [int(f) for f in lot["firms"] if int(f) not in members][: int(sim.rng.integers(0, 2))]
        firms = np.array(members + outsiders)
        prices = sim.competitive_prices(firms, lot["estimate"])
        lead = n % len(members) if kind == "rotation" else 0
        base = prices[lead] * sim.rng.uniform(1.0, 1.06)
        for j in range(len(members)):
            prices[j] = base if j == lead else base * sim.rng.uniform(1.03, 1.15)
        lot["firms"], lot["prices"] = firms, np.round(prices, 2)
        lot["kind"], lot["members"] = kind, list(members)
