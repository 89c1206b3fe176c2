"""The API end to end by role: confidentiality of names, wrong roles refused, bad input → 4xx."""
from __future__ import annotations

import pytest

from core.db import db
from core.events import commit
from experts.models import Draw, Member
from tests.experts import helpers as h
from tests.experts.world import build
from tests.factories import bearer, make_user, token_for


@pytest.fixture
def world(ctx):
    actors = {r: make_user(r) for r in ("pool_manager", "supervisor", "agency", "bidder", "expert", "admin",
                                        "archivist")}
    w = {"actors": actors}
    build(w)
    commit()
    w["tokens"] = {name: bearer(token_for(u)) for name, u in w["actors"].items()}
    w["draw"] = db.session.scalar(db.select(Draw).where(Draw.parent_id.is_(None)))
    return w


def names_in(response) -> bool:
    import json

    return "专家" in json.dumps(response.get_json(), ensure_ascii=False)


def test_only_the_draw_operator_sees_names(client, world):
    url = f"/api/experts/draws/{world['draw'].id}/committee"
    ok = client.get(url, headers=world["tokens"]["draw_operator"])
    assert ok.status_code == 200 and names_in(ok) and len(ok.get_json()) == 5
    for role in ("supervisor", "pool_manager", "agency", "bidder", "expert", "expert_member", "admin", "archivist"):
        assert client.get(url, headers=world["tokens"][role]).status_code == 403, role
    assert client.get(url).status_code == 401


def test_supervisor_sees_hashes_and_counts_never_names(client, world):
    draw = world["draw"]
    for role in ("supervisor", "draw_operator"):
        body = client.get(f"/api/experts/draws/{draw.id}", headers=world["tokens"][role])
        assert body.status_code == 200 and not names_in(body)
        assert body.get_json()["snapshot_hash"] == draw.snapshot_hash and body.get_json()["seats"]
    for role in ("agency", "bidder", "expert", "pool_manager"):
        assert client.get(f"/api/experts/draws/{draw.id}", headers=world["tokens"][role]).status_code == 403


def test_publication_is_refused_until_the_award(client, world):
    draw = world["draw"]
    assert client.get(f"/api/experts/draws/{draw.id}/publication").status_code == 409
    assert client.post(f"/api/experts/draws/{draw.id}/publish", headers=world["tokens"]["draw_operator"]).status_code == 409
    from trading.models import Lot

    db.session.get(Lot, draw.lot_id).state = "awarded"
    commit()
    assert client.post(f"/api/experts/draws/{draw.id}/publish", headers=world["tokens"]["draw_operator"]).status_code == 200
    bundle = client.get(f"/api/experts/draws/{draw.id}/publication").get_json()
    from experts.verify import verify_bundle

    assert verify_bundle(bundle)["valid"]


def test_an_expert_answers_only_their_own_seat(client, world):
    mine = db.session.scalar(db.select(Member).join(Member.expert).where(
        Member.expert.has(user_id=world["actors"]["expert_member"].id)))
    seats = client.get("/api/experts/memberships", headers=world["tokens"]["expert_member"]).get_json()
    assert [s["id"] for s in seats] == [mine.id] and "name" not in seats[0]
    assert client.get("/api/experts/memberships", headers=world["tokens"]["expert"]).get_json() == []
    url = f"/api/experts/members/{mine.id}/confirm"
    assert client.post(url, headers=world["tokens"]["expert"]).status_code == 403
    assert client.post(url, headers=world["tokens"]["draw_operator"]).status_code == 403
    assert client.post(url, headers=world["tokens"]["expert_member"]).status_code == 200
    assert client.post(url, headers=world["tokens"]["expert_member"]).status_code == 409


@pytest.fixture
def manager(ctx):
    user = make_user("pool_manager")
    h.pool(user, n=0)
    commit()
    return bearer(token_for(user))


