"""Market simulator with planted cartels and a ground truth.

Tests and benchmarks need markets where the answer is known.  Firms have a region, a
specialty, a size and a cost efficiency; a tender draws bidders from its region and
specialty (bigger firms bid more), each bidder prices its own cost plus a markup, and the
lowest bid wins.  The per-tender cost dispersion is drawn from a wide law so that the
competitive tenders' screens match the non-collusive tenders of the labelled collusion data
(`calibration_ks` reports the distance).  Cartels of every kind the detector knows are then
planted in chosen tenders, and every planted tender is written to the truth file.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field

import numpy as np

from monitoring.engine import docsim

logger = logging.getLogger(__name__)

#: evidence-based kinds -> the flag that must find them
EVIDENCE_KINDS = {
    "shared_device": "ART40_1", "shared_ip": "ART40_1", "same_author": "ART40_1",
    "shared_agent": "ART40_2", "shared_pm": "ART40_3", "copied_doc": "NEAR_DUPLICATE_DOC",
    "regular_gap": "REGULAR_PRICE_GAP", "mixed_doc": "ART40_5", "shared_bond": "ART40_6",
    "same_legal_rep": "ART34", "identical_price": "IDENTICAL_PRICE",
}
#: price-only kinds: no identity evidence, only prices, bidders and winners
PRICE_KINDS = ("rotation", "cover_bidding")

#: competitive pricing, tuned against the non-collusive tenders of garcia2022 (see docs)
DISPERSION_LOG_MEAN = np.log(0.035)
DISPERSION_LOG_SD = 1.0
MARKUP_RANGE = (0.01, 0.08)
#: firms per region x specialty cell (keeps the chance of two firms meeting realistic)
FIRMS_PER_CELL = 60
_SPECIALTIES = ("building", "road", "water", "power", "landscape", "fitout", "bridge", "it")


@dataclass
class Market:
    """A simulated market as plain columns (one entry per bid) plus truth rows."""

    cols: dict[str, list] = field(default_factory=dict)
    truth: list[dict] = field(default_factory=list)
    tenders: list[dict] = field(default_factory=list)


@dataclass
class _Firms:
    region: np.ndarray
    specialty: np.ndarray
    size: np.ndarray
    efficiency: np.ndarray
    activity: np.ndarray
    legal_rep: list[str]


def _make_firms(rng: np.random.Generator, n_firms: int, n_cells: int, n_spec: int) -> _Firms:
    cell = rng.integers(0, n_cells, n_firms)
    return _Firms(
        region=cell // n_spec, specialty=cell % n_spec,
        size=rng.lognormal(0.0, 0.8, n_firms), efficiency=rng.lognormal(0.0, 0.05, n_firms),
        activity=np.ones(n_firms), legal_rep=[f"LR{i:06d}" for i in range(n_firms)],
    )


class Simulator:
    """Generate a market of ``n_tenders`` lots (≈ 10 bids each, 1 firm per 5 lots)."""

    def __init__(self, n_tenders: int = 2000, seed: int = 0, plant_per_kind: int | None = None,
                 n_firms: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.py = random.Random(seed)
        #: bidders per lot = 2 + Poisson(extra_bidders)
        self.extra_bidders = 7.0
        self.n_tenders = n_tenders
        self.n_firms = n_firms or max(60, n_tenders // 5)
        self.plant = plant_per_kind if plant_per_kind is not None else max(4, n_tenders // 100)
        self.n_spec = min(len(_SPECIALTIES), max(1, self.n_firms // (FIRMS_PER_CELL * 4)))
        self.n_cells = max(1, self.n_firms // FIRMS_PER_CELL)
        self.firms = _make_firms(self.rng, self.n_firms, self.n_cells, self.n_spec)
        self.market = Market(cols={k: [] for k in (
            "tender_id", "bidder_id", "amount", "winner", "date", "estimate", "ip", "device",
            "legal_rep", "phone", "email", "bond_account", "project_manager", "doc_hash", "author")})

    # ---------------------------------------------------------------- competitive lots
    def _cell_members(self) -> list[np.ndarray]:
        cell = self.firms.region * self.n_spec + self.firms.specialty
        return [np.flatnonzero(cell == c) for c in range(self.n_cells)]

    def _draw_bidders(self, members: np.ndarray, k: int) -> np.ndarray:
        w = self.firms.size[members] * self.firms.activity[members]
        k = min(k, len(members))
        return self.rng.choice(members, size=k, replace=False, p=w / w.sum())

    def competitive_prices(self, firms: np.ndarray, estimate: float) -> np.ndarray:
        """Own cost (common level x efficiency x idiosyncratic noise) plus a markup."""
        disp = float(np.exp(self.rng.normal(DISPERSION_LOG_MEAN, DISPERSION_LOG_SD)))
        disp = min(disp, 0.4)
        cost = estimate * 0.85 * self.firms.efficiency[firms] * np.exp(
            self.rng.normal(0.0, disp, len(firms)))
        return np.round(cost * (1 + self.rng.uniform(*MARKUP_RANGE, len(firms))), 2)

    def _tender(self, t: int, cell: int, firms: np.ndarray, prices: np.ndarray,
                kind: str = "", members: list[int] | None = None) -> dict:
        estimate = round(float(np.exp(self.rng.normal(14.0, 1.0))), 2)
        lot = {"tender_id": f"T{t:07d}", "cell": cell, "firms": firms, "prices": prices,
               "estimate": estimate, "date": 1_577_836_800 + t * (3 * 365 * 86400 // self.n_tenders),
               "kind": kind, "members": members or [], "override": {}}
        return lot

    def generate(self) -> Market:
        """Competitive lots first, then the planted cartels overwrite chosen lots."""
        from monitoring.engine import plant  # cartel logic lives in its own module

        cells = self._cell_members()
        rings = plant.choose_rings(self, cells)
        lots = []
        for t in range(self.n_tenders):
            c = int(self.rng.integers(0, self.n_cells))
            k = 2 + int(self.rng.poisson(self.extra_bidders))
            firms = self._draw_bidders(cells[c], k)
            lot = self._tender(t, c, firms, np.zeros(len(firms)))
            lot["prices"] = self.competitive_prices(firms, lot["estimate"])
            lots.append(lot)
        plant.plant_all(self, lots, cells, rings)
        self._emit(lots)
        return self.market

    # ---------------------------------------------------------------- output columns
    def _emit(self, lots: list[dict]) -> None:
        cols = self.market.cols
        for lot in lots:
            firms, prices = lot["firms"], lot["prices"]
            win = int(np.argmin(prices)) if lot.get("winner") is None else lot["winner"]
            for j, (f, p) in enumerate(zip(firms, prices, strict=True)):
                f = int(f)
                row = self._identity(f, lot["date"])
                row.update(lot["override"].get(j, {}))
                cols["tender_id"].append(lot["tender_id"])
                cols["bidder_id"].append(f"F{f:06d}")
                cols["amount"].append(float(p))
                cols["winner"].append(j == win)
                cols["date"].append(lot["date"])
                cols["estimate"].append(lot["estimate"])
                for key in ("ip", "device", "legal_rep", "phone", "email", "bond_account",
                            "project_manager", "doc_hash", "author"):
                    cols[key].append(row[key])
            if lot["kind"]:
                self.market.truth.append({"tender_id": lot["tender_id"], "kind": lot["kind"],
                                          "members": [f"F{int(m):06d}" for m in lot["members"]]})
            self._legal_rep_truth(lot)

    def _legal_rep_truth(self, lot: dict) -> None:
        """Every lot where two firms with one legal representative meet is an Art.34 case,
        planted or not."""
        if lot["kind"] == "same_legal_rep":
            return
        reps: dict[str, list[int]] = {}
        for f in lot["firms"]:
            reps.setdefault(self.firms.legal_rep[int(f)], []).append(int(f))
        for firms in reps.values():
            if len(firms) >= 2:
                self.market.truth.append({"tender_id": lot["tender_id"], "kind": "same_legal_rep",
                                          "members": [f"F{m:06d}" for m in firms]})

    def _identity(self, f: int, date: float) -> dict:
        """A firm's own, consistent identity values (no two firms share any by chance)."""
        r = self.py
        return {
            "ip": f"10.{f // 65536}.{(f // 256) % 256}.{f % 256}",
            "device": f"MAC-{f:06d}-{r.randrange(2)}",
            "legal_rep": self.firms.legal_rep[f], "phone": f"+86-138{f:08d}",
            "email": f"bids@f{f:06d}.example.cn", "bond_account": f"6222{f:012d}",
            "project_manager": f"PM{f:06d}{r.randrange(4)}",
            "doc_hash": f"{r.getrandbits(64):016x}",
            "author": f"AU{f:06d}{r.randrange(3)}",
        }


def simulate(n_tenders: int = 2000, seed: int = 0, plant_per_kind: int | None = None) -> Market:
    """Convenience wrapper: a market of ``n_tenders`` lots with planted cartels."""
    return Simulator(n_tenders, seed, plant_per_kind).generate()


def copied_text_pair(rng: np.random.Generator, words: int = 1000, edits: int = 3) -> tuple[str, str]:
    """An original technical proposal and a copy with a few words changed."""
    vocab = [f"w{i}" for i in range(3000)]
    text = list(rng.choice(vocab, words))
    copy = list(text)
    for i in rng.choice(words, edits, replace=False):
        copy[i] = str(rng.choice(vocab))
    return " ".join(text), " ".join(copy)


def copied_hashes(rng: np.random.Generator) -> tuple[str, str]:
    """SimHashes of an original and its lightly edited copy."""
    a, b = copied_text_pair(rng)
    return docsim.simhash(a), docsim.simhash(b)
