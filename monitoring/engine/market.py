"""Analyse a whole market once, then score new lots against it.

:class:`Market` runs every detector over a :class:`~monitoring.engine.table.BidTable` and keeps
what a later lot needs (screen distributions, groups, firms' legal representatives), so the
alert path can score one newly opened lot in milliseconds without re-reading the market.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterator

import msgspec
import numpy as np

from monitoring.engine import graph, patterns, rules, scoring, screens
from monitoring.engine.table import BidTable, from_columns, unique

logger = logging.getLogger(__name__)

#: a group flags its lots from this group score on
GROUP_FLAG_AT = 0.4


#: column-wise :func:`_r` (see :func:`monitoring.engine.scoring.round_list`)
_r_list = scoring.round_list


def _r(x: float) -> float | None:
    """``round(x, 4)``, None when not finite (``math.isfinite``: ``np.isfinite`` on a scalar
    costs ~1 µs, and this runs for every flagged tender)."""
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


class Market:
    """An analysed market.  ``model`` (optional) is a fitted :class:`monitoring.engine.supervised.Calibrator`
    that replaces the hand-set screen/pattern weights by a trained probability."""

    def __init__(self, table: BidTable, *, seed: int = 0, model=None) -> None:
        self.table = table.sort()
        self.seed = seed
        self.model = model
        self.analysed = False

    # ------------------------------------------------------------------ analysis
    def analyse(self) -> Market:
        """Run rules, graph, screens and patterns; fill per-tender scores."""
        t = self.table
        self.found = rules.run_all(t)
        self.graph = graph.build(t)
        graph.art34_rule(t, self.graph, self.found)
        self.screens = screens.compute(t)
        self.screen_pct = screens.percentile_scores(self.screens, self.screens)
        self.groups = patterns.find_groups(t, self.seed)
        self.pattern_part = np.zeros(len(self.screen_pct))
        self._apply_groups()
        self._apply_screen_flag()
        self.price_part = self._price_part()
        self.firm_reps = self._firm_legal_reps()
        self.scores = scoring.tender_scores(self.found.flags, self.price_part, self.pattern_part)
        self.analysed = True
        return self

    def _apply_groups(self) -> None:
        t, blk = self.table, self.table.tender_of_rows()
        win_bidder = np.full(len(self.screen_pct), -1)
        win_bidder[blk[t.winner]] = t.bidder[t.winner]
        self.firm_groups: dict[int, list[int]] = defaultdict(list)
        for gi, gr in enumerate(self.groups):
            for m in gr.members:
                self.firm_groups[m].append(gi)
            if gr.score < GROUP_FLAG_AT:
                continue
            member_won = np.isin(win_bidder[gr.tenders], gr.members)
            part = np.where(member_won, gr.score, 0.5 * gr.score)
            self.pattern_part[gr.tenders] = np.maximum(self.pattern_part[gr.tenders], part)
            if gr.kind:
                for b in gr.tenders[member_won]:
                    self.found.add(int(b), gr.kind, self._group_evidence(gi, gr))

    def _group_evidence(self, gi: int, gr: patterns.Group) -> dict:
        ids = self.table.bidder_ids
        return {"group_id": f"P{gi:05d}", "members": [ids[m] for m in gr.members],
                "group_score": _r(gr.score), "lots_together": len(gr.tenders),
                "member_win_rate": _r(gr.member_win_rate), "distinct_winners": gr.distinct_winners,
                "stable_losers": [ids[m] for m in gr.stable_losers]}

    def _apply_screen_flag(self) -> None:
        n = self.screens["n"]
        for b in np.flatnonzero((self.screen_pct >= scoring.SCREEN_FLAG_AT) & (n >= 3)):
            self.found.add(int(b), "SCREEN_LOW_SPREAD", {
                "percentile_score": _r(self.screen_pct[b]),
                **{k: _r(self.screens[k][b]) for k in ("CV", "SPD", "RD")}})

    def _price_part(self) -> np.ndarray:
        if self.model is None:
            return scoring.screen_component(self.screen_pct)
        prob = self.model.predict_table(self.table, self.screens)
        self.pattern_part = np.zeros_like(self.pattern_part)
        return prob

    def _firm_legal_reps(self) -> dict[str, set[str]]:
        codes = self.table.attrs.get("legal_rep")
        out: dict[str, set[str]] = defaultdict(set)
        if codes is None:
            return out
        vals, ids = self.table.attr_values["legal_rep"], self.table.bidder_ids
        nb = max(self.table.n_bidders, 1)
        rows = codes >= 0
        for key in unique(codes[rows] * nb + self.table.bidder[rows]).tolist():
            out[ids[key % nb]].add(vals[key // nb])
        return out

    # ------------------------------------------------------------------ output
    def tender_records(self) -> Iterator[dict]:
        """One JSON-ready dict per tender (DESIGN §7 output).  Values are rounded column by
        column (the same ``round(x, 4)`` as :func:`_r`), not one Python call per cell."""
        t = self.table
        tcodes, _, _ = t.blocks()
        names = (*screens.SCREENS, "n")
        cols = [_r_list(self.screens[k]) for k in screens.SCREENS]
        cols.append(self.screens["n"].astype(np.int64).tolist())
        pct = _r_list(self.screen_pct)
        ids = t.tender_ids
        flags, evidence, order = self.found.flags, self.found.evidence, scoring.ordered
        for i, (tc, score, sc, row) in enumerate(zip(tcodes.tolist(), self.scores.tolist(), pct,
                                                     zip(*cols, strict=True), strict=True)):
            ev = dict(evidence[i])
            ev["screens"] = dict(zip(names, row, strict=True))
            ev["screen_score"] = sc
            yield {"tender_id": ids[tc], "score": score,
                   "flags": order(flags[i]) if flags[i] else [], "evidence": ev}

    def _tender_record(self, i: int, tender_id: str) -> dict:
        """The record of block ``i``, value by value (as :meth:`tender_records` builds it)."""
        ev = dict(self.found.evidence[i])
        ev["screens"] = {k: _r(self.screens[k][i]) for k in screens.SCREENS}
        ev["screens"]["n"] = int(self.screens["n"][i])
        ev["screen_score"] = _r(self.screen_pct[i])
        return {"tender_id": tender_id, "score": float(self.scores[i]),
                "flags": scoring.ordered(self.found.flags[i]), "evidence": ev}

    def tender_json_lines(self) -> Iterator[bytes]:
        """:meth:`tender_records` as encoded JSON lines (msgspec), byte for byte.  A tender
        without flags (most of them) is assembled from column-wise encoded values instead
        of a dict per tender; a flagged one is encoded from its record."""
        enc = msgspec.json.Encoder().encode
        t = self.table
        tcodes, _, _ = t.blocks()

        def encoded(values: list) -> list[bytes]:
            return enc(values)[1:-1].split(b",") if values else []

        cols = [encoded(_r_list(self.screens[k])) for k in screens.SCREENS]
        cols.append(encoded(self.screens["n"].astype(np.int64).tolist()))
        pct = encoded(_r_list(self.screen_pct))
        scores = encoded(self.scores.tolist())
        ids = list(map(t.tender_ids.__getitem__, tcodes.tolist()))
        line = (b'{"tender_id":%b,"score":%b,"flags":[],"evidence":{"screens":{"CV":%b,"SPD":%b,'
                b'"DIFFP":%b,"RD":%b,"KURT":%b,"SKEW":%b,"KS":%b,"n":%b},"screen_score":%b}}')
        # every line by C-level formatting (map, no Python frame per tender), then the
        # flagged ones (a few %) replaced by their encoded records
        lines = list(map(line.__mod__, zip(map(enc, ids), scores, *cols, pct, strict=True)))
        for i, f in enumerate(self.found.flags):
            if f:
                lines[i] = enc(self._tender_record(i, ids[i]))
        return iter(lines)

    def group_records(self) -> Iterator[dict]:
        """Pattern groups (``P…``) and identity-linked groups (``I…``)."""
        for gi, gr in enumerate(self.groups):
            ev = self._group_evidence(gi, gr)
            ev.update(kind=gr.kind or None, stability=_r(gr.stability),
                      top_winner_share=_r(gr.top_winner_share), exclusive_rate=_r(gr.exclusive_rate))
            yield {"group_id": ev.pop("group_id"), "members": ev.pop("members"),
                   "score": _r(gr.score), "evidence": ev}
        id_groups = graph.identity_groups(self.graph)
        scores = self._identity_group_scores([g["members"] for g in id_groups])
        for gi, grp in enumerate(id_groups):
            yield {"group_id": f"I{gi:05d}", "members": grp["members"],
                   "score": scores[gi], "evidence": grp["evidence"]}

    def _identity_group_scores(self, groups: list[list[str]]) -> list[float]:
        """Per identity group: highest score of a lot where ≥ 2 members bid; 0.5 when they
        never met.  One vectorised pass (groups are disjoint components)."""
        if not groups:
            return []
        index = {b: i for i, b in enumerate(self.table.bidder_ids)}
        gid = np.full(self.table.n_bidders, -1, dtype=np.int64)
        for i, members in enumerate(groups):
            gid[[index[m] for m in members if m in index]] = i
        g_row = gid[self.table.bidder]
        rows = np.flatnonzero(g_row >= 0)
        nb = max(self.table.n_bidders, 1)
        blk = self.table.tender_of_rows()[rows]
        pairs = unique((blk * len(groups) + g_row[rows]) * nb + self.table.bidder[rows])
        keys, cnt = unique(pairs // nb, return_counts=True)
        met = keys[cnt >= 2]
        best = np.full(len(groups), 0.5)
        np.maximum.at(best, met % len(groups), self.scores[met // len(groups)])
        return [float(round(b, 6)) for b in best]

    # ------------------------------------------------------------------ incremental
    def score_new_lot(self, bids: list[dict]) -> dict:
        """Score one newly opened lot (bids as dicts with bids-csv keys) against this market.

        Uses the lot's own rules, firms' legal representatives known from the market (Art.34),
        the market's screen distribution and its groups.  The market is not modified.
        """
        assert self.analysed, "call analyse() first"
        lot = _lot_table(bids).sort()
        found = rules.run_all(lot)
        self._lot_art34(lot, found)
        scr = screens.compute(lot)
        pct = float(screens.percentile_scores(scr, self.screens)[0])
        pattern_part = self._lot_pattern(lot, found)
        price = (float(self.model.predict_table(lot, scr)[0]) if self.model is not None
                 else float(scoring.screen_component(np.array([pct]))[0]))
        flags = found.flags[0]
        ev = dict(found.evidence[0])
        ev["screens"] = {k: _r(scr[k][0]) for k in screens.SCREENS}
        ev["screen_score"] = _r(pct)
        return {"tender_id": lot.tender_ids[0], "score": scoring.tender_score(flags, price, pattern_part),
                "flags": scoring.ordered(flags), "evidence": ev}

    def _lot_art34(self, lot: BidTable, found: rules.Findings) -> None:
        keys: dict[str, set[str]] = defaultdict(set)
        codes = lot.attrs.get("legal_rep")
        for r, b in enumerate(lot.bidder):
            bid = lot.bidder_ids[b]
            for rep in self.firm_reps.get(bid, ()):
                keys[rep].add(bid)
            if codes is not None and codes[r] >= 0:
                keys[lot.attr_values["legal_rep"][codes[r]]].add(bid)
        for rep, firms in sorted(keys.items()):
            if len(firms) >= 2:
                found.add(0, "ART34", {"field": "legal_rep", "value": [rep], "bidders": sorted(firms)})

    def _lot_pattern(self, lot: BidTable, found: rules.Findings) -> float:
        index = {b: i for i, b in enumerate(self.table.bidder_ids)}
        codes = [index[lot.bidder_ids[b]] for b in lot.bidder if lot.bidder_ids[b] in index]
        winner = {index.get(lot.bidder_ids[b], -1) for b in lot.bidder[lot.winner]}
        best = 0.0
        count: dict[int, int] = defaultdict(int)
        for c in codes:
            for gi in self.firm_groups.get(c, ()):
                count[gi] += 1
        for gi, k in count.items():
            gr = self.groups[gi]
            if k < 2 or gr.score < GROUP_FLAG_AT:
                continue
            won = bool(winner & set(gr.members))
            best = max(best, gr.score if won else 0.5 * gr.score)
            if gr.kind and won:
                found.add(0, gr.kind, self._group_evidence(gi, gr))
        return best


def _lot_table(bids: list[dict]) -> BidTable:
    """A one-lot table from bid dicts (missing optional keys are simply absent)."""
    if not bids:
        raise ValueError("a lot needs at least one bid")
    cols: dict[str, list] = defaultdict(list)
    keys = set().union(*bids)
    for b in bids:
        for k in keys:
            cols[k].append(b.get(k))
    cols["tender_id"] = [str(bids[0].get("tender_id", "new-lot"))] * len(bids)
    cols["winner"] = [bool(w) for w in cols.get("winner", [False] * len(bids))]
    return from_columns(dict(cols))
