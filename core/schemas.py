"""Marshmallow 4 schemas of the foundation's API, and shared field types."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate

from core.models import GRANTS, ORG_KINDS, ROLES

MONEY_MAX = Decimal("999999999999.99")
CENT = Decimal("0.01")


def money_range(value: Decimal) -> None:
    """0.01 … 999,999,999,999.99 (Numeric(14,2)); a function, not ``Range``, because apispec would
    document numeric bounds on what the OpenAPI document says is a string."""
    if not Decimal("0.01") <= value <= MONEY_MAX:
        raise ValidationError(f"an amount from 0.01 to {MONEY_MAX}")


def _finer_than_cents(number: Decimal) -> bool:
    try:
        return number != number.quantize(CENT, rounding=ROUND_DOWN)
    except InvalidOperation:  # too many digits for any amount: fields.Decimal refuses it as invalid
        return False


class Money(fields.Decimal):
    """Money travels as a decimal string (never a float) and is documented as one.

    Input is exact or refused: a JSON float (``0.1`` is not 0.1 in binary) and anything finer than a
    cent are 422s, where ``fields.Decimal`` would round them quietly (19,999.995 would be stored as
    20,000.00, past the cap it was checked against)."""

    default_error_messages = {"float": "send money as a decimal string, e.g. \"20000.00\", not a JSON number "
                                       "with a fraction",
                              "cents": "at most two decimal places (cents)"}

    def __init__(self, **kwargs):
        kwargs.setdefault("places", 2)
        kwargs.setdefault("metadata", {"type": "string", "format": "decimal"})
        super().__init__(as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float | bool):
            raise self.make_error("float")
        try:
            exact = Decimal(str(value).strip())  # as sent, before fields.Decimal rounds it to ``places``
        except (InvalidOperation, ValueError):
            exact = None  # fields.Decimal refuses it with its own message
        if exact is not None and exact.is_finite() and exact.as_tuple().exponent < -2 and _finer_than_cents(exact):
            raise self.make_error("cents")
        return super()._deserialize(value, attr, data, **kwargs)


#: instants a query or a record may name: far enough either way for any real date, near enough that
#: converting to UTC (and storing) can never overflow (year 1 at +01:00 is before datetime.min in UTC)
INSTANTS = validate.Range(min=dt.datetime(1900, 1, 1, tzinfo=dt.UTC), max=dt.datetime(9000, 1, 1, tzinfo=dt.UTC))


def Instant(**kwargs) -> fields.AwareDateTime:
    """An ISO instant within :data:`INSTANTS`; without an offset it is read as UTC."""
    return fields.AwareDateTime(default_timezone=dt.UTC, validate=INSTANTS, **kwargs)


MAX_ID = 2**31 - 1


class Id(fields.Integer):
    """A row id: 1 … 2³¹−1 (a PostgreSQL integer), so a huge number is a 422, not a database error."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


class TokenCreateSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    totp = fields.String(load_default=None, validate=validate.Length(max=10))
    name = fields.String(load_default="api", validate=validate.Length(min=1, max=100))


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "shown once; store it safely"})


class PersonSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    id_number = fields.String(load_only=True, validate=validate.Length(max=30))
    share = fields.String(validate=validate.Regexp(r"^\d{1,3}(\.\d{1,4})?\Z"))
    uscc = fields.String(validate=validate.Length(equal=18))


class ContactSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=validate.Length(max=30))
    email = fields.Email()


class OrganisationCreateSchema(Schema):
    #: only bounded here: the service checks length, characters and check digit and names GB 32100-2015
    uscc = fields.String(required=True, validate=validate.Length(max=40))
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(load_default="enterprise", validate=validate.OneOf(ORG_KINDS))
    region = fields.String(load_default="", validate=validate.Regexp(r"^(\d{6})?\Z"))
    legal_rep = fields.Nested(PersonSchema, load_default=None)
    shareholders = fields.List(fields.Nested(PersonSchema), load_default=list)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list)


class OrganisationSchema(Schema):
    id = fields.Integer()
    uscc = fields.String()
    name = fields.String()
    kind = fields.String()
    region = fields.String()
    legal_rep = fields.Dict()
    shareholders = fields.List(fields.Dict())
    contacts = fields.List(fields.Dict())


class UserCreateSchema(Schema):
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    organisation_id = Id(load_default=None)


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    totp_confirmed = fields.Boolean()


class GrantCreateSchema(Schema):
    grant = fields.String(required=True, validate=validate.OneOf(GRANTS))
    scope_id = Id(required=True)


class GrantSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    grant = fields.String()
    scope_type = fields.String()
    scope_id = fields.Integer()


class MeSchema(UserSchema):
    organisation = fields.Nested(OrganisationSchema, allow_none=True)
    grants = fields.List(fields.Nested(GrantSchema))


class ChallengeSchema(Schema):
    challenge = fields.String()
    platform_encryption_key = fields.String(metadata={"description": "X25519, for encrypt-key proofs"})


class KeyQuerySchema(Schema):
    organisation_id = Id(load_default=None)
    user_id = Id(load_default=None)


class KeyRegisterSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["sign", "encrypt"]))
    public_key = fields.String(required=True, validate=validate.Length(min=40, max=64))
    challenge = fields.String(required=True, validate=validate.Length(max=400))
    proof = fields.String(required=True, validate=validate.Length(max=200))
    owner = fields.String(load_default="organisation", validate=validate.OneOf(["organisation", "user"]))
    valid_days = fields.Integer(load_default=730, validate=validate.Range(min=1, max=1830))


class KeyRevokeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class PublicKeySchema(Schema):
    id = fields.Integer()
    kid = fields.String()
    kind = fields.String()
    algorithm = fields.String()
    public_key = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String()


class NotificationSchema(Schema):
    id = fields.Integer()
    subject = fields.String()
    body = fields.String()
    link = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class AuditQuerySchema(Schema):
    object_type = fields.String(load_default=None, validate=validate.Length(max=40))
    object_id = fields.String(load_default=None, validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String()
    ip = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    detail = fields.Dict()


class ClockAdvanceSchema(Schema):
    hours = fields.Float(required=True, validate=validate.Range(min=0, max=24 * 60))


class ClockSchema(Schema):
    now = fields.DateTime()
