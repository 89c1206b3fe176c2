"""Patterns across tenders: stable co-bidding partners, their communities, rotation, cover
bidding and winner exclusivity.

A bid-rigging ring shows up less in one lot than in its history: the same firms meet far
more often than their region and trade explain, one of them wins nearly every lot where
they meet (cover bidding), and who wins rotates among them (rotation).  Competition has
no such structure: a firm meets a given competitor in a small share of its lots.  So we
keep only co-bidding edges that are stable (met in most of the smaller firm's lots),
find communities of that sparse graph (Louvain), and describe each community.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from monitoring.engine.table import BidTable, isin_sorted, unique

logger = logging.getLogger(__name__)

#: an edge is stable when the pair met in ≥ MIN_MEETINGS lots and the Jaccard overlap of
#: their lots is ≥ MIN_STABILITY.  Jaccard, not "share of the smaller firm's lots": a small
#: firm meets the big local firms in most of its lots without any agreement.
MIN_MEETINGS = 4
MIN_STABILITY = 0.3
#: ... and they meet at least MIN_LIFT times as often as chance within their segment
MIN_LIFT = 3.0
#: partners per firm that define the market segments
TOP_PARTNERS = 5
#: a group pattern needs this many lots where ≥ 2 members bid
MIN_GROUP_TENDERS = 4


@dataclass
class Group:
    """A community of stable co-bidders and what its history shows."""

    members: list[int]
    tenders: np.ndarray
    stability: float
    lift: float
    member_win_rate: float
    distinct_winners: int
    top_winner_share: float
    exclusive_rate: float
    stable_losers: list[int] = field(default_factory=list)
    score: float = 0.0
    kind: str = ""


def pair_counts(table: BidTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(firm a, firm b, number of lots where both bid) for every co-bidding pair (a < b).

    The pair keys (a·n + b, millions of them) are int32 when they fit: half the memory
    traffic of int64 in the passes that build them and in their sort."""
    blk = table.tender_of_rows()
    _, starts, counts = table.blocks()
    nb = max(table.n_bidders, 1)
    dtype = np.int32 if nb * nb < 2**31 else np.int64
    b = table.bidder.astype(dtype)
    rem = counts[blk] - (np.arange(len(b)) - starts[blk]) - 1
    idx = np.flatnonzero(rem > 0)
    keys = []
    for d in range(1, int(counts.max()) if len(counts) else 1):
        idx = idx[rem[idx] >= d]
        if len(idx) == 0:
            break
        x, y = b[idx], b[idx + d]
        lo, hi = np.minimum(x, y), np.maximum(x, y)
        keys.append((lo * dtype(nb) + hi)[lo != hi])
    if not keys:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    uniq, cnt = unique(np.concatenate(keys), return_counts=True)
    uniq = uniq.astype(np.int64)
    return uniq // nb, uniq % nb, cnt


def _lots_per_firm(table: BidTable) -> np.ndarray:
    nb = max(table.n_bidders, 1)
    pairs = unique(table.tender_of_rows() * nb + table.bidder)
    return np.bincount(pairs % nb, minlength=table.n_bidders)


