"""Evidence graph (networkx) over enterprises, persons, accounts, devices, IPs and documents.

Within-lot rules (rules.py) see only one lot; some relationships are facts about firms that
hold everywhere.  条例 Art.34 forbids bidders with the same legal representative (单位负责人)
from bidding on the same lot, and the legal representative may be recorded on a different
lot than the one where the two firms meet.  The graph joins firms through every shared
attribute value seen anywhere in the market, so such a lot is still caught, and its
connected components give identity-linked groups with the shared values as evidence.
Only values shared by ≥ 2 firms become nodes, which keeps the graph small at 1 M bids.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import networkx as nx
import numpy as np

from monitoring.engine.rules import Findings, shared_values
from monitoring.engine.table import BidTable, isin_sorted, unique

logger = logging.getLogger(__name__)

#: identity column -> node kind in the evidence graph
NODE_KIND = {
    "legal_rep": "person", "project_manager": "person", "author": "person",
    "device": "device", "ip": "ip", "bond_account": "account",
    "phone": "contact", "email": "contact", "doc_hash": "document",
}
#: columns that describe the firm itself (hold across lots), as opposed to one bid
FIRM_LEVEL = ("legal_rep",)


def build(table: BidTable) -> nx.Graph:
    """Firm nodes ``("firm", id)`` linked to attribute nodes ``(column, value)`` they share
    with at least one other firm; edges carry the number of bids that used the value."""
    g = nx.Graph()
    nb = max(table.n_bidders, 1)
    for column, codes in table.attrs.items():
        rows = codes >= 0
        if not rows.any():
            continue
        pair, cnt = unique(codes[rows] * nb + table.bidder[rows], return_counts=True)
        code, firm = pair // nb, pair % nb
        vals, nfirms = unique(code, return_counts=True)
        keep = isin_sorted(code, vals[nfirms >= 2])
        values = table.attr_values[column]
        for c, f, n in zip(code[keep], firm[keep], cnt[keep], strict=True):
            node = (column, values[c])
            g.add_node(node, kind=NODE_KIND.get(column, column), field=column)
            g.add_node(("firm", table.bidder_ids[f]), kind="enterprise")
            g.add_edge(("firm", table.bidder_ids[f]), node, bids=int(n))
    return g


def firm_components(g: nx.Graph, fields: tuple[str, ...]) -> dict[str, int]:
    """Firm id -> component number, joining firms only through nodes of ``fields``."""
    keep = [n for n in g if n[0] == "firm" or n[0] in fields]
    sub = g.subgraph(keep)
    out: dict[str, int] = {}
    for i, comp in enumerate(c for c in nx.connected_components(sub) if len(c) > 2):
        firms = [n[1] for n in comp if n[0] == "firm"]
        if len(firms) >= 2:
            for f in firms:
                out[f] = i
    return out


def art34_rule(table: BidTable, g: nx.Graph, found: Findings) -> None:
    """Art.34: ≥ 2 bidders of one lot share a legal representative (anywhere in the data)."""
    comp = firm_components(g, FIRM_LEVEL)
    if not comp:
        return
    codes = np.array([comp.get(b, -1) for b in table.bidder_ids], dtype=np.int64)[table.bidder]
    for block, _, rows in shared_values(table, codes):
        bidders = sorted({table.bidder_ids[b] for b in table.bidder[rows]})
        reps = sorted({n[1] for f in bidders for n in g[("firm", f)] if n[0] == "legal_rep"})
        found.add(block, "ART34", {"field": "legal_rep", "value": reps, "bidders": bidders})


def identity_groups(g: nx.Graph) -> list[dict]:
    """Groups of firms linked by any shared identity value, with the values as evidence."""
    groups = []
    for comp in nx.connected_components(g):
        firms = sorted(n[1] for n in comp if n[0] == "firm")
        if len(firms) < 2:
            continue
        shared: dict[str, list[str]] = defaultdict(list)
        for n in comp:
            if n[0] != "firm":
                shared[n[0]].append(str(n[1]))
        groups.append({"members": firms,
                       "evidence": {"shared": {k: sorted(v)[:10] for k, v in shared.items()}}})
    return groups
