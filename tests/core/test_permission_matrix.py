"""Harness (a): every operation in the OpenAPI document × every role and grant, on real objects.

For each actor and each object a path parameter can name, the expected outcome comes from the
declared table (``core.permissions.allowed``): allowed → never 401/403; refused → 401 or 403.
Objects of other owners are included, so "bidder A must not touch bidder B's things" is tested for
every owner-scoped operation.  Domains extend the world with :data:`WORLD_BUILDERS`.
"""
from __future__ import annotations

import itertools

import pytest

from core import crypto, keys, notifications
from core.db import db
from core.domains import DOMAINS
from core.events import commit
from core.models import ROLES, ApiToken
from core.permissions import PARAM_MODELS, PERMISSIONS, allowed
from tests.factories import bearer, make_org, make_user, token_for


def _domain_builders() -> list:
    """Each domain adds its objects and actors in ``tests/<domain>/world.py::build(world)``."""
    import importlib
    import importlib.util

    found = []
    for domain in DOMAINS:
        name = f"tests.{domain}.world"
        if importlib.util.find_spec(f"tests.{domain}") and importlib.util.find_spec(name):
            found.append(importlib.import_module(name).build)
    return found


#: callables(world) that add domain objects and actors (world["actors"], world["tokens"])
WORLD_BUILDERS: list = _domain_builders()
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _register_key(user, owner: dict, kind: str = "sign"):
    private = crypto.generate(kind)
    challenge = keys.issue_challenge(user)
    pub = crypto.b64e(crypto.raw_public(private))
    msg = crypto.pop_message(challenge=challenge, kind=kind, public_key_b64=pub,
                             owner=keys.owner_ref(organisation_id=owner.get("organisation_id"),
                                                  user_id=owner.get("user_id")))
    proof = crypto.make_proof(private, msg, keys.platform_keys().encryption_public())
    return keys.register_key(actor=user, kind=kind, public_key_b64=pub, challenge=challenge, proof=proof, **owner)


def build_world() -> dict:
    """Two enterprises and an agency, one user per role, a second bidder and agency in other orgs."""
    org_a, org_b, agency_org = make_org(), make_org(), make_org(kind="agency")
    actors = {}
    for role in ROLES:
        org = {"bidder": org_a, "agency": agency_org}.get(role)
        actors[role] = make_user(role, org=org)
    actors["bidder_b"] = make_user("bidder", org=org_b)
    actors["agency_b"] = make_user("agency", org=make_org(kind="agency"))
    for user in actors.values():
        if user.organisation_id:
            _register_key(user, {"organisation_id": user.organisation_id}) if not keys.valid_keys(
                organisation_id=user.organisation_id) else None
        notifications.notify(user=user, subject=f"hello {user.email}")
    _register_key(actors["supervisor"], {"user_id": actors["supervisor"].id})
    commit()
    world = {"actors": actors, "tokens": {name: token_for(u) for name, u in actors.items()}}
    _protect_auth_tokens(world)
    # a second token per user: an object to revoke that is not the one authenticating the request
    for user in actors.values():
        token_for(user)
    for builder in WORLD_BUILDERS:
        builder(world)
        world["tokens"].update({name: token_for(u) for name, u in world["actors"].items()
                                if name not in world["tokens"]})
    _protect_auth_tokens(world)
    commit()
    return world


def _protect_auth_tokens(world) -> None:
    import hashlib

    hashes = {hashlib.sha256(t.encode()).hexdigest() for t in world["tokens"].values()}
    world["protected"] = {(ApiToken, t.id) for t in db.session.scalars(db.select(ApiToken))
                          if t.token_sha256 in hashes}


def operations(app) -> list[tuple[str, str, str]]:
    spec = app.test_client().get("/api/openapi.json").get_json()
    return [(path, method, op.get("x-permission"))
            for path, item in spec["paths"].items() for method, op in item.items()
            if method in {"get", "post", "put", "patch", "delete"}]


