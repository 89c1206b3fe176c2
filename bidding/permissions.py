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
    # submission (issue 5): a bid, its upload and its receipt are the bidder organisation's alone
    "bidding.upload.create": _r(roles={"bidder"}, writes=True,
                                description="open a resumable upload of a package (declared size + SHA-256)"),
    "bidding.bids.submit": _r(roles={"bidder"}, writes=True,
                              description="submit a package of at most chunk_max bytes in one request"),
    "bidding.upload.read": _r(owner_roles={"bidder"}, description="status of your upload, for resuming"),
    "bidding.upload.write": _r(owner_roles={"bidder"}, writes=True, description="send one chunk of your upload"),
    "bidding.upload.finish": _r(owner_roles={"bidder"}, writes=True,
                                description="submit your uploaded package; returns the signed receipt"),
    "bidding.bids.list": _r(roles={"bidder"}, description="your organisation's bids"),
    "bidding.bids.read": _r(owner_roles={"bidder"}, description="one of your organisation's bids"),
    "bidding.bids.withdraw": _r(owner_roles={"bidder"}, writes=True, description="withdraw before the deadline"),
    "bidding.bids.confirm": _r(owner_roles={"bidder"}, writes=True,
                               description="re-confirm your bid after an amendment"),
    "bidding.receipts.read": _r(roles={"archivist"}, owner_roles={"bidder"},
                                description="a bid's platform-signed receipt"),
    "bidding.bonds.create": _r(roles={"bidder"}, writes=True, description="record your bid bond for a lot"),
    "bidding.bonds.list": _r(roles={"bidder"}, description="your organisation's bid bonds"),
    "bidding.bonds.read": _r(roles={"supervisor"}, owner_roles={"bidder"}, grants={"tenderee_rep"},
                             description="one bid bond (its payer account is collusion evidence)"),
    "bidding.bonds.refunded": _r(roles={"admin"}, grants={"tenderee_rep"}, writes=True,
                                 description="confirm a bond refund was paid"),
    "pages.bidding.bids": _r(roles={"bidder"}, description="my bids: list, upload with progress"),
    "pages.bidding.bid": _r(owner_roles={"bidder"}, description="one of my bids: receipt, withdraw"),
    "pages.bidding.bid_withdraw": _r(owner_roles={"bidder"}, writes=True, description="withdraw form"),
    "pages.bidding.custody": _r(roles=ANY_USER, description="custody page: your key shares"),
    "pages.bidding.share": _r(owner_roles=ANY_USER, description="download one of your encrypted shares"),
}

for _op, _rule in OPERATIONS.items():
    declare(_op, _rule)
