"""The platform's own bids through the detector: identity matches between the bids of one lot.

When a lot stops taking bids, its standing bids are read (never changed: monitoring acts through
events, DESIGN §3) and the within-lot identity rules of 条例 第四十条 run over their evidence —
the submitting address, the device fingerprint of the package manifest and the bond payer
account.  Values shared by two different bidders raise ``monitoring.alert_raised`` with the
evidence, which supervisors receive.  A flag is not a legal finding: it tells a supervisor where
to look, and the evidence says why.

Only public addresses are evidence: a loopback, private or link-local one is a proxy's (with
``GGZY_TRUSTED_PROXIES`` not set, every bid would share it) or a network's inside, and says nothing
about who submitted.
"""
from __future__ import annotations

import ipaddress

from sqlalchemy import select

from bidding.models import Bid, BidBond
from core import events
from core.db import db
from monitoring.engine import rules
from monitoring.engine.table import from_columns

#: the rules that read the evidence a submission carries (packages are sealed until the opening)
AT_CLOSE = ("ip", "device", "bond_account")


def _address(ip: str) -> str | None:
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return str(parsed) if parsed.is_global else None


def _rows_of(bids, accounts: dict[int, str]) -> dict[str, list]:
    """One row per (bid, device component value): a manifest names several MACs and disks.

    :param accounts: organisation id → payer account of its bond on the lot, which may have been
        recorded after the bid (before the deadline); else the account the bid was submitted with
    """
    cols = {"tender_id": [], "bidder_id": [], "amount": [], "winner": [], **{c: [] for c in AT_CLOSE}}
    for bid in bids:
        devices = [f"{part}:{value}" for part, values in sorted((bid.device or {}).items())
                   for value in (values if isinstance(values, list) else [values]) if value]
        for device in devices or [None]:
            cols["tender_id"].append(str(bid.lot_id))
            cols["bidder_id"].append(str(bid.organisation_id))
            cols["amount"].append(float("nan"))  # sealed until the opening
            cols["winner"].append(False)
            cols["ip"].append(_address(bid.ip or ""))
            cols["device"].append(device)
            cols["bond_account"].append(accounts.get(bid.organisation_id) or bid.bond_payer_account or None)
    return cols


def identity_matches(lot_id: int) -> dict[str, list]:
    """Flag code → evidence items (``field``, ``value``, ``bidders`` as organisation ids)."""

    bids = db.session.scalars(select(Bid).where(Bid.lot_id == lot_id, Bid.state == "submitted")).all()
    if len({bid.organisation_id for bid in bids}) < 2:
        return {}
    accounts = dict(db.session.execute(select(BidBond.organisation_id, BidBond.payer_account)
                                       .where(BidBond.lot_id == lot_id)).all())
    table = from_columns(_rows_of(bids, accounts)).sort()
    found = rules.Findings(len(table.blocks()[1]))
    rules.identity_rules(table, found)
    return {flag: [{**item, "bidders": sorted(int(b) for b in item["bidders"])} for item in items]
            for flag, items in found.evidence[0].items()}


def check_lot_at_close(lot_id: int) -> dict[str, list]:
    """Run the identity rules over a closed lot and raise an alert when they match."""
    evidence = identity_matches(lot_id)
    if evidence:
        bidders = sorted({b for items in evidence.values() for item in items for b in item["bidders"]})
        events.record("monitoring.alert_raised", {
            "lot_id": lot_id, "kind": "identity_match", "flags": sorted(evidence), "bidder_org_ids": bidders,
            "evidence": evidence, "rule": "招标投标法实施条例 第四十条",
            "note": "a flag is not a legal finding; the evaluation committee and the supervisor decide"})
    return evidence