@pytest.mark.parametrize(("path", "body", "code"), [
    ("/api/experts/pool", {"name": "x"}, 422),
    ("/api/experts/pool", {"name": "王", "id_number": "330203197001019999", "title": "工程师", "senior_title": False,
                           "years": 3, "employer_uscc": "91330200MA0000001X", "region": "330100",
                           "specialties": ["A0101"]}, 422),
    ("/api/experts/specialties", {"code": "a b", "name": ""}, 422),
])
def test_bad_pool_input_is_a_4xx_with_a_reason(client, manager, path, body, code):
    from experts.models import Expert

    response = client.post(path, json=body, headers=manager)
    assert response.status_code == code and response.get_json()["error"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Expert)) == 0


@pytest.fixture
def small(ctx):
    """A pool, a supervisor and a draw operator of another lot: enough for the draw flow by API."""
    actors = {"supervisor": make_user("supervisor"), "pool_manager": make_user("pool_manager")}
    h.pool(actors["pool_manager"])
    actors["draw_operator"] = h.operator_for(h.closed_lot())
    commit()
    return {"actors": actors, "tokens": {k: bearer(token_for(u)) for k, u in actors.items()}}


def test_bad_draw_input_is_a_4xx_and_writes_nothing(client, small):
    world = small
    lot = h.closed_lot()
    operator = h.operator_for(lot)
    commit()
    headers = bearer(token_for(operator))
    for body in ({"size": 4, "quotas": h.quotas(2, 2)}, {"size": 5, "quotas": [{"specialty": "A01", "count": 0}]},
                 {"size": 5, "quotas": h.quotas(), "bidder_org_ids": [2**31 - 1]},
                 {"size": 5, "quotas": h.quotas(), "tenderee_uscc": "bad"}, {}):
        response = client.post(f"/api/experts/lots/{lot.id}/draws", json=body, headers=headers)
        assert 400 <= response.status_code < 500 and response.get_json()["error"], body
    assert db.session.scalar(db.select(db.func.count()).select_from(Draw).where(Draw.lot_id == lot.id)) == 0
    other = world["actors"]["draw_operator"]  # a draw operator of another lot
    assert client.post(f"/api/experts/lots/{lot.id}/draws", json={"size": 5, "quotas": h.quotas()},
                       headers=bearer(token_for(other))).status_code == 403


def test_full_draw_over_the_api(client, small):
    world = small
    lot = h.closed_lot()
    operator = h.operator_for(lot)
    commit()
    op_h, sup_h = bearer(token_for(operator)), world["tokens"]["supervisor"]
    draw = client.post(f"/api/experts/lots/{lot.id}/draws", json={"size": 5, "quotas": h.quotas()}, headers=op_h)
    assert draw.status_code == 201, draw.get_json()
    did, number = draw.get_json()["id"], draw.get_json()["number"]
    fake = type("D", (), {"lot_id": lot.id, "number": number})
    assert client.post(f"/api/experts/draws/{did}/commit", headers=op_h,
                       json={"commitment": h.commitment(fake, "operator", "a")}).status_code == 200
    assert client.post(f"/api/experts/draws/{did}/commit", headers=sup_h,
                       json={"commitment": h.commitment(fake, "supervisor", "b")}).status_code == 200
    bad = client.post(f"/api/experts/draws/{did}/reveal", headers=sup_h, json={"contribution": h.contribution("z")})
    assert bad.status_code == 422 and bad.get_json()["error"] == "commitment_mismatch"
    client.post(f"/api/experts/draws/{did}/reveal", headers=op_h, json={"contribution": h.contribution("a")})
    done = client.post(f"/api/experts/draws/{did}/reveal", headers=sup_h, json={"contribution": h.contribution("b")})
    assert done.get_json()["state"] == "drawn" and not names_in(done)
    fairness = client.get("/api/experts/fairness", headers=sup_h)
    assert fairness.status_code == 200
    assert client.get("/api/experts/fairness", headers=world["tokens"]["pool_manager"]).status_code == 403
