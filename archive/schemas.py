"""Marshmallow 4 schemas of the archive API."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from core.schemas import MAX_ID, Instant

_ID = validate.Range(min=1, max=MAX_ID)


def _chain(value: str) -> None:
    """``platform`` or ``lot:<id>`` with a real row id, so a ten-digit id past 2³¹−1 is a 422
    naming the field, not an integer overflow in the database."""
    match = re.fullmatch(r"platform|lot:(\d{1,10})", value)
    if match is None or (match[1] is not None and not 1 <= int(match[1]) <= MAX_ID):
        raise ValidationError(f"platform or lot:<id> with an id from 1 to {MAX_ID}")


class RecordQuerySchema(Schema):
    lot_id = fields.Integer(load_default=None, validate=_ID)
    party = fields.String(load_default=None, validate=validate.Regexp(r"^(org|user):\d{1,10}\Z"),
                          metadata={"description": "org:<id> or user:<id>"})
    event = fields.String(load_default=None, validate=validate.Length(min=1, max=60),
                          metadata={"description": "event name or prefix, e.g. bidding."})
    chain = fields.String(load_default=None, validate=_chain)
    since = Instant(load_default=None)
    until = Instant(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**6))


class AttachmentSchema(Schema):
    name = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()


class RecordSchema(Schema):
    id = fields.Integer()
    leaf_index = fields.Integer()
    chain = fields.String()
    seq = fields.Integer()
    lot_id = fields.Integer(allow_none=True)
    event_name = fields.String()
    event_id = fields.String()
    event_time = fields.DateTime()
    archived_at = fields.DateTime()
    category = fields.String()
    retain_until = fields.DateTime()
    confidential = fields.Boolean()
    payload_sha256 = fields.String()
    leaf_hash = fields.String()
    parties = fields.Function(lambda r: r.parties.split())
    attachments = fields.List(fields.Nested(AttachmentSchema))


class ProofSchema(Schema):
    leaf_index = fields.Integer()
    tree_size = fields.Integer()
    path = fields.List(fields.String())


class RecordDetailSchema(Schema):
    record = fields.Nested(RecordSchema)
    envelope = fields.Dict(metadata={"description": "the signed record: {payload, sig}"})
    proof = fields.Nested(ProofSchema)
    checkpoint = fields.Dict(metadata={"description": "the signed checkpoint the proof leads to"})


class ProofQuerySchema(Schema):
    tree_size = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**53))


class ConsistencyQuerySchema(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=0, max=2**53))
    second = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**53))


class ConsistencySchema(Schema):
    first = fields.Integer()
    second = fields.Integer()
    first_root = fields.String(allow_none=True)
    second_root = fields.String()
    path = fields.List(fields.String())


class BundleQuerySchema(Schema):
    lot_id = fields.Integer(load_default=None, validate=_ID)
    chain = fields.String(load_default=None, validate=_chain)


class LegalHoldSchema(Schema):
    on = fields.Boolean(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=200))


class SegmentSchema(Schema):
    key = fields.String()
    sha256 = fields.String()
    legal_hold = fields.Boolean()
    retain_until = fields.DateTime()


class VerifyReportSchema(Schema):
    valid = fields.Boolean()
    exit_code = fields.Integer()
    checks = fields.Dict()
    checkpoint = fields.Dict()
    scope = fields.Dict()
    records = fields.Integer()
