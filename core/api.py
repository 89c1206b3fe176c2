"""The foundation's JSON API: tokens, identity, keys, notifications, audit, demo clock.

Thin: parse, check the permission, call one service, commit, serialise (STYLE habit 3).
"""
from __future__ import annotations

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core import clock, identity, keys, notifications, second_factor
from core import schemas as s
from core.audit import disclosed
from core.db import db, get_or_404
from core.errors import DomainError, ValidationFailed
from core.events import commit
from core.models import ApiToken, AuditLog, Notification, Organisation, User
from core.permissions import PARAM_MODELS, permission, require

blp = Blueprint("core", __name__, url_prefix="/api", description="Identity, keys, notifications, audit")
PARAM_MODELS.update({"org_id": Organisation, "user_id": User, "token_id": ApiToken,
                     "key_id": keys.PublicKey, "notification_id": Notification})


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @permission("auth.token.create")
    @blp.arguments(s.TokenCreateSchema)
    @blp.response(201, s.IssuedTokenSchema)
    def post(self, data):
        """Exchange e-mail, password (and one-time code where required) for an API token."""
        try:
            user = identity.authenticate(email=data["email"], password=data["password"],
                                         ip=request.remote_addr or "", totp_code=data["totp"])
        except DomainError:
            commit()  # keep the failed-attempt row for the rate limit (the error handler rolls back)
            raise
        second_factor.require_enrolled_second_factor(user)
        row, clear = identity.issue_token(user=user, name=data["name"])
        commit()
        row.token = clear  # shown once, never stored
        return row


@blp.route("/me")
class Me(MethodView):
    @permission("me.read")
    @blp.response(200, s.MeSchema)
    def get(self):
        """The signed-in user, organisation and grants."""
        return g.user


@blp.route("/tokens")
class TokenList(MethodView):
    @permission("tokens.list")
    @blp.response(200, s.TokenSchema(many=True))
    def get(self):
        """Own API tokens (never their values)."""
        return db.session.scalars(select(ApiToken).where(ApiToken.user_id == g.user.id)).all()


@blp.route("/tokens/<int:token_id>/revoke")
class TokenRevoke(MethodView):
    @permission("tokens.revoke")
    @blp.response(200, s.TokenSchema)
    def post(self, token_id):
        """Revoke one of your tokens."""
        token = get_or_404(ApiToken, token_id)
        identity.revoke_token(token=token)
        commit()
        return token


@blp.route("/organisations")
class Organisations(MethodView):
    @permission("organisations.list")
    @blp.response(200, s.OrganisationSchema(many=True))
    def get(self):
        """All registered organisations."""
        return db.session.scalars(select(Organisation).order_by(Organisation.id)).all()

    @permission("organisations.create")
    @blp.arguments(s.OrganisationCreateSchema)
    @blp.response(201, s.OrganisationSchema)
    def post(self, data):
        """Register an organisation; the USCC check digit is verified (GB 32100-2015)."""
        data["legal_rep"] = _person(data["legal_rep"]) if data["legal_rep"] else {}
        data["shareholders"] = [_person(p) for p in data["shareholders"]]
        org = identity.create_organisation(**data)
        commit()
        return org


def _person(p: dict) -> dict:
    out = {k: v for k, v in p.items() if k != "id_number"}
    if p.get("id_number"):
        out["id_number_hash"] = identity.hash_id_number(p["id_number"])
    return out


@blp.route("/organisations/<int:org_id>")
class OrganisationItem(MethodView):
    @permission("organisations.read")
    @blp.response(200, s.OrganisationSchema)
    def get(self, org_id):
        """One organisation: its own members, supervisors and admins may read it."""
        org = get_or_404(Organisation, org_id)
        return org


@blp.route("/users")
class Users(MethodView):
    @permission("users.list")
    @blp.response(200, s.UserSchema(many=True))
    def get(self):
        """All users (admin)."""
        return db.session.scalars(select(User).order_by(User.id)).all()

    @permission("users.create")
    @blp.arguments(s.UserCreateSchema)
    @blp.response(201, s.UserSchema)
    def post(self, data):
        """Create a user with one global role."""
        org_id = data.pop("organisation_id")
        org = get_or_404(Organisation, org_id) if org_id else None
        user = identity.create_user(organisation=org, **data)
        commit()
        return user


@blp.route("/users/<int:user_id>/grants")
class UserGrants(MethodView):
    @permission("grants.create")
    @blp.arguments(s.GrantCreateSchema)
    @blp.response(201, s.GrantSchema)
    def post(self, data, user_id):
        """Give a user a duty on one lot."""
        row = identity.grant(user=get_or_404(User, user_id), grant_name=data["grant"], scope_id=data["scope_id"])
        commit()
        return row


