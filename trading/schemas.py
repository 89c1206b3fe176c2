"""Marshmallow 4 schemas of the trading API (plain, explicit; money as decimal strings)."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.calendar import SHANGHAI
from core.schemas import MONEY_MAX, Money, money_range  # noqa: F401  (MONEY_MAX re-exported)
from trading.fsm import LotState
from trading.procedures import CATEGORIES, MODES
from trading.services.portal import NOTICE_KINDS

MONEY_RANGE = money_range
#: deadlines far outside the holiday table are typos; the table refuses uncovered years anyway
YEARS = validate.Range(min=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), max=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


def Instant(**kwargs) -> fields.AwareDateTime:
    """An ISO instant; without an offset it is read as Beijing time (what agencies type)."""
    return fields.AwareDateTime(default_timezone=SHANGHAI, validate=YEARS, **kwargs)


def Text(max_len: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_len), **kwargs)


class OpeningTermsSchema(Schema):
    """The tender's opening terms (trading/models.py ``Lot``), optional on create and update alike."""

    decrypt_window_minutes = fields.Integer(validate=validate.Range(min=5, max=240),
                                            metadata={"description": "unseal window at the opening (EBM Art.30)"})
    confirm_window_minutes = fields.Integer(validate=validate.Range(min=1, max=120),
                                            metadata={"description": "time to confirm or object to the opening table"})
    unseal_remedy = fields.Boolean(metadata={"description": "custodians may rebuild the opening key (EBM Art.31)"})
    opening_fields = fields.List(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}\Z")),
                                 validate=validate.Length(max=10),
                                 metadata={"description": "further opening-table fields besides name and price"})


class LotCreateSchema(OpeningTermsSchema):
    name = Text(200, required=True)
    estimate = Money(required=True, validate=MONEY_RANGE,
                     metadata={"type": "string", "description": "估算价 / 预算金额 (bond cap base)"})
    max_price = Money(load_default=None, validate=MONEY_RANGE, metadata={"type": "string"})
    bond_amount = Money(load_default=None, validate=MONEY_RANGE, metadata={"type": "string"})
    bid_deadline = Instant(required=True, metadata={"description": "= opening time (招标投标法 第三十四条)"})
    issue_end = Instant(load_default=None, metadata={"description": "end of the document issue; default: deadline"})
    invitees = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), load_default=list,
                           validate=validate.Length(max=200))


class LotUpdateSchema(OpeningTermsSchema):
    name = Text(200)
    estimate = Money(validate=MONEY_RANGE, metadata={"type": "string"})
    max_price = Money(allow_none=True, validate=MONEY_RANGE, metadata={"type": "string"})
    bond_amount = Money(allow_none=True, validate=MONEY_RANGE, metadata={"type": "string"})
    bid_deadline = Instant()
    issue_end = Instant(allow_none=True)
    invitees = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
                           validate=validate.Length(max=200))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("nothing to change")


class ProjectCreateSchema(Schema):
    name = Text(200, required=True)
    code = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}\Z"))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    mode = fields.String(load_default="open", validate=validate.OneOf(MODES))
    region = fields.String(required=True, validate=validate.Regexp(r"^\d{6}\Z"),
                           metadata={"description": "GB/T 2260 division code, e.g. 330203"})
    tenderee_name = Text(200, required=True)
    tenderee_contact = fields.String(load_default="", validate=validate.Length(max=200))
    funding = fields.String(load_default="", validate=validate.Length(max=200))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    lots = fields.List(fields.Nested(LotCreateSchema), required=True, validate=validate.Length(min=1, max=50))


class DocumentSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    amendment_id = fields.Integer(allow_none=True)
    uploaded_at = fields.DateTime()


class AmendmentSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    number = fields.Integer()
    title = fields.String()
    body = fields.String()
    issued_at = fields.DateTime()
    old_deadline = fields.DateTime()
    new_deadline = fields.DateTime()
    moved_by_rule = fields.Boolean()


class LotSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    number = fields.Integer()
    name = fields.String()
    state = fields.String()
    resume_state = fields.String(allow_none=True)
    state_reason = fields.String()
    estimate = Money()
    max_price = Money(allow_none=True)
    bond_amount = Money(allow_none=True)
    issue_start = fields.DateTime(allow_none=True)
    issue_end = fields.DateTime(allow_none=True)
    bid_deadline = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    decrypt_window_minutes = fields.Integer()
    confirm_window_minutes = fields.Integer()
    unseal_remedy = fields.Boolean()
    opening_fields = fields.List(fields.String())
    procedure = fields.Function(lambda lot: lot.project.procedure_key)
    project_name = fields.Function(lambda lot: lot.project.name)
    project_code = fields.Function(lambda lot: lot.project.code)
    region = fields.Function(lambda lot: lot.project.region)
    documents = fields.List(fields.Nested(DocumentSchema))
    amendments = fields.List(fields.Nested(AmendmentSchema))


class ProjectSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    category = fields.String()
    mode = fields.String()
    region = fields.String()
    tenderee_name = fields.String()
    tenderee_contact = fields.String()
    funding = fields.String()
    description = fields.String()
    agency_org_id = fields.Integer()
    lots = fields.List(fields.Nested(LotSchema))


class NoticeQuerySchema(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    region = fields.String(load_default="", validate=validate.Regexp(r"^(\d{2,6})?\Z"))
    category = fields.String(load_default="", validate=validate.OneOf(("", *CATEGORIES)))
    kind = fields.String(load_default="", validate=validate.OneOf(("", *NOTICE_KINDS)))
    date_from = fields.Date(load_default=None, validate=validate.Range(min=dt.date(2000, 1, 1),
                                                                       max=dt.date(2100, 1, 1)))
    date_to = fields.Date(load_default=None, validate=validate.Range(min=dt.date(2000, 1, 1),
                                                                     max=dt.date(2100, 1, 1)))


class NoticeSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    published_at = fields.DateTime()
    project_code = fields.String()
    project_name = fields.String()
    region = fields.String()
    category = fields.String()
    lot_state = fields.String()
    bid_deadline = fields.DateTime()


class TimelineItemSchema(Schema):
    at = fields.DateTime()
    kind = fields.String()
    action = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    text = fields.String()


class ReasonSchema(Schema):
    reason = Text(500, required=True)


class ResumeSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class PublishSchema(Schema):
    """Nothing to send: the schedule was set in the draft and is checked now."""


class AmendmentCreateSchema(Schema):
    title = Text(200, required=True)
    body = Text(20000, required=True)
    new_deadline = Instant(load_default=None, metadata={"description": "omit: moved by the 15-day rule if needed"})


class UploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class AmendmentUploadSchema(Schema):
    """Form fields of an amendment sent with a document (multipart)."""

    title = Text(200, required=True)
    body = Text(20000, required=True)
    new_deadline = Instant(load_default=None)


class DownloadSchema(Schema):
    id = fields.Integer()
    document_id = fields.Integer()
    user_id = fields.Integer()
    organisation_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class ObjectionCreateSchema(Schema):
    body = Text(10000, required=True)


class ObjectionAnswerSchema(Schema):
    answer = Text(10000, required=True)


class ObjectionSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    target = fields.String()
    body = fields.String()
    filed_at = fields.DateTime()
    reply_due = fields.DateTime()
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    is_open = fields.Boolean()


class BlacklistCreateSchema(Schema):
    subject_kind = fields.String(required=True, validate=validate.OneOf(("enterprise", "person")))
    name = Text(200, required=True)
    uscc = fields.String(load_default=None, validate=validate.Length(equal=18))
    id_number = fields.String(load_default=None, load_only=True, validate=validate.Length(min=6, max=30))
    reason = Text(5000, required=True)
    legal_basis = Text(300, required=True, metadata={"description": "e.g. 招标投标法实施条例 第六十七条"})
    decision = fields.String(load_default="", validate=validate.Length(max=300))
    starts_at = Instant(required=True)
    ends_at = Instant(load_default=None, metadata={"description": "omit: until lifted"})


class BlacklistSchema(Schema):
    id = fields.Integer()
    subject_kind = fields.String()
    name = fields.String()
    uscc = fields.String(allow_none=True)
    reason = fields.String()
    legal_basis = fields.String()
    decision = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class AuditItemSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String()
    ip = fields.String()
    action = fields.String()
    detail = fields.Dict()


class ConsoleQuerySchema(Schema):
    state = fields.String(load_default="", validate=validate.OneOf(("", *(str(x) for x in LotState))))
