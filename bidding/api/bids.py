"""Bidding JSON API, the way in: opening keys, custodians' shares, the package check, uploads, bids,
receipts, bonds.  Thin (STYLE habit 3): parse, one service call, commit, serialise."""
from __future__ import annotations

import re

from flask import current_app, g, request
from flask.views import MethodView

from bidding import schemas as s
from bidding import services
from bidding.api.blueprint import blp
from bidding.models import Bid, BidBond, KeyShare, Upload
from bidding.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from core.db import db
from core.errors import NotFound, ValidationFailed
from core.events import commit
from core.permissions import PARAM_MODELS, permission
from trading.models import Lot

PARAM_MODELS.setdefault("lot_id", Lot)
PARAM_MODELS["share_id"] = KeyShare
PARAM_MODELS["upload_id"] = Upload
PARAM_MODELS["bid_id"] = Bid
PARAM_MODELS["bond_id"] = BidBond
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
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


# --- submission ---------------------------------------------------------------------------------

@blp.route("/lots/<int:lot_id>/uploads")
class UploadCreate(MethodView):
    @permission("bidding.upload.create")
    @blp.arguments(s.BidUploadCreateSchema)
    @blp.response(201, s.BidUploadSchema)
    @blp.alt_response(200, schema=s.BidUploadSchema, description="this package already stands as your bid: "
                      "its receipt is returned and nothing needs uploading")
    def post(self, body, lot_id):
        """Open a resumable upload: declare the package's size and SHA-256, then PUT its chunks."""
        upload, standing = services.start_upload(user=g.user, lot=db.session.get(Lot, lot_id), **body)
        commit()
        if standing is not None:
            return {"id": None, "lot_id": lot_id, "size": standing.size, "sha256": standing.package_sha256,
                    "state": "already_submitted", "bid_id": standing.id, "receipt": standing.receipt}, 200
        return services.upload_status(upload)


@blp.route("/lots/<int:lot_id>/bids")
class BidSubmit(MethodView):
    @permission("bidding.bids.submit")
    @blp.doc(requestBody=PACKAGE_BODY, parameters=[{"in": "header", "name": "X-Package-SHA256", "required": True,
                                                    "schema": {"type": "string"}}])
    @blp.response(201, s.BidSchema)
    @blp.alt_response(200, schema=s.BidSchema, description="this package already stands as your bid: "
                      "the same bid and receipt")
    def post(self, lot_id):
        """Submit a package of at most ``chunk_max`` bytes in one request (the body,
        application/octet-stream; X-Package-SHA256 its SHA-256): checked, stored and receipted as an
        upload's finish; the arrival of the last byte is the instant of submission.  Larger packages,
        or a client that wants to resume, use an upload."""
        digest = request.headers.get("X-Package-SHA256", "").strip().lower()
        if not _HEX64.match(digest):
            raise ValidationFailed("X-Package-SHA256 must be the package's SHA-256 (64 hex digits)",
                                   code="package_hash_required")
        request.max_content_length = services.uploads.chunk_max()
        bid, created = services.submit_package(user=g.user, lot=db.session.get(Lot, lot_id),
                                               stream=services.body.request_body(request),
                                               length=request.content_length, sha256=digest,
                                               ip=request.remote_addr or "", user_agent=request.user_agent.string)
        commit(keep=(bid,))  # the answer is the bid just written: no select of it again
        return bid, 201 if created else 200


@blp.route("/uploads/<upload_id>")
class UploadItem(MethodView):
    @permission("bidding.upload.read")
    @blp.response(200, s.BidUploadSchema)
    def get(self, upload_id):
        """Chunks received and ranges missing: resume by sending the missing ranges."""
        return services.upload_status(db.session.get(Upload, upload_id))

    @permission("bidding.upload.cancel")
    @blp.response(204)
    def delete(self, upload_id):
        """Abandon an unfinished upload: its chunks are removed at once (a finished upload is a bid:
        withdraw that instead, 409 ``upload_finished``)."""
        services.cancel_upload(upload=db.session.get(Upload, upload_id))
        commit()
        services.discard_chunks(upload_id)