def _candidates(path: str, protected: set) -> list[tuple[dict, object]]:
    """Every (path values, object) the path can address in the world (all rows of the model),
    except the objects the harness itself depends on (the tokens that authenticate the actors)."""
    params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
    if not params:
        return [({}, None)]
    if len(params) > 1:
        raise AssertionError(f"extend _candidates for nested path {path}")
    model = PARAM_MODELS[params[0]]
    return [({params[0]: obj.id}, obj) for obj in db.session.scalars(db.select(model)).all()
            if (model, obj.id) not in protected]


def test_every_operation_declares_a_permission(app):
    ops = operations(app)
    assert ops, "the OpenAPI document lists no operation"
    missing = [(p, m) for p, m, op in ops if op is None]
    assert not missing, f"operations without x-permission: {missing}"
    unknown = [(p, m, op) for p, m, op in ops if op not in PERMISSIONS]
    assert not unknown, f"x-permission not in the table: {unknown}"


def test_every_page_declares_a_permission(app):
    """Pages too: every non-static endpoint's view is wrapped by core.permissions.permission."""
    bare = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint.endswith("static") or rule.rule.startswith("/api/openapi"):
            continue
        if rule.rule.startswith("/api/") and getattr(view, "view_class", None):
            methods = [getattr(view.view_class, m.lower(), None) for m in rule.methods - {"HEAD", "OPTIONS"}]
            if all(getattr(fn, "_permission", None) for fn in methods if fn):
                continue
        if not getattr(view, "_permission", None):
            bare.append(rule.rule)
    assert not bare, f"endpoints without a declared permission: {bare}"


def _actor_names(world):
    return [None, *world["actors"]]


def _check(client, world, path, method, op, actor):
    failures = []
    user = world["actors"].get(actor)
    headers = bearer(world["tokens"][actor]) if actor else {}
    for values, obj in _candidates(path, world["protected"]):
        url = path.format(**values)
        expected = allowed(user, op, obj)
        kwargs = {"json": {}} if method in WRITE_METHODS else {}
        status = getattr(client, method)(url, headers=headers, **kwargs).status_code
        refused = status in (401, 403) or (PERMISSIONS[op].hidden and status == 404 and user is not None)
        if expected == refused or status >= 500:
            failures.append(f"{actor or 'public'} {method.upper()} {url} [{op}]: expected "
                            f"{'allowed' if expected else 'refused'}, got {status}")
    return failures


def test_permission_matrix(app, client):
    """Each response agrees with the table, for every operation, actor and addressable object."""
    with app.app_context():
        world = build_world()
        ops = operations(app)
        failures = list(itertools.chain.from_iterable(
            _check(client, world, path, method, op, actor)
            for path, method, op in ops for actor in _actor_names(world)))
    assert not failures, "\n".join(failures)


def test_matrix_covers_other_owner_cases(app):
    """The world really contains same-role-other-owner pairs for owner-scoped operations."""
    with app.app_context():
        world = build_world()
        a, b = world["actors"]["bidder"], world["actors"]["bidder_b"]
        key_b = keys.valid_keys(organisation_id=b.organisation_id)[0]
        assert not allowed(a, "keys.revoke", key_b)
        assert allowed(b, "keys.revoke", key_b)


@pytest.mark.parametrize("op", sorted(PERMISSIONS))
def test_table_rules_name_real_roles_and_grants(op):
    from core.models import GRANTS

    rule = PERMISSIONS[op]
    assert rule.roles <= set(ROLES) and rule.owner_roles <= set(ROLES) and rule.grants <= set(GRANTS)


def test_state_dependent_rule_applies_to_roles_not_owners(app):
    """Rule.when gates access through a global role; the owner keeps access regardless."""
    from core.permissions import Rule

    with app.app_context():
        bidder, supervisor = make_user("bidder"), make_user("supervisor")
        org = db.session.get(type(bidder.organisation), bidder.organisation_id)
        closed = {"open": False}
        PERMISSIONS["test.when"] = Rule(roles=frozenset({"supervisor"}), owner_roles=frozenset({"bidder"}),
                                        when=lambda user, obj: closed["open"])
        try:
            assert not allowed(supervisor, "test.when", org)
            assert allowed(bidder, "test.when", org)
            closed["open"] = True
            assert allowed(supervisor, "test.when", org)
        finally:
            del PERMISSIONS["test.when"]
