"""The portal's cached counts (trading/services/portal_cache.py): a publication, an amendment and a
lot state change are on the portal at the very next request, in the rows and in the total, on the
JSON listing and on the page.  Each listing is asked first, so that a count is cached; without the
invalidation the total after the change would be the cached one."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from core.clock import frozen
from core.db import db
from core.events import commit
from tests.trading.helpers import bj, draft_lot, published_lot
from trading import services
from trading.errors import StateConflict
from trading.models import Lot
from trading.services import portal_cache
from trading.services.common import add_notice

T0, DEADLINE = bj(2026, 3, 4, 10), bj(2026, 3, 24, 9)


@pytest.fixture
def lot_id(app, cast):
    """One published lot; the version row is there, as the migration leaves it."""
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    portal_cache.changed()
    commit()
    return lot.id


def listing(client, **query) -> tuple[int, list[dict]]:
    """(total from X-Pagination, rows) of the JSON listing."""
    resp = client.get("/api/trading/notices", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return json.loads(resp.headers["X-Pagination"])["total"], resp.get_json()


def page_total(client, **query) -> int:
    """The total the portal page shows ("N notices")."""
    resp = client.get("/notices", query_string=query, headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    return int(re.search(r"(\d+) notices", resp.get_data(as_text=True)).group(1))


def warm(client) -> None:
    """Count every filter the tests look at, so each is cached before the change."""
    for query in ({}, {"category": "construction"}, {"region": "3302"}):
        assert listing(client, **query)[0] == 1 and page_total(client, **query) == 1


def test_a_publication_is_counted_at_once(client, cast, lot_id):
    warm(client)
    with frozen(T0 + dt.timedelta(hours=1)):
        new = published_lot(cast["agency"], at=T0 + dt.timedelta(hours=1), deadline=DEADLINE,
                            name="宁波市江北区中学教学楼新建工程")
    commit()
    for query in ({}, {"category": "construction"}, {"region": "3302"}):
        total, rows = listing(client, **query)
        assert total == 2 and page_total(client, **query) == 2, query
        assert rows[0]["lot_id"] == new.id and rows[0]["kind"] == "tender_notice"


def test_an_amendment_is_counted_at_once(client, cast, lot_id):
    warm(client)
    later = DEADLINE + dt.timedelta(days=5)
    with frozen(T0 + dt.timedelta(days=1)):
        services.issue_amendment(actor=cast["agency"], lot=db.session.get(Lot, lot_id), title="延期",
                                 body="投标截止时间顺延", new_deadline=later)
    commit()
    total, rows = listing(client, category="construction")
    assert total == 2 and page_total(client, category="construction") == 2
    assert rows[0]["kind"] == "amendment"
    assert {row["bid_deadline"] for row in rows} == {later.isoformat()}


def test_a_state_change_is_shown_at_once(client, cast, lot_id):
    warm(client)
    with frozen(T0 + dt.timedelta(days=1)):
        services.suspend_lot(actor=cast["supervisor"], lot=db.session.get(Lot, lot_id), reason="投诉处理期间暂停")
    commit()
    total, rows = listing(client, region="3302")
    assert total == 2 and page_total(client, region="3302") == 2
    assert rows[0]["kind"] == "suspension" and {row["lot_state"] for row in rows} == {"suspended"}


def test_a_state_change_without_a_notice_is_shown_at_once(client, lot_id):
    warm(client)
    moment = DEADLINE + dt.timedelta(minutes=1)
    with frozen(moment):  # as bidding's close does with three standing bids: no notice is posted
        assert services.close_lot(lot=db.session.get(Lot, lot_id), bids=3, moment=moment) == "closed"
    commit()
    total, rows = listing(client)
    state = client.get(f"/api/trading/lots/{lot_id}").get_json()["state"]
    assert total == 1 and rows[0]["lot_state"] == state == "bidding_closed"


def test_the_token_changes_with_a_committed_change_only(ctx, cast, lot_id):
    before = portal_cache.token()
    assert before is not None
    services.create_project(actor=cast["agency"], name="未发布的项目", category="construction", mode="open",
                            region="330203", tenderee_name="某单位",
                            lots=[{"name": "一标段", "estimate": 1, "bid_deadline": DEADLINE}])
    db.session.rollback()
    assert portal_cache.token() == before, "a rolled-back change invalidates nothing"
    cast["bidder"].name = "另一个名字"  # not a row the portal lists
    commit()
    assert portal_cache.token() == before
    db.session.get(Lot, lot_id).name = "第一标段（更正）"
    commit()
    assert portal_cache.token() != before


def test_a_draft_has_no_notice(ctx, cast):
    lot = draft_lot(cast["agency"], deadline=DEADLINE)
    with pytest.raises(StateConflict):
        add_notice(lot, "tender_notice", "不该发布的公告")


def test_region_filters_are_prefixes(client, cast, lot_id):
    """A city code ending in 00 means the whole city; the range that serves the index keeps LIKE's meaning."""
    with frozen(T0):
        published_lot(cast["agency"], at=T0, deadline=DEADLINE, region="331002", name="台州市黄岩区道路工程")
    commit()
    assert listing(client, region="330200")[0] == 1
    assert listing(client, region="33")[0] == 2
    assert listing(client, region="3310")[0] == 1
    assert listing(client, region="331")[0] == 1
    assert listing(client, region="11")[0] == 0