def _by_firm_then_meetings(src: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``np.lexsort((-w, src))`` (firm, most meetings first, ties in pair order) as one sort
    of unique int64 keys (firm, -w, position): a plain sort of a million keys is several
    times faster than the two stable passes of ``lexsort``."""
    n = len(src)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    wmax = int(w.max())
    span = (wmax - int(w.min()) + 1) * n
    if (int(src.max()) + 1) * span >= 2**62:
        return np.lexsort((-w, src))
    key = src.astype(np.int64) * span + (wmax - w.astype(np.int64)) * n + np.arange(n)
    return np.sort(key) % n


def segments(table: BidTable, a, b, c) -> tuple[np.ndarray, np.ndarray]:
    """Market segment of each firm and the number of lots of each segment.

    The detector knows no regions or trades, so the segment is recovered from the data:
    connected components of the graph that links each firm to its TOP_PARTNERS most
    frequent co-bidders.  Expected meetings are then computed within a segment, so big
    local firms that meet everywhere are not mistaken for partners.
    """
    nf = table.n_bidders
    src, dst, w = np.concatenate((a, b)), np.concatenate((b, a)), np.concatenate((c, c))
    order = _by_firm_then_meetings(src, w)
    src, dst = src[order], dst[order]
    new_firm = np.concatenate(([True], src[1:] != src[:-1]))
    first = np.maximum.accumulate(np.where(new_firm, np.arange(len(src)), 0))
    keep = (np.arange(len(src)) - first) < TOP_PARTNERS
    adj = sp.coo_matrix((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(nf, nf))
    _, seg = csgraph.connected_components(adj, directed=False)
    blk = table.tender_of_rows()
    lot_seg = unique(blk.astype(np.int64) * (nf + 1) + seg[table.bidder]) % (nf + 1)
    return seg, np.bincount(lot_seg, minlength=nf + 1)


def stable_graph(table: BidTable) -> nx.Graph:
    """Graph of stable co-bidding pairs: they meet often (Jaccard of their lots) and far
    more often than their activity in their segment explains (lift)."""
    a, b, c = pair_counts(table)
    if len(a) == 0:
        return nx.Graph()
    lots = _lots_per_firm(table)
    seg, seg_lots = segments(table, a, b, c)
    stab = c / np.maximum(lots[a] + lots[b] - c, 1)
    expected = lots[a] * lots[b] / np.maximum(seg_lots[seg[a]], 1)
    lift = c / np.maximum(expected, 1e-9)
    keep = (c >= MIN_MEETINGS) & (stab >= MIN_STABILITY) & (lift >= MIN_LIFT)
    g = nx.Graph()
    for x, y, s_, l_ in zip(a[keep].tolist(), b[keep].tolist(), stab[keep].tolist(),
                            lift[keep].tolist(), strict=True):
        g.add_edge(x, y, weight=s_, lift=l_)
    return g


def communities(g: nx.Graph, seed: int = 0) -> list[list[int]]:
    """Louvain communities of the stable graph with ≥ 2 firms (deterministic seed)."""
    if g.number_of_edges() == 0:
        return []
    comms = nx.community.louvain_communities(g, weight="weight", seed=seed)
    return [sorted(c) for c in comms if len(c) >= 2]


def _group_rows(table: BidTable, groups: list[list[int]]):
    """Per group: its lots (≥ 2 members bid) and the row mask of members' bids in them.

    Communities are disjoint, so one firm -> group array serves every group in one pass
    (a per-group scan of a million rows would cost minutes with thousands of groups)."""
    gid = np.full(table.n_bidders, -1, dtype=np.int64)
    for i, members in enumerate(groups):
        gid[members] = i
    blk = table.tender_of_rows()
    g_row = gid[table.bidder]
    rows = np.flatnonzero(g_row >= 0)
    key = blk[rows] * len(groups) + g_row[rows]
    keys, cnt = unique(key, return_counts=True)
    met = keys[cnt >= 2]
    in_met = rows[isin_sorted(key, met)]
    return gid, met // len(groups), met % len(groups), in_met


def describe_groups(table: BidTable, groups: list[list[int]], g: nx.Graph) -> list[Group | None]:
    """History of each community: the lots where ≥ 2 members met and who won them."""
    if not groups:
        return []
    gid, met_blk, met_grp, in_met = _group_rows(table, groups)
    _, _, counts = table.blocks()
    blk = table.tender_of_rows()
    bids_by = np.bincount(table.bidder[in_met], minlength=table.n_bidders)
    win_rows = in_met[table.winner[in_met]]
    wins_by = np.bincount(table.bidder[win_rows], minlength=table.n_bidders)
    per_blk_members = np.bincount(blk[in_met], minlength=len(counts))
    order = np.argsort(met_grp, kind="stable")
    bounds = np.searchsorted(met_grp[order], np.arange(len(groups) + 1))
    out: list[Group | None] = []
    for i, members in enumerate(groups):
        tenders = np.sort(met_blk[order[bounds[i]:bounds[i + 1]]])
        out.append(_describe(members, tenders, g, bids_by, wins_by, per_blk_members, counts))
    return out


def _describe(members, tenders, g, bids_by, wins_by, per_blk_members, counts) -> Group | None:
    if len(tenders) < MIN_GROUP_TENDERS:
        return None
    edges = list(g.subgraph(members).edges(data=True))
    stab = float(np.mean([d["weight"] for _, _, d in edges])) if edges else 0.0
    lift = float(np.mean([d["lift"] for _, _, d in edges])) if edges else 1.0
    w = wins_by[members]
    n_won = int(w.sum())
    losers = [m for m in members
              if bids_by[m] >= MIN_GROUP_TENDERS and wins_by[m] <= 0.1 * bids_by[m]]
    return Group(
        members=members, tenders=tenders, stability=stab, lift=lift,
        member_win_rate=min(1.0, n_won / len(tenders)),
        distinct_winners=int(np.count_nonzero(w)),
        top_winner_share=float(w.max() / n_won) if n_won else 0.0,
        exclusive_rate=float(np.mean(per_blk_members[tenders] == counts[tenders])),
        stable_losers=losers,
    )


def score_group(gr: Group) -> None:
    """Group score in [0,1] and its kind.  Meeting often is weak evidence on its own; it
    counts with a high lift over chance and with members winning where they meet."""
    size_term = min(1.0, len(gr.tenders) / 8.0)
    lift_term = float(np.clip(np.log(gr.lift) / np.log(10.0), 0.0, 1.0))
    gr.score = float(np.clip(lift_term * (0.4 + 0.6 * gr.member_win_rate) * size_term, 0, 1))
    if gr.distinct_winners >= 2 and gr.top_winner_share <= 0.75:
        gr.kind = "ROTATION"
    elif gr.stable_losers:
        gr.kind = "COVER_BIDDING"
    else:
        gr.kind = "EXCLUSIVE_GROUP" if gr.exclusive_rate >= 0.8 else ""


def find_groups(table: BidTable, seed: int = 0) -> list[Group]:
    """Stable co-bidding communities of the market, described and scored."""
    g = stable_graph(table)
    out = []
    for gr in describe_groups(table, communities(g, seed), g):
        if gr is not None:
            score_group(gr)
            out.append(gr)
    logger.info("patterns: %d stable edges, %d groups", g.number_of_edges(), len(out))
    return out
