"""Bidding pages: the custodian's list of key shares, each downloadable for local decryption."""
from __future__ import annotations

import json

from flask import Blueprint, Response, g, render_template

from bidding import services
from bidding.models import KeyShare
from bidding.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from core.db import db
from core.permissions import permission

bp = Blueprint("bidding_pages", __name__, url_prefix="/bidding", template_folder="templates")


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
