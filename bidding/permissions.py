"""Bidding operations in the one permission table (core.permissions), declared at import."""
from __future__ import annotations

from core.permissions import ANY_USER, RULE_WHO_BIDS, _r, declare
from trading.models import Lot
from trading.permissions import after_deadline


def past_deadline(_user, obj) -> bool:
    """A bid's receipt or bond names its bidder: readable through a role (archivist, supervisor)
    only once the lot's bid deadline has passed (RULE_WHO_BIDS); its owner reads it at any time."""
    from core.db import db

    return obj is not None and after_deadline(db.session.get(Lot, obj.lot_id))


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
    "bidding.upload.cancel": _r(owner_roles={"bidder"}, writes=True,
                                description="abandon your unfinished upload; its chunks are removed"),
    "bidding.upload.finish": _r(owner_roles={"bidder"}, writes=True,
                                description="submit your uploaded package; returns the signed receipt"),
    "bidding.bids.list": _r(roles={"bidder"}, description="your organisation's bids"),
    "bidding.bids.read": _r(owner_roles={"bidder"}, hidden=True, description="one of your organisation's bids"),
    "bidding.bids.withdraw": _r(owner_roles={"bidder"}, writes=True, hidden=True,
                                description="withdraw before the deadline"),
    "bidding.bids.confirm": _r(owner_roles={"bidder"}, writes=True, hidden=True,
                               description="re-confirm your bid after an amendment"),
    "bidding.package.receipts.read": _r(roles={"archivist"}, owner_roles={"bidder"}, when=past_deadline, hidden=True,
                                cite=RULE_WHO_BIDS,
                                description="a bid's platform-signed receipt"),
    "bidding.bonds.create": _r(roles={"bidder"}, writes=True, description="record your bid bond for a lot"),
    "bidding.bonds.list": _r(roles={"bidder"}, description="your organisation's bid bonds"),
    "bidding.bonds.read": _r(roles={"supervisor"}, owner_roles={"bidder"}, grants={"tenderee_rep"},
                             when=past_deadline, hidden=True, cite=RULE_WHO_BIDS,
                             description="one bid bond (its payer account is collusion evidence)"),
    "bidding.bonds.refunded": _r(roles={"admin"}, grants={"tenderee_rep"}, writes=True, hidden=True,
                                 description="confirm a bond refund was paid"),
    "pages.bidding.bids": _r(roles={"bidder"}, description="my bids: list, upload with progress"),
    "pages.bidding.bid": _r(owner_roles={"bidder"}, hidden=True, description="one of my bids: receipt, withdraw"),
    "pages.bidding.bid_withdraw": _r(owner_roles={"bidder"}, writes=True, hidden=True, description="withdraw form"),
    "pages.bidding.bid_confirm": _r(owner_roles={"bidder"}, writes=True, hidden=True,
                                    description="re-confirm form after an amendment"),
    "pages.bidding.custody": _r(roles=ANY_USER, description="custody page: your key shares"),
    "pages.bidding.share": _r(owner_roles=ANY_USER, description="download one of your encrypted shares"),
}

for _op, _rule in OPERATIONS.items():
    declare(_op, _rule)


def in_opening(user, obj) -> bool:
    """A bidder takes part in an opening only if its organisation had a bid extracted for it."""
    from sqlalchemy import select

    from bidding.models import Unsealing
    from core.db import db

    if user.role != "bidder":
        return True
    lot_id = getattr(obj, "lot_id", None)
    return lot_id is not None and db.session.scalar(select(Unsealing.bid_id).where(
        Unsealing.lot_id == lot_id, Unsealing.organisation_id == user.organisation_id).limit(1)) is not None


_HALL = "电子招标投标办法 第二十九条 (投标人在线参加开标)"
_WATCHERS = {"grants": {"opening_host", "tenderee_rep", "custodian"}, "when": in_opening, "cite": _HALL}
#: the remote opening (issue 6): the hall is for the lot's bidders, its host, custodians and supervisors
OPENING_OPERATIONS = {
    "bidding.hall.read": _r(roles={"bidder", "supervisor"}, **_WATCHERS,
                            description="the opening hall's state (the live stream's polling fallback)"),
    "bidding.hall.stream": _r(roles={"bidder", "supervisor"}, **_WATCHERS,
                              description="the opening hall's live status (server-sent events)"),
    "bidding.hall.sign_in": _r(roles={"bidder"}, writes=True, when=in_opening, cite=_HALL,
                               description="sign in to the opening hall (bidder, key, IP, time recorded)"),
    "bidding.hall.list": _r(grants={"opening_host"}, writes=True, cite=_HALL,
                            description="publish the list of bidders who submitted in time, with bond status"),
    "bidding.hall.window": _r(grants={"opening_host"}, writes=True, cite=_HALL,
                              description="open the unseal window"),
    "bidding.hall.close": _r(grants={"opening_host"}, writes=True, cite=_HALL,
                             description="close the unseal window once no bid is pending"),
    "bidding.hall.unseal": _r(roles={"bidder"}, writes=True, when=in_opening, cite=_HALL,
                              description="unseal your bid: send its data key"),
    "bidding.hall.remedy": _r(grants={"opening_host", "custodian"}, writes=True, cite=_HALL,
                              description="send your decrypted opening-key share for the remedy plan"),
    "bidding.record.read": _r(public=True, description="the signed opening record (public)"),
    "bidding.record.confirm": _r(roles={"bidder"}, writes=True, when=in_opening, cite=_HALL,
                                 description="confirm the opening table with your organisation's signature"),
    "bidding.record.object": _r(roles={"bidder"}, writes=True, when=in_opening, cite=_HALL,
                                description="raise an objection to the opening on the spot"),
    "bidding.record.answer": _r(grants={"opening_host"}, writes=True, cite=_HALL,
                                description="answer an objection on the spot"),
    "bidding.record.finish": _r(grants={"opening_host"}, writes=True, cite=_HALL,
                                description="close the opening record"),
    "pages.bidding.hall": _r(roles={"bidder", "supervisor"}, **_WATCHERS, description="the opening hall page"),
    "pages.bidding.record": _r(public=True, description="the public opening record page"),
}

for _op, _rule in OPENING_OPERATIONS.items():
    declare(_op, _rule)
