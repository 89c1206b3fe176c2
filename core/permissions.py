"""The declared permission table: operation × role/grant → allowed (DESIGN §3, §9).

Every endpoint and page names its operation with :func:`permission`; the operation's rule decides.
A rule allows a request when the endpoint is public, the user's global role is listed in
``roles``, the role is listed in ``owner_roles`` and the user owns the object (same user or same
organisation), or the user holds one of ``grants`` on the object's lot.  The permission-matrix
test drives every operation in the OpenAPI document with every role against this table.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import g

from core.errors import Forbidden, Unauthorized

ANY_USER = frozenset({"bidder", "agency", "expert", "supervisor", "archivist", "pool_manager", "admin"})


@dataclass(frozen=True)
class Rule:
    """Who may perform one operation; see the module docstring for the semantics."""

    roles: frozenset = frozenset()
    owner_roles: frozenset = frozenset()
    grants: frozenset = frozenset()
    public: bool = False
    description: str = ""
    #: operations that change state are audited and CSRF-protected
    writes: bool = field(default=False)
    #: without an explicit object the operation acts on the user's own things (own keys, own inbox)
    implicit_owner: bool = field(default=False)
    #: a state-dependent condition ``when(user, obj) -> bool`` that access through ``roles`` also
    #: needs (e.g. supervisors see downloaders only after the deadline); owners and grants are not
    #: subject to it.  The matrix test reads the same function, so table and code cannot drift.
    when: Callable | None = field(default=None, compare=False)
    #: the article a refusal cites (errors name the rule they enforce)
    cite: str = ""
    #: refuse an object as if it did not exist (404, the same answer as for an unknown id): where
    #: the object's existence is itself confidential, e.g. who bid before the deadline, which
    #: numbered ids would otherwise let anyone count
    hidden: bool = False


def _r(roles=(), owner_roles=(), grants=(), public=False, writes=False, description="",
       implicit_owner=False, when=None, cite="", hidden=False) -> Rule:
    return Rule(frozenset(roles), frozenset(owner_roles), frozenset(grants), public, description, writes,
                implicit_owner, when, cite, hidden)


#: the one table; domains add their operations with :func:`declare`
PERMISSIONS: dict[str, Rule] = {
    "health.read": _r(public=True, description="liveness and dependency status"),
    "metrics.read": _r(roles={"admin"}, description="Prometheus metrics (bearer token of an admin)"),
    "auth.token.create": _r(public=True, writes=True, description="exchange a password for an API token"),
    "me.read": _r(roles=ANY_USER, description="the signed-in user and organisation"),
    "tokens.list": _r(roles=ANY_USER, description="own API tokens"),
    "tokens.revoke": _r(owner_roles=ANY_USER, writes=True, description="revoke an own API token"),
    "organisations.list": _r(roles={"admin", "supervisor"}),
    "organisations.create": _r(roles={"admin"}, writes=True),
    "organisations.read": _r(roles={"admin", "supervisor"}, owner_roles={"bidder", "agency"}),
    "users.list": _r(roles={"admin"}),
    "users.create": _r(roles={"admin"}, writes=True),
    "grants.create": _r(roles={"admin"}, writes=True),
    "keys.challenge": _r(roles={"bidder", "agency", "supervisor", "admin"},
                         description="a nonce for proof of possession"),
    "keys.list": _r(roles={"admin", "supervisor"}, owner_roles={"bidder", "agency", "supervisor"},
                    implicit_owner=True, description="without a query: your organisation's (or your) keys"),
    "keys.register": _r(owner_roles={"bidder", "agency", "supervisor"}, writes=True, implicit_owner=True,
                        description="to your organisation, or to you as custodian"),
    "keys.revoke": _r(roles={"admin"}, owner_roles={"bidder", "agency", "supervisor"}, writes=True),
    "keys.platform": _r(public=True, description="the platform's public keys, old ones included"),
    "notifications.list": _r(roles=ANY_USER, description="own inbox"),
    "notifications.mark_read": _r(owner_roles=ANY_USER, writes=True),
    "audit.list": _r(roles={"admin", "supervisor"}),
    "clock.advance": _r(roles={"admin"}, writes=True, description="demo clock only"),
    "pages.home": _r(public=True),
    "pages.account": _r(roles=ANY_USER),
}

#: path parameter name → model class, used to load the object a rule is checked against
PARAM_MODELS: dict[str, type] = {}
#: model → loader options for that load, when the rules or the view read a related row of every such
#: object anyway (a lot's project): one query instead of a lazy load later
PARAM_LOAD_OPTIONS: dict[type, tuple] = {}


#: who bid, and how many, is known to each bidder alone until the lot's bid deadline
RULE_WHO_BIDS = "电子招标投标办法 第二十一条; 招标投标法 第二十二条"

def lots_taking_bids():
    """The SELECT of lot ids still taking bids, from the domain that knows deadlines (trading, through
    ``core.signals.open_lots_query``; the app does not start without it)."""
    from core.signals import ask_one, open_lots_query

    return ask_one(open_lots_query)


def declare(op: str, rule: Rule) -> None:
    """Add a domain operation to the table (at import time of the domain's permissions)."""
    if op in PERMISSIONS and PERMISSIONS[op] != rule:
        raise ValueError(f"operation {op!r} declared twice with different rules")
    PERMISSIONS[op] = rule


def owns(user, obj) -> bool:
    """Ownership: the object's ``owner_user_id`` is the user or ``owner_org_id`` is the user's org."""
    if obj is None or user is None:
        return False
    if getattr(obj, "owner_user_id", None) is not None and obj.owner_user_id == user.id:
        return True
    org_id = getattr(obj, "owner_org_id", None)
    return org_id is not None and org_id == user.organisation_id


def holds_grant(user, grants: frozenset, obj) -> bool:
    lot_id = getattr(obj, "lot_id", None)
    return bool(grants) and lot_id is not None and any(
        gr.grant in grants and gr.scope_type == "lot" and gr.scope_id == lot_id for gr in user.grants)


def allowed(user, op: str, obj=None) -> bool:
    """Does the table let ``user`` (None = anonymous) perform ``op`` on ``obj``?"""
    rule = PERMISSIONS[op]
    if rule.public:
        return True
    if user is None:
        return False
    if user.role in rule.roles and (rule.when is None or rule.when(user, obj)):
        return True
    if user.role in rule.owner_roles and (owns(user, obj) or (obj is None and rule.implicit_owner)):
        return True
    return holds_grant(user, rule.grants, obj)


def could_be_allowed(user, op: str) -> bool:
    """The coarse check before an object is loaded: is there any object this user could act on?"""
    rule = PERMISSIONS[op]
    if rule.public:
        return True
    if user is None:
        return False
    return user.role in rule.roles | rule.owner_roles or any(gr.grant in rule.grants for gr in user.grants)


def require(op: str, obj=None) -> None:
    """Refuse with 401 (not signed in) or 403 (signed in, not allowed)."""
    user = g.get("user")
    if allowed(user, op, obj):
        return
    if user is None:
        raise Unauthorized("sign in first", code="authentication_required")
    if PERMISSIONS[op].hidden and obj is not None:
        from core.errors import NotFound

        raise NotFound(not_found_detail(type(obj), obj.id))
    raise Forbidden(f"your role may not perform {op}", code="forbidden", operation=op,
                    rule=PERMISSIONS[op].cite or None)


def not_found_detail(model, ident) -> str:
    """One wording for "no such object" and "hidden from you", so the two cannot be told apart."""
    return f"{model.__name__} {ident} not found"


def _path_objects(kwargs: dict) -> list:
    """Load the objects named by path parameters, so refusal comes before any body validation."""
    from core.db import db
    from core.errors import NotFound

    found = []
    for name, value in kwargs.items():
        model = PARAM_MODELS.get(name)
        if model is None:
            continue
        obj = db.session.get(model, value, options=PARAM_LOAD_OPTIONS.get(model, ()))
        if obj is None:
            raise NotFound(not_found_detail(model, value))
        found.append(obj)
    return found


def permission(op: str):
    """Decorate a view: coarse check first (before body parsing), object checks via :func:`require`."""
    if op not in PERMISSIONS:
        raise KeyError(f"operation {op!r} is not in the permission table")

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = g.get("user")
            if not could_be_allowed(user, op):
                require(op)
            for obj in _path_objects(kwargs):
                require(op, obj)
            g.operation = op
            return fn(*args, **kwargs)

        apidoc = getattr(wrapper, "_apidoc", None)
        if apidoc is None:
            apidoc = wrapper._apidoc = {}
        else:
            apidoc = wrapper._apidoc = dict(apidoc)
        manual = dict(apidoc.get("manual_doc", {}))
        manual["x-permission"] = op
        apidoc["manual_doc"] = manual
        wrapper._permission = op
        return wrapper

    return decorator
