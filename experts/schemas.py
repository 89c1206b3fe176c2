"""marshmallow 4 schemas of the experts API (explicit, no auto-schemas)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import Instant

HEX64 = validate.Regexp(r"^[0-9a-f]{64}\Z", error="64 lowercase hex digits")


class PartySchema(Schema):
    org_uscc = fields.String(load_default="")
    id_number = fields.String(load_default="", load_only=True)
    note = fields.String(load_default="")


class ExpertCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    id_number = fields.String(required=True, validate=validate.Length(6, 30))
    title = fields.String(required=True, validate=validate.Length(1, 60))
    senior_title = fields.Boolean(required=True)
    years = fields.Integer(required=True, validate=validate.Range(0, 80))
    employer_uscc = fields.String(required=True)
    employer_name = fields.String(load_default="")
    region = fields.String(required=True)
    specialties = fields.List(fields.String(), required=True, validate=validate.Length(1, 20))
    phone = fields.String(load_default="")
    attestation = fields.String(load_default="", validate=validate.Length(0, 500))
    relatives = fields.List(fields.Nested(PartySchema), load_default=list)
    interests = fields.List(fields.Nested(PartySchema), load_default=list)
    user_id = fields.Integer(load_default=None, allow_none=True)


class CreditEventSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True)
    detail = fields.String(load_default="")
    legal_basis = fields.String(load_default="")
    at = fields.DateTime(dump_only=True)


class CreditCreateSchema(CreditEventSchema):
    ban_until = Instant(load_default=None, allow_none=True)


class StatusSchema(Schema):
    status = fields.String(required=True)
    ban_until = Instant(load_default=None, allow_none=True)
    reason = fields.String(load_default="")


class ExpertSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    senior_title = fields.Boolean()
    years = fields.Integer()
    attestation = fields.String()
    employer_uscc = fields.String()
    employer_name = fields.String()
    region = fields.String()
    status = fields.String()
    ban_until = fields.DateTime(allow_none=True)
    specialties = fields.List(fields.String(), attribute="specialty_codes")
    credit_events = fields.List(fields.Nested(CreditEventSchema))


class SpecialtySchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z][0-9A-Z]{0,19}\Z"))
    name = fields.String(required=True, validate=validate.Length(1, 100))


class QuotaSchema(Schema):
    specialty = fields.String(required=True)
    count = fields.Integer(required=True, validate=validate.Range(1, 50))


class DrawCreateSchema(Schema):
    size = fields.Integer(required=True, validate=validate.Range(1, 99))
    tenderee_reps = fields.Integer(load_default=0, validate=validate.Range(0, 98))
    quotas = fields.List(fields.Nested(QuotaSchema), required=True, validate=validate.Length(1, 20))
    bidder_org_ids = fields.List(fields.Integer(validate=validate.Range(1, 2**31 - 1)), load_default=list)
    tenderee_uscc = fields.String(load_default="")
    supervising_usccs = fields.List(fields.String(), load_default=list)
    region_exclude = fields.List(fields.String(validate=validate.Regexp(r"^\d{2,6}\Z")), load_default=list)
    region_include = fields.List(fields.String(validate=validate.Regexp(r"^\d{2,6}\Z")), load_default=list)
    frequency_limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 1000))
    complex_project = fields.Boolean(load_default=False)
    social_impact = fields.Boolean(load_default=False)


class CommitSchema(Schema):
    commitment = fields.String(required=True, validate=HEX64)


class RevealSchema(Schema):
    contribution = fields.String(required=True, validate=HEX64)


class DeclineSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(0, 500))


class DeclarationSchema(Schema):
    conflict = fields.Boolean(required=True)
    bidder_org_ids = fields.List(fields.Integer(validate=validate.Range(1, 2**31 - 1)), load_default=list)


class SeatSchema(Schema):
    """A seat as its own expert sees it."""

    id = fields.Integer()
    specialty = fields.String()
    state = fields.String()
    respond_by = fields.DateTime()
    declared_no_conflict_at = fields.DateTime(allow_none=True)


class CommitteeSeatSchema(SeatSchema):
    """A seat as the draw operator sees it: with the expert's name and phone."""

    expert_id = fields.Integer()
    name = fields.String(attribute="expert.name")
    phone = fields.String(attribute="expert.phone")
    draw_id = fields.Integer()
    position = fields.Integer()
    replaced_by_id = fields.Integer(allow_none=True)

