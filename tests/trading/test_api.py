"""The JSON API: the portal without login, the tenderee's writes, refusals with reasons (never a
500, never a half-written record), downloader confidentiality per role, supervisors who cannot
change a tender (EBM Art.3)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from core.clock import frozen
from core.db import db
from core.events import commit
from tests.factories import bearer, token_for
from tests.trading.helpers import PDF, bj, grant_rep, published_lot
from trading.models import Amendment, Lot, Project, TenderDocument

T0, DEADLINE = bj(2026, 3, 4, 10), bj(2026, 3, 24, 9)


@pytest.fixture
def world(app, cast):
    """The cast with tokens, one published lot of ``agency`` with a tenderee rep, committed."""
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    grant_rep(cast["rep"], lot)
    commit()
    headers = {name: bearer(token_for(user)) for name, user in cast.items()}
    return {"lot": lot.id, "doc": lot.documents[0].id, "h": headers, "cast": cast}


def _project_body(deadline="2026-03-24T09:00:00", **lot):
    return {"name": "宁波市奉化区农村公路提升工程", "category": "construction", "region": "330213",
            "tenderee_name": "宁波市奉化区交通运输局",
            "lots": [{"name": "施工一标段", "estimate": "5800000.00", "bid_deadline": deadline, **lot}]}


def test_an_agency_creates_uploads_and_publishes(client, world):
    h = world["h"]["agency"]
    with frozen(T0):
        resp = client.post("/api/trading/projects", json=_project_body(bond_amount="116000.00"), headers=h)
        assert resp.status_code == 201, resp.get_json()
        project = resp.get_json()
        lot_id = project["lots"][0]["id"]
        assert project["code"].startswith("GC-2026-") and project["lots"][0]["estimate"] == "5800000.00"
        assert project["lots"][0]["bid_deadline"] == "2026-03-24T01:00:00+00:00", "naive input is Beijing time"
        resp = client.post(f"/api/trading/lots/{lot_id}/documents", headers=h, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(PDF), "招标文件.pdf", "application/pdf")})
        assert resp.status_code == 201 and resp.get_json()["size"] == len(PDF)
        resp = client.post(f"/api/trading/lots/{lot_id}/publish", json={}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["state"] == "published"


def test_refusals_cite_the_rule_and_write_nothing(client, world):
    h = world["h"]["agency"]
    with frozen(T0):
        resp = client.post("/api/trading/projects", json=_project_body(bond_amount="116000.01"), headers=h)
        assert resp.status_code == 422
        assert resp.get_json()["error"] == "bond_too_high" and resp.get_json()["rule"] == "招标投标法实施条例 第二十六条"
        assert db.session.scalar(select(func.count()).select_from(Project)) == 1, "no half-written project"
        resp = client.post("/api/trading/projects", json=_project_body("2026-03-23T17:00:00"), headers=h)
        lot_id = resp.get_json()["lots"][0]["id"]
        client.post(f"/api/trading/lots/{lot_id}/documents", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(PDF), "a.pdf")})
        resp = client.post(f"/api/trading/lots/{lot_id}/publish", json={}, headers=h)
    body = resp.get_json()
    assert resp.status_code == 422 and body["error"] == "bidding_period_too_short"
    assert body["rule"] == "招标投标法 第二十四条" and "2026-03-24" in body["detail"]
    db.session.expire_all()
    assert db.session.get(Lot, lot_id).state == "draft"


@pytest.mark.parametrize("body", [
    {}, {"name": "x"}, {**_project_body(), "category": "land"}, {**_project_body(), "region": "33"},
    _project_body(deadline="not a date"), _project_body(estimate="-1"), _project_body(estimate="NaN"),
    _project_body(deadline="9999-12-31T00:00:00"), {**_project_body(), "lots": []},
])
def test_bad_project_input_is_a_422_with_reasons(client, world, body):
    resp = client.post("/api/trading/projects", json=body, headers=world["h"]["agency"])
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"] in ("validation_failed", "unknown_procedure")


def test_the_portal_needs_no_login(client, world):
    lot = client.get(f"/api/trading/lots/{world['lot']}").get_json()
    assert lot["state"] == "published" and lot["documents"][0]["sha256"]
    assert client.get(f"/api/trading/lots/{world['lot']}/timeline").get_json()[0]["to_state"] == "published"
    procs = client.get("/api/trading/procedures").get_json()
    assert {p["key"] for p in procs["procedures"]} >= {"construction.open", "gov_procurement.invited"}
    resp = client.get("/api/trading/notices?q=轨道交通&region=3302&category=construction")
    assert resp.status_code == 200 and len(resp.get_json()) == 1
    assert resp.headers["X-Pagination"]
    assert client.get("/api/trading/notices?q=不存在的项目").get_json() == []
    assert client.get("/api/trading/notices?region=11").get_json() == []
    assert len(client.get("/api/trading/notices?date_from=2026-03-04&date_to=2026-03-04").get_json()) == 1
    assert client.get("/api/trading/notices?date_from=2026-03-05").get_json() == []
    assert client.get("/api/trading/notices?q=%25_").get_json() == [], "LIKE wildcards are literal"


def test_drafts_are_not_on_the_portal(client, world):
    with frozen(T0):
        resp = client.post("/api/trading/projects", json=_project_body(), headers=world["h"]["agency"])
    lot_id = resp.get_json()["lots"][0]["id"]
    assert client.get(f"/api/trading/lots/{lot_id}").status_code == 404
    assert client.get(f"/api/trading/lots/{lot_id}", headers=world["h"]["bidder"]).status_code == 404
    assert client.get(f"/api/trading/lots/{lot_id}", headers=world["h"]["agency2"]).status_code == 200
    assert client.get(f"/api/trading/lots/{lot_id}", headers=world["h"]["supervisor"]).status_code == 200


def test_any_registered_bidder_downloads_without_sign_up(client, world):
    url = f"/api/trading/documents/{world['doc']}/download"
    assert client.get(url).status_code == 401
    with frozen(bj(2026, 3, 5)):
        resp = client.get(url, headers=world["h"]["bidder"])
    assert resp.status_code == 200 and resp.data == PDF
    assert "attachment" in resp.headers["Content-Disposition"]


@pytest.mark.parametrize("who,before,after", [
    (None, 401, 401), ("bidder", 403, 403), ("agency_b", 403, 403), ("admin", 403, 403),
    ("supervisor", 403, 200), ("agency", 200, 200), ("agency2", 200, 200), ("rep", 200, 200)])
def test_downloader_confidentiality_per_role(client, world, who, before, after):
    """EBM Art.21 / TBL Art.22 / GP87 Art.28: before the deadline nobody but the tenderee side."""
    with frozen(bj(2026, 3, 5)):
        client.get(f"/api/trading/documents/{world['doc']}/download", headers=world["h"]["bidder_b"])
    url = f"/api/trading/lots/{world['lot']}/downloads"
    headers = world["h"][who] if who else {}
    for moment, expected in ((DEADLINE - dt.timedelta(seconds=1), before), (DEADLINE, after)):
        with frozen(moment):
            resp = client.get(url, headers=headers)
        assert resp.status_code == expected, (who, moment, resp.get_json())
        if expected == 200:
            assert [d["organisation_id"] for d in resp.get_json()] == [world["cast"]["bidder_b"].organisation_id]
        if who == "supervisor" and expected == 403:
            assert resp.get_json()["rule"].startswith("电子招标投标办法 第二十一条")


def test_supervisors_cannot_change_a_tender(client, world):
    """EBM Art.3: the supervisor reads and instructs (suspend, resume) but never edits the tender."""
    h, lot = world["h"]["supervisor"], world["lot"]
    attempts = [("patch", f"/api/trading/lots/{lot}", {"name": "改名"}),
                ("post", f"/api/trading/lots/{lot}/amendments", {"title": "改", "body": "改"}),
                ("post", f"/api/trading/lots/{lot}/cancel", {"reason": "不应允许"}),
                ("post", f"/api/trading/lots/{lot}/publish", {}),
                ("post", "/api/trading/projects", _project_body())]
    for method, url, body in attempts:
        assert getattr(client, method)(url, json=body, headers=h).status_code == 403, url
    resp = client.post(f"/api/trading/lots/{lot}/documents", headers=h, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"x"), "x.pdf")})
    assert resp.status_code == 403
    with frozen(bj(2026, 3, 6)):
        assert client.post(f"/api/trading/lots/{lot}/suspend", json={"reason": "举报核查"}, headers=h).status_code == 200
        assert client.post(f"/api/trading/lots/{lot}/resume", json={}, headers=h).get_json()["state"] == "published"
    trail = client.get(f"/api/trading/lots/{lot}/audit", headers=h).get_json()
    assert [a["action"] for a in trail][-2:] == ["lot.suspend", "lot.resume"]


@pytest.mark.parametrize("who,expected", [("agency_b", 403), ("bidder", 403), ("supervisor", 403), ("rep", 201)])
def test_wrong_roles_and_other_owners_cannot_amend(client, world, who, expected):
    with frozen(bj(2026, 3, 6)):
        resp = client.post(f"/api/trading/lots/{world['lot']}/amendments", json={"title": "澄清", "body": "内容"},
                           headers=world["h"][who])
    assert resp.status_code == expected
    assert db.session.scalar(select(func.count()).select_from(Amendment)) == (1 if expected == 201 else 0)


def test_amendment_through_the_api_moves_the_deadline(client, world):
    with frozen(bj(2026, 3, 12, 10)):
        resp = client.post(f"/api/trading/lots/{world['lot']}/amendments", headers=world["h"]["agency"],
                           json={"title": "澄清一", "body": "补充工程量清单"})
    assert resp.status_code == 201 and resp.get_json()["moved_by_rule"] is True
    assert client.get(f"/api/trading/lots/{world['lot']}").get_json()["bid_deadline"] == "2026-03-27T01:00:00+00:00"
    with frozen(bj(2026, 3, 13, 10)):
        resp = client.post(f"/api/trading/lots/{world['lot']}/amendments", headers=world["h"]["agency"],
                           json={"title": "澄清二", "body": "x", "new_deadline": "2026-03-27T09:00:00+08:00"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "amendment_deadline_too_early"


def test_objection_flow_through_the_api(client, world):
    h = world["h"]
    with frozen(bj(2026, 3, 10)):
        resp = client.post(f"/api/trading/lots/{world['lot']}/objections", json={"body": "评分办法不合理"},
                           headers=h["bidder"])
        assert resp.status_code == 201
        oid = resp.get_json()["id"]
        assert client.get(f"/api/trading/objections/{oid}", headers=h["bidder_b"]).status_code == 403
        assert client.get(f"/api/trading/lots/{world['lot']}/objections", headers=h["bidder_b"]).get_json() == []
        assert client.post(f"/api/trading/objections/{oid}/answer", json={"answer": "x"},
                           headers=h["agency_b"]).status_code == 403
        resp = client.post(f"/api/trading/objections/{oid}/answer", json={"answer": "已修改评分办法"}, headers=h["rep"])
        assert resp.status_code == 200 and resp.get_json()["is_open"] is False
        assert client.get(f"/api/trading/objections/{oid}", headers=h["bidder"]).get_json()["answer"] == "已修改评分办法"
    with frozen(bj(2026, 3, 15)):
        resp = client.post(f"/api/trading/lots/{world['lot']}/objections", json={"body": "晚了"}, headers=h["bidder"])
    assert resp.status_code == 422 and resp.get_json()["rule"] == "招标投标法实施条例 第二十二条"


def test_blacklist_is_public_while_in_force_and_queryable(client, world):
    from trading import services

    h = world["h"]["supervisor"]
    body = {"subject_kind": "enterprise", "name": "宁波某建设有限公司", "uscc": world["cast"]["bidder"].organisation.uscc,
            "reason": "串通投标被行政处罚", "legal_basis": "招标投标法实施条例 第六十七条",
            "starts_at": "2026-03-01T00:00:00", "ends_at": "2027-03-01T00:00:00"}
    assert client.post("/api/trading/blacklist", json=body, headers=world["h"]["agency"]).status_code == 403
    with frozen(bj(2026, 3, 5)):
        resp = client.post("/api/trading/blacklist", json=body, headers=h)
        assert resp.status_code == 201
        assert [e["name"] for e in client.get("/api/trading/blacklist").get_json()] == ["宁波某建设有限公司"]
        assert services.is_blacklisted(world["cast"]["bidder"].organisation)
        assert not services.is_blacklisted(world["cast"]["bidder_b"].organisation)
    assert services.is_blacklisted(world["cast"]["bidder"], bj(2026, 6, 1))
    assert not services.is_blacklisted(world["cast"]["bidder"], bj(2027, 3, 1)), "the period ends exclusive"
    bad = {**body, "uscc": "913302000000000000"}
    assert client.post("/api/trading/blacklist", json=bad, headers=h).status_code == 422


def test_console_lists_own_and_granted_lots(client, world):
    mine = client.get("/api/trading/lots", headers=world["h"]["agency2"]).get_json()
    assert [lot["id"] for lot in mine] == [world["lot"]]
    assert client.get("/api/trading/lots", headers=world["h"]["agency_b"]).get_json() == []
    assert [lot["id"] for lot in client.get("/api/trading/lots", headers=world["h"]["rep"]).get_json()] == [world["lot"]]
    assert len(client.get("/api/trading/lots", headers=world["h"]["supervisor"]).get_json()) == 1
    assert client.get("/api/trading/lots", headers=world["h"]["bidder"]).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(TenderDocument)) == 1


def test_absurd_page_numbers_are_a_4xx(client):
    """A page beyond any listing is refused with a reason, never a database error."""
    resp = client.get("/api/trading/notices?page=99999999999999999999")
    assert resp.status_code == 422 and resp.get_json()["error"] in ("page_out_of_range", "validation_failed")
