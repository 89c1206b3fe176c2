"""Bidding pages: custodians' key shares; bidders' own bids, upload with progress, receipts, withdraw.

A bidder sees only its own organisation's bids: the list is filtered by organisation and each bid
page is an owner-only operation of the permission table."""
from __future__ import annotations

import json

from flask import Blueprint, Response, g, render_template, request, url_for
from flask_babel import gettext as _

from bidding import services
from bidding.models import Bid, KeyShare
from bidding.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from core.db import db
from core.pages import act
from core.permissions import PARAM_MODELS, permission
from trading.models import Lot

PARAM_MODELS.setdefault("bid_id", Bid)
bp = Blueprint("bidding_pages", __name__, url_prefix="/bidding", template_folder="templates",
               static_folder="static", static_url_path="/static")


@bp.get("/custody")
@permission("pages.bidding.custody")
def custody():
    """Shares sealed to you; the platform cannot read them, only your private key can."""
    return render_template("bidding/custody.html", shares=services.shares_of(user=g.user))


@bp.get("/custody/shares/<int:share_id>.json")
@permission("pages.bidding.share")
def share_download(share_id):
    share = db.session.get(KeyShare, share_id)
    body = json.dumps(share.record(), indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="share-lot{share.lot_id}-x{share.x}.json"'})


@bp.get("/bids")
@permission("pages.bidding.bids")
def bids():
    """My organisation's bids and the upload form (bidding/static/upload.js)."""
    lot_id = request.args.get("lot_id", type=int)
    return render_template("bidding/bids.html", bids=services.bids_of(organisation_id=g.user.organisation_id),
                           lot_id=lot_id)


@bp.get("/bids/<int:bid_id>")
@permission("pages.bidding.bid")
def bid(bid_id):
    row = db.session.get(Bid, bid_id)
    return render_template("bidding/bid.html", bid=row,
                           receipt_json=json.dumps(row.receipt, indent=2, ensure_ascii=False))


@bp.get("/bids/<int:bid_id>/receipt.json")
@permission("pages.bidding.bid")
def receipt_download(bid_id):
    row = db.session.get(Bid, bid_id)
    return Response(json.dumps(row.receipt, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="receipt-bid{row.id}.json"'})


@bp.post("/bids/<int:bid_id>/withdraw")
@permission("pages.bidding.bid_withdraw")
def bid_withdraw(bid_id):
    return act(lambda: services.withdraw_bid(bid=db.session.get(Bid, bid_id), actor=g.user),
               done=_("Your bid is withdrawn."), back=url_for("bidding_pages.bid", bid_id=bid_id))


@bp.post("/bids/<int:bid_id>/confirm")
@permission("pages.bidding.bid_confirm")
def bid_confirm(bid_id):
    """Re-confirm a bid after an amendment, as it stands (or upload a new package instead)."""
    return act(lambda: services.confirm_bid(bid=db.session.get(Bid, bid_id), actor=g.user),
               done=_("Your bid is confirmed against the amended documents."),
               back=url_for("bidding_pages.bid", bid_id=bid_id))


# --- the remote opening -------------------------------------------------------------------------

@bp.get("/opening/<int:lot_id>")
@permission("pages.bidding.hall")
def hall(lot_id):
    """The opening hall: live status (bidding/static/hall.js); every action goes through the API."""
    from bidding.permissions import in_opening
    from bidding.services import hall as hall_service
    from core.errors import NotFound
    from core.permissions import holds_grant

    lot = db.session.get(Lot, lot_id)
    try:
        state = hall_service.snapshot(lot_id=lot_id, user=g.user)
    except NotFound:
        state = None
    role = {"host": holds_grant(g.user, frozenset({"opening_host"}), lot),
            "bidder": g.user.role == "bidder" and in_opening(g.user, lot),
            "custodian": holds_grant(g.user, frozenset({"opening_host", "custodian"}), lot) and lot.unseal_remedy}
    return render_template("bidding/hall.html", lot=lot, state=state, role=role)


@bp.get("/opening/<int:lot_id>/record")
@permission("pages.bidding.record")
def opening_record(lot_id):
    """The public opening record: the final one, or the opening table while bidders confirm."""
    from bidding.services import record

    lot = db.session.get(Lot, lot_id)
    row = record.record_of(lot_id)
    return render_template("bidding/opening_record.html", lot=lot, record=row,
                           record_json=json.dumps({"body": row.body, "digest": row.digest, "kid": row.kid,
                                                   "signature": row.signature}, indent=2, ensure_ascii=False))
