"""Bidding operations in the one permission table (core.permissions), declared at import."""
from __future__ import annotations

from core.permissions import ANY_USER, _r, declare

OPERATIONS = {
    "bidding.opening_key.read": _r(public=True, description="a lot's opening public key (bidders seal to it)"),
    "bidding.opening_key.create": _r(roles={"admin"}, grants={"opening_host"}, writes=True,
                                     description="make the opening key now (e.g. after custodians were "
                                                 "completed); idempotent"),
    "bidding.package.check": _r(roles={"bidder", "admin", "supervisor"},
                                description="check a sealed package against the lot without storing it"),
    "bidding.shares.list": _r(roles=ANY_USER, description="your own encrypted key shares"),
    "bidding.shares.read": _r(owner_roles=ANY_USER, description="one of your encrypted key shares"),
    "pages.bidding.custody": _r(roles=ANY_USER, description="custody page: your key shares"),
    "pages.bidding.share": _r(owner_roles=ANY_USER, description="download one of your encrypted shares"),
}

for _op, _rule in OPERATIONS.items():
    declare(_op, _rule)
