"""Marshmallow 4 schemas of the bidding API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


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