@blp.route("/uploads/<upload_id>/chunks")
class UploadChunk(MethodView):
    @permission("bidding.upload.write")
    @blp.arguments(s.ChunkQuerySchema, location="query")
    @blp.doc(requestBody=PACKAGE_BODY, parameters=[{"in": "header", "name": "X-Chunk-SHA256", "required": True,
                                                    "schema": {"type": "string"}}])
    @blp.response(200, s.ChunkSchema)
    def put(self, query, upload_id):
        """Store the request body (application/octet-stream) at ``offset``; its SHA-256 must match
        the X-Chunk-SHA256 header.  Sending the same chunk again is harmless."""
        digest = request.headers.get("X-Chunk-SHA256", "").strip().lower()
        if not _HEX64.match(digest):
            raise ValidationFailed("X-Chunk-SHA256 must be the chunk's SHA-256 (64 hex digits)",
                                   code="chunk_hash_required")
        request.max_content_length = services.uploads.chunk_max()
        return services.put_chunk(upload=db.session.get(Upload, upload_id), offset=query["offset"],
                                  length=request.content_length, sha256=digest,
                                  stream=services.body.request_body(request))


@blp.route("/uploads/<upload_id>/finish")
class UploadFinish(MethodView):
    @permission("bidding.upload.finish")
    @blp.response(201, s.BidSchema)
    @blp.alt_response(200, schema=s.BidSchema, description="identical retry: the same bid and receipt")
    def post(self, upload_id):
        """Submit: the server clock judges the deadline; the package is checked and stored, and the
        platform-signed receipt returned (电子招标投标办法 第二十七条)."""
        upload = db.session.get(Upload, upload_id)
        bid, created = services.finish_upload(upload=upload, actor=g.user, ip=request.remote_addr or "",
                                              user_agent=request.user_agent.string)
        commit()
        services.discard_chunks(upload_id)
        return bid, 201 if created else 200


@blp.route("/bids")
class BidList(MethodView):
    @permission("bidding.bids.list")
    @blp.arguments(s.BidQuerySchema, location="query")
    @blp.response(200, s.BidSchema(many=True))
    def get(self, query):
        """Your organisation's bids (never anyone else's)."""
        return services.bids_of(organisation_id=g.user.organisation_id, lot_id=query["lot_id"])


@blp.route("/bids/<int:bid_id>")
class BidItem(MethodView):
    @permission("bidding.bids.read")
    @blp.response(200, s.BidSchema)
    def get(self, bid_id):
        """One of your organisation's bids."""
        return db.session.get(Bid, bid_id)


@blp.route("/bids/<int:bid_id>/receipt")
class BidReceipt(MethodView):
    @permission("bidding.package.receipts.read")
    @blp.response(200, s.ReceiptSchema)
    def get(self, bid_id):
        """The receipt exactly as issued; verify it with ``ggzy bid verify-receipt``."""
        return db.session.get(Bid, bid_id).receipt


@blp.route("/bids/<int:bid_id>/withdraw")
class BidWithdraw(MethodView):
    @permission("bidding.bids.withdraw")
    @blp.response(200, s.BidSchema)
    def post(self, bid_id):
        """Withdraw before the deadline (招标投标法 第二十九条); the bond falls due for refund."""
        bid = services.withdraw_bid(bid=db.session.get(Bid, bid_id), actor=g.user)
        commit()
        return bid


@blp.route("/bids/<int:bid_id>/confirm")
class BidConfirm(MethodView):
    @permission("bidding.bids.confirm")
    @blp.response(200, s.BidSchema)
    def post(self, bid_id):
        """Confirm your standing bid after an amendment (or submit a new package instead)."""
        bid = services.confirm_bid(bid=db.session.get(Bid, bid_id), actor=g.user)
        commit()
        return bid


@blp.route("/lots/<int:lot_id>/bonds")
class BondCreate(MethodView):
    @permission("bidding.bonds.create")
    @blp.arguments(s.BondCreateSchema)
    @blp.response(201, s.BondSchema)
    def post(self, body, lot_id):
        """Record your bid bond (≤ 2 % of the estimate, 招标投标法实施条例 第二十六条)."""
        bond = services.record_bond(actor=g.user, lot=db.session.get(Lot, lot_id), **body)
        commit()
        return bond


@blp.route("/bonds")
class BondList(MethodView):
    @permission("bidding.bonds.list")
    @blp.response(200, s.BondSchema(many=True))
    def get(self):
        """Your organisation's bid bonds."""
        return services.bonds_of(organisation_id=g.user.organisation_id)


@blp.route("/bonds/<int:bond_id>")
class BondItem(MethodView):
    @permission("bidding.bonds.read")
    @blp.response(200, s.BondSchema)
    def get(self, bond_id):
        """One bid bond."""
        return db.session.get(BidBond, bond_id)


@blp.route("/bonds/<int:bond_id>/refunded")
class BondRefunded(MethodView):
    @permission("bidding.bonds.refunded")
    @blp.response(200, s.BondSchema)
    def post(self, bond_id):
        """The tenderee confirms the refund was paid."""
        bond = services.mark_refunded(bond=db.session.get(BidBond, bond_id), actor=g.user)
        commit()
        return bond

