"""Bidding JSON API: opening keys, custodians' shares, the package check.  Thin (STYLE habit 3)."""
from __future__ import annotations

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from bidding import schemas as s
from bidding import services
from bidding.models import KeyShare
from bidding.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from core.db import db
from core.errors import NotFound
from core.events import commit
from core.permissions import PARAM_MODELS, permission
from trading.models import Lot

blp = Blueprint("bidding", __name__, url_prefix="/api/bidding",
                description="Sealed bid packages and opening-key custody")
PARAM_MODELS.setdefault("lot_id", Lot)
PARAM_MODELS["share_id"] = KeyShare
PACKAGE_BODY = {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}


@blp.route("/lots/<int:lot_id>/opening-key")
class OpeningKeyItem(MethodView):
    @permission("bidding.opening_key.read")
    @blp.response(200, s.OpeningKeySchema)
    def get(self, lot_id):
        """The lot's opening public key: seal bids to it (409 until it exists)."""
        return services.opening_key(lot_id=lot_id)

    @permission("bidding.opening_key.create")
    @blp.response(201, s.OpeningKeySchema)
    def post(self, lot_id):
        """Make the opening key now and seal its shares to the custodians (idempotent)."""
        row = services.create_opening_key(lot_id=lot_id, actor=g.user)
        commit()
        return row


@blp.route("/lots/<int:lot_id>/package-check")
class PackageCheck(MethodView):
    @permission("bidding.package.check")
    @blp.doc(requestBody=PACKAGE_BODY)
    @blp.response(200, s.PackageCheckSchema)
    def post(self, lot_id):
        """Check a sealed package (the request body, application/octet-stream) without storing it;
        a refusal is a 422 naming the failed check (电子招标投标办法 第二十六条)."""
        request.max_content_length = current_app.config.get("GGZY_PACKAGE_MAX_BYTES", 2 * 1024**3)
        own = g.user.organisation_id if g.user.role == "bidder" else None
        return services.validate_package(lot_id=lot_id, stream=request.stream, organisation_id=own)


@blp.route("/shares")
class ShareList(MethodView):
    @permission("bidding.shares.list")
    @blp.arguments(s.ShareQuerySchema, location="query")
    @blp.response(200, s.KeyShareSchema(many=True))
    def get(self, query):
        """Your encrypted opening-key shares; decrypt them locally (``ggzy bid custody decrypt-share``)."""
        return services.shares_of(user=g.user, lot_id=query["lot_id"])


@blp.route("/shares/<int:share_id>")
class ShareItem(MethodView):
    @permission("bidding.shares.read")
    @blp.response(200, s.KeyShareSchema)
    def get(self, share_id):
        """One of your encrypted shares."""
        share = db.session.get(KeyShare, share_id)
        if share is None:
            raise NotFound(f"share {share_id} not found")
        return share
