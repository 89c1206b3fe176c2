"""Marshmallow 4 schemas of the bidding API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import Money, money_range


class OpeningKeySchema(Schema):
    lot_id = fields.Integer()
    kid = fields.String(metadata={"description": "x25519:<first 16 hex of SHA-256 of the key>"})
    public_key = fields.String(metadata={"description": "base64 of the raw 32-byte X25519 public key"})
    threshold = fields.Integer()
    created_at = fields.DateTime()


class KeyShareSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    opening_key_id = fields.String()
    slot = fields.String()
    x = fields.Integer()
    recipient_kid = fields.String()
    ephemeral_public_key = fields.String()
    ciphertext = fields.String()
    created_at = fields.DateTime()


class ShareQuerySchema(Schema):
    lot_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


class PackageCheckSchema(Schema):
    lot_id = fields.Integer()
    valid = fields.Boolean()
    bidder_key_id = fields.String()
    organisation_id = fields.Integer()
    opening_key_id = fields.String()
    files = fields.Integer(metadata={"description": "documents in the package (info record excluded)"})
    ciphertext_size = fields.Integer()
    ciphertext_sha256 = fields.String()
    device = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    tool = fields.Dict(keys=fields.String(), values=fields.String())


# --- submission -----------------------------------------------------------------------------------

_HEX64 = validate.Regexp(r"^[0-9a-f]{64}\Z", error="64 lower-case hex digits")
_ID = validate.Range(min=1, max=2**31 - 1)


class BidUploadCreateSchema(Schema):
    size = fields.Integer(required=True, validate=validate.Range(min=1, max=2**40),
                          metadata={"description": "the package's exact size in bytes"})
    sha256 = fields.String(required=True, validate=_HEX64, metadata={"description": "SHA-256 of the whole package"})


class ChunkQuerySchema(Schema):
    offset = fields.Integer(required=True, validate=validate.Range(min=0, max=2**40),
                            metadata={"description": "byte offset of this chunk in the package (client-chosen)"})


class ChunkSchema(Schema):
    offset = fields.Integer()
    length = fields.Integer()
    sha256 = fields.String()


class RangeSchema(Schema):
    offset = fields.Integer()
    length = fields.Integer()


class BidSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    state = fields.String(metadata={"description": "submitted | replaced | withdrawn"})
    package_sha256 = fields.String()
    size = fields.Integer()
    received_at = fields.DateTime()
    replaces_id = fields.Integer(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    needs_reconfirmation = fields.Boolean(
        metadata={"description": "an amendment was issued after this bid: confirm it or submit a new package"})
    confirmed_at = fields.DateTime(allow_none=True)
    receipt = fields.Dict(metadata={"description": "the platform-signed receipt (ggzy bid verify-receipt)"})


class BidUploadSchema(Schema):
    id = fields.String(allow_none=True, metadata={"description": "null when the package already stands as a bid"})
    lot_id = fields.Integer()
    size = fields.Integer()
    sha256 = fields.String()
    state = fields.String(metadata={"description": "open | finished | already_submitted"})
    bid_id = fields.Integer(allow_none=True)
    chunk_max = fields.Integer(metadata={"description": "largest chunk the server accepts"})
    received_bytes = fields.Integer()
    chunks = fields.List(fields.Nested(ChunkSchema))
    missing = fields.List(fields.Nested(RangeSchema))
    receipt = fields.Dict(allow_none=True)


class BidQuerySchema(Schema):
    lot_id = fields.Integer(load_default=None, validate=_ID)


class BondCreateSchema(Schema):
    amount = Money(required=True, validate=money_range,
                   metadata={"type": "string", "format": "decimal", "description": "yuan, two decimals"})
    method = fields.String(required=True, validate=validate.OneOf(["transfer", "guarantee"]))
    payer_account = fields.String(required=True, validate=validate.Length(min=6, max=80))
    payer_uscc = fields.String(required=True, validate=validate.Length(equal=18))
    payer_name = fields.String(load_default="", validate=validate.Length(max=200))
    reference = fields.String(load_default="", validate=validate.Length(max=100))


class BondSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    organisation_id = fields.Integer()
    amount = fields.Decimal(places=2, as_string=True, metadata={"type": "string"})
    method = fields.String()
    payer_account = fields.String()
    payer_uscc = fields.String()
    payer_name = fields.String()
    reference = fields.String()
    recorded_at = fields.DateTime()
    state = fields.String(metadata={"description": "held | refund_due | refunded"})
    refund_due_at = fields.DateTime(allow_none=True)
    refund_reason = fields.String()
    refunded_at = fields.DateTime(allow_none=True)


class ReceiptSchema(Schema):
    """The signed receipt; every field is covered by ``signature`` (bidding/package/receipts.py)."""

    type = fields.String()
    v = fields.Integer()
    receipt_id = fields.String()
    bid_id = fields.Integer()
    lot_id = fields.Integer()
    organisation_id = fields.Integer()
    bidder_uscc = fields.String()
    package_sha256 = fields.String()
    size = fields.Integer()
    ciphertext_sha256 = fields.String()
    signer_kid = fields.String()
    received_at = fields.String(metadata={"description": "server time, UTC, microseconds"})
    platform_kid = fields.String()
    signature = fields.String()


# --- the remote opening -------------------------------------------------------------------------

class HallBidderSchema(Schema):
    bid_id = fields.Integer()
    organisation_id = fields.Integer()
    organisation = fields.String()
    status = fields.String(metadata={"description": "pending | unsealed | failed | timed_out"})
    cause = fields.String(allow_none=True, metadata={"description": "bidder | platform (电子招标投标办法 第三十一条)"})
    attempts = fields.Integer()
    signed_in = fields.Boolean()
    own = fields.Boolean()
    bond = fields.String(allow_none=True)
    price = fields.String(allow_none=True, metadata={"description": "only once the opening table is published"})
    fields_ = fields.Dict(attribute="fields", data_key="fields")
    detail = fields.String()


class HallResponseSchema(Schema):
    id = fields.Integer()
    organisation = fields.String()
    kind = fields.String()
    text = fields.String(allow_none=True)
    answer = fields.String(allow_none=True)
    at = fields.String()


class HallSchema(Schema):
    """The hall as the caller may see it; the live stream sends the same document on every change."""

    lot_id = fields.Integer()
    stage = fields.String(metadata={"description": "waiting | listed | unsealing | confirming | closed"})
    version = fields.Integer()
    started_at = fields.String(allow_none=True)
    listed_at = fields.String(allow_none=True)
    window_opens_at = fields.String(allow_none=True)
    window_closes_at = fields.String(allow_none=True)
    confirm_until = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    remedy_used = fields.Boolean()
    server_time = fields.String()
    bidders = fields.List(fields.Nested(HallBidderSchema))
    table_digest = fields.String(allow_none=True)
    responses = fields.List(fields.Nested(HallResponseSchema))


class SignInSchema(Schema):
    key_id = fields.String(load_default="", validate=validate.Length(max=40),
                           metadata={"description": "the key your tool will unseal and sign with"})


class UnsealSchema(Schema):
    data_key = fields.String(required=True, validate=validate.Length(min=40, max=64),
                             metadata={"description": "the package's data key, base64 (ggzy bid unseal --submit)"})


class UnsealingSchema(Schema):
    bid_id = fields.Integer()
    status = fields.String()
    cause = fields.String(allow_none=True)
    detail = fields.String()
    attempts = fields.Integer()
    unsealed_at = fields.DateTime(allow_none=True)


class RemedyShareSchema(Schema):
    share = fields.String(required=True, validate=validate.Length(min=10, max=1000),
                          metadata={"description": "your decrypted share (ggzy bid custody decrypt-share)"})


class RemedyResultSchema(Schema):
    shares = fields.Integer()
    unsealed = fields.List(fields.Integer())


class OpeningRecordSchema(Schema):
    lot_id = fields.Integer()
    kind = fields.String(metadata={"description": "table (confirm this) | final"})
    body = fields.Dict()
    digest = fields.String(metadata={"description": "SHA-256 of the RFC 8785 body: what bidders sign"})
    signature = fields.String()
    kid = fields.String()
    published_at = fields.DateTime()


class RecordQuerySchema(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(["table", "final"]))


class OpeningConfirmSchema(Schema):
    key_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    signature = fields.String(required=True, validate=validate.Length(min=80, max=100),
                              metadata={"description": "Ed25519 over 'ggzy-opening-confirm-v1\\n' + digest"})


class OpeningObjectionSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class OpeningAnswerSchema(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class RecordResponseSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    organisation_id = fields.Integer()
    kind = fields.String()
    key_id = fields.String()
    text = fields.String()
    answer = fields.String()
    at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