@blp.route("/keys/challenge")
class KeyChallenge(MethodView):
    @permission("keys.challenge")
    @blp.response(200, s.ChallengeSchema)
    def get(self):
        """A nonce to sign (Ed25519) or MAC (X25519) when registering a key; valid 10 minutes."""
        enc = keys.platform_keys().manifest()["encryption"]["public_key"]
        return {"challenge": keys.issue_challenge(g.user), "platform_encryption_key": enc}


@blp.route("/keys")
class Keys(MethodView):
    @permission("keys.list")
    @blp.arguments(s.KeyQuerySchema, location="query")
    @blp.response(200, s.PublicKeySchema(many=True))
    def get(self, query):
        """Registered keys of one organisation or user (default: your organisation)."""
        org_id, user_id = query["organisation_id"], query["user_id"]
        if org_id is None and user_id is None:
            org_id, user_id = (g.user.organisation_id, None) if g.user.organisation_id else (None, g.user.id)
        owner = get_or_404(Organisation, org_id) if org_id is not None else get_or_404(User, user_id)
        require("keys.list", owner)
        column = keys.PublicKey.organisation_id if org_id is not None else keys.PublicKey.user_id
        return db.session.scalars(select(keys.PublicKey).where(column == owner.id)).all()

    @permission("keys.register")
    @blp.arguments(s.KeyRegisterSchema)
    @blp.response(201, s.PublicKeySchema)
    def post(self, data):
        """Register a public key with proof of possession (to your organisation, or to you)."""
        if data["owner"] == "organisation" and g.user.organisation_id is None:
            raise ValidationFailed("you belong to no organisation; use owner=user", code="invalid_key_owner")
        owner = {"organisation_id": g.user.organisation_id} if data["owner"] == "organisation" \
            else {"user_id": g.user.id}
        row = keys.register_key(actor=g.user, kind=data["kind"], public_key_b64=data["public_key"],
                                challenge=data["challenge"], proof=data["proof"],
                                valid_days=data["valid_days"], **owner)
        commit()
        return row


@blp.route("/keys/<int:key_id>/revoke")
class KeyRevoke(MethodView):
    @permission("keys.revoke")
    @blp.arguments(s.KeyRevokeSchema)
    @blp.response(200, s.PublicKeySchema)
    def post(self, data, key_id):
        """Revoke a key from now on (its history stays)."""
        key = get_or_404(keys.PublicKey, key_id)
        keys.revoke_key(key=key, reason=data["reason"])
        commit()
        return key


@blp.route("/keys/platform")
class PlatformKeyList(MethodView):
    @permission("keys.platform")
    @blp.response(200)
    def get(self):
        """The platform's public keys: the current signing key, retired ones and the X25519 key."""
        return keys.platform_keys().manifest()


@blp.route("/notifications")
class Notifications(MethodView):
    @permission("notifications.list")
    @blp.response(200, s.NotificationSchema(many=True))
    def get(self):
        """Your inbox, newest first."""
        return notifications.inbox(g.user)


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    @permission("notifications.mark_read")
    @blp.response(200, s.NotificationSchema)
    def post(self, notification_id):
        """Mark one of your messages as read."""
        note = get_or_404(Notification, notification_id)
        notifications.mark_read(note)
        commit()
        return note


@blp.route("/audit")
class Audit(MethodView):
    @permission("audit.list")
    @blp.arguments(s.AuditQuerySchema, location="query")
    @blp.response(200, s.AuditSchema(many=True))
    def get(self, query):
        """The append-only audit trail, newest first, optionally for one object (``object_type=lot``: every
        entry concerning the lot).  What bidders did on a lot still taking bids waits for its deadline
        (core.audit.disclosed, RULE_WHO_BIDS)."""
        q = select(AuditLog).where(disclosed()).order_by(AuditLog.id.desc())
        if query["object_type"] == "lot" and query["object_id"]:
            q = q.where(AuditLog.lot_id == _lot_id(query["object_id"]))
        else:
            if query["object_type"]:
                q = q.where(AuditLog.object_type == query["object_type"])
            if query["object_id"]:
                q = q.where(AuditLog.object_id == query["object_id"])
        return db.session.scalars(q.limit(query["limit"])).all()


def _lot_id(value: str) -> int:
    return int(value) if value.isdigit() and int(value) < 2**31 else 0


@blp.route("/clock/advance")
class ClockAdvance(MethodView):
    @permission("clock.advance")
    @blp.arguments(s.ClockAdvanceSchema)
    @blp.response(200, s.ClockSchema)
    def post(self, data):
        """Move the demo clock forward (demo installs only)."""
        if current_app.config["GGZY_ENV"] != "demo":
            raise ValidationFailed("the demo clock exists only in the demo", code="demo_only")
        moment = clock.advance_demo_clock(data["hours"] * 3600)
        commit()
        return {"now": moment}
