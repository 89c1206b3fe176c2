"""The lifecycle through the services: publish, amend, object, download, suspend, cancel, close."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bidding.services import CLOSE_GRACE, close_bidding, close_due_lots
from core import signals
from core.clock import frozen
from core.db import db
from core.errors import NotFound
from core.events import OutboxEvent
from core.models import Notification
from core.scheduler import ScheduledTask
from core.storage import get_storage
from tests.trading.helpers import PDF, bj, draft_lot, grant_rep, published_lot
from trading import services
from trading.errors import Confidential, RuleViolation, StateConflict
from trading.models import Download, LotTransition, Notice

DEADLINE = bj(2026, 3, 24, 9)
T0 = bj(2026, 3, 4, 10)


def _events(name):
    return [e.payload for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name))]


def test_publish_records_event_notice_timeline_and_close_job(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    assert lot.state == "published" and lot.issue_start == T0 and lot.issue_end == DEADLINE
    assert _events("trading.lot_published")[0]["lot_id"] == lot.id
    assert db.session.scalar(select(Notice.kind).where(Notice.lot_id == lot.id)) == "tender_notice"
    assert db.session.scalar(select(LotTransition.to_state).where(LotTransition.lot_id == lot.id)) == "published"
    job = db.session.get(ScheduledTask, f"bidding-close-{lot.id}")  # bidding arms it on core.signals.deadline_set
    assert (job.task, job.args, job.run_at) == ("bidding.close_bidding", [lot.id], DEADLINE + CLOSE_GRACE)


def test_publish_refuses_a_short_period_and_leaves_the_draft_untouched(cast):
    lot = draft_lot(cast["agency"], deadline=bj(2026, 3, 23, 17))
    with frozen(T0), pytest.raises(RuleViolation) as err:
        services.publish_lot(actor=cast["agency"], lot=lot)
    assert err.value.to_dict()["rule"] == "招标投标法 第二十四条"


def test_publish_needs_documents_and_only_from_draft(cast):
    lot = draft_lot(cast["agency"], deadline=DEADLINE, document=False)
    with frozen(T0), pytest.raises(StateConflict, match="upload the tender documents"):
        services.publish_lot(actor=cast["agency"], lot=lot)
    services.upload_document(actor=cast["agency"], lot=lot, filename="a.pdf", data=PDF)
    with frozen(T0):
        services.publish_lot(actor=cast["agency"], lot=lot)
        with pytest.raises(StateConflict):
            services.publish_lot(actor=cast["agency"], lot=lot)


def test_invited_tendering_needs_three_invitees_at_publication(cast):
    lot = draft_lot(cast["agency"], deadline=DEADLINE, mode="invited",
                    invitees=[cast["bidder"].organisation_id, cast["bidder_b"].organisation_id])
    with frozen(T0), pytest.raises(RuleViolation) as err:
        services.publish_lot(actor=cast["agency"], lot=lot)
    assert err.value.rule == "招标投标法 第十七条"


def test_documents_are_content_addressed_and_identical_for_every_bidder(cast):
    """EBM Art.54(1): same rights, same bytes; the store key is the SHA-256."""
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    doc = lot.documents[0]
    assert doc.storage_key.endswith(doc.sha256) and doc.size == len(PDF)
    with frozen(T0 + dt.timedelta(days=1)):
        a = services.download_document(user=cast["bidder"], doc=doc).read()
        b = services.download_document(user=cast["bidder_b"], doc=doc).read()
    assert a == b == PDF
    assert get_storage().stat(doc.storage_key).sha256 == doc.sha256
    assert db.session.scalar(select(Download.id).where(Download.lot_id == lot.id).limit(1))


def test_draft_documents_are_invisible_to_bidders(cast):
    lot = draft_lot(cast["agency"], deadline=DEADLINE)
    with pytest.raises(NotFound):
        services.download_document(user=cast["bidder"], doc=lot.documents[0])
    with pytest.raises(StateConflict, match="amendment"):
        published = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
        services.upload_document(actor=cast["agency"], lot=published, filename="b.pdf", data=b"x")


@pytest.mark.parametrize("who,before,after", [
    ("agency", True, True), ("agency2", True, True), ("rep", True, True), ("supervisor", False, True)])
def test_downloaders_are_confidential_until_the_deadline(cast, who, before, after):
    """EBM Art.21, TBL Art.22: only the tenderee side sees downloaders before the deadline."""
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    grant_rep(cast["rep"], lot)
    with frozen(T0 + dt.timedelta(days=1)):
        services.download_document(user=cast["bidder"], doc=lot.documents[0])
    for moment, expected in ((DEADLINE - dt.timedelta(seconds=1), before), (DEADLINE, after)):
        with frozen(moment):
            if expected:
                assert len(services.downloads(user=cast[who], lot=lot)) == 1
            else:
                with pytest.raises(Confidential) as err:
                    services.downloads(user=cast[who], lot=lot)
                assert "第二十一条" in err.value.rule


def test_amendment_notifies_every_downloader_and_moves_a_short_deadline(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(bj(2026, 3, 5)):
        for bidder in ("bidder", "bidder_b"):
            services.download_document(user=cast[bidder], doc=lot.documents[0])
        services.download_document(user=cast["bidder"], doc=lot.documents[0])  # twice: one message
    with frozen(bj(2026, 3, 12, 10)):
        row = services.issue_amendment(actor=cast["agency"], lot=lot, title="澄清一", body="工期调整为180日历天",
                                       document=("补遗.pdf", b"%PDF addendum", "application/pdf"))
    assert row.moved_by_rule and row.new_deadline == bj(2026, 3, 27, 9) == lot.bid_deadline
    assert row.notified == 2
    notes = db.session.scalars(select(Notification).where(Notification.user_id.in_(
        [cast["bidder"].id, cast["bidder_b"].id]))).all()
    assert len(notes) == 2 and all("澄清" in n.subject and "2026-03-27 09:00" in n.body for n in notes)
    assert db.session.get(ScheduledTask, f"bidding-close-{lot.id}").run_at == bj(2026, 3, 27, 9) + CLOSE_GRACE
    assert lot.documents[-1].amendment_id == row.id
    assert _events("trading.amendment_issued")[0]["moved_by_rule"] is True


def test_amendment_in_time_keeps_the_deadline(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(bj(2026, 3, 9, 18)):
        row = services.issue_amendment(actor=cast["agency"], lot=lot, title="澄清", body="更正错别字")
    assert not row.moved_by_rule and lot.bid_deadline == DEADLINE


def test_objection_holds_the_lot_until_answered(cast):
    """TBR Art.22: the tenderee answers within 3 days and the process waits until it does."""
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(bj(2026, 3, 14, 12)):
        objection = services.file_objection(actor=cast["bidder"], lot=lot, body="资格条件排斥潜在投标人")
    assert objection.reply_due == bj(2026, 3, 17, 23, 59) + dt.timedelta(seconds=59, microseconds=999999)
    with frozen(DEADLINE):
        assert close_bidding(lot_id=lot.id) == "held_by_objection"
    assert lot.state == "published"
    with frozen(DEADLINE + dt.timedelta(hours=1)):
        services.answer_objection(actor=cast["agency"], objection=objection, answer="已修改资格条件")
        with pytest.raises(StateConflict):
            services.answer_objection(actor=cast["agency"], objection=objection, answer="again")
        assert close_bidding(lot_id=lot.id) == "failed"  # no bid came (条例 第四十四条)
    assert _events("trading.objection_answered")[0]["late"] is True


def test_objection_9_days_before_is_refused(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(bj(2026, 3, 15, 9)), pytest.raises(RuleViolation) as err:
        services.file_objection(actor=cast["bidder"], lot=lot, body="太晚了")
    assert err.value.rule == "招标投标法实施条例 第二十二条"


def test_close_bidding_at_the_deadline_not_before(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(DEADLINE - dt.timedelta(microseconds=1)):
        assert close_bidding(lot_id=lot.id) == "not_due"
    with frozen(DEADLINE):
        assert close_bidding(lot_id=lot.id) == "failed"  # no bid: fewer than 3 (条例 第四十四条)
        assert close_bidding(lot_id=lot.id) == "skipped:failed"
    assert lot.state == "failed" and lot.closed_at == DEADLINE
    closed = _events("bidding.bidding_closed")
    assert closed == [{"v": 1, "lot_id": lot.id, "closed_at": DEADLINE.isoformat(), "bids": 0,
                       "outcome": "failed", "deadline": DEADLINE.isoformat()}]


@pytest.mark.parametrize("bids,state", [(2, "failed"), (3, "bidding_closed")])
def test_fewer_than_three_bids_fail_the_lot(cast, bids, state):
    """TBR Art.44 ¶2: fewer than 3 bids → no opening, re-tender (trading's side: bidding counts)."""
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(DEADLINE):
        assert services.close_lot(lot=lot, bids=bids, moment=DEADLINE) == state.replace("bidding_", "")
    assert lot.state == state and lot.closed_at == DEADLINE
    if state == "failed":
        assert _events("trading.lot_failed")[0]["rule"] == "招标投标法实施条例 第四十四条"


def test_suspension_blocks_closing_and_resume_needs_a_live_deadline(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(bj(2026, 3, 10)):
        services.suspend_lot(actor=cast["supervisor"], lot=lot, reason="投诉处理期间暂停")
    with frozen(DEADLINE):
        assert close_bidding(lot_id=lot.id) == "skipped:suspended"
    with frozen(bj(2026, 3, 25)):
        with pytest.raises(StateConflict) as err:
            services.resume_lot(actor=cast["supervisor"], lot=lot)
        assert err.value.code == "deadline_passed_during_suspension"
        services.issue_amendment(actor=cast["agency"], lot=lot, title="延期", body="截止时间顺延")
        services.resume_lot(actor=cast["supervisor"], lot=lot, reason="投诉已处理")
    assert lot.state == "published" and lot.bid_deadline == bj(2026, 4, 9, 9)
    assert [t.action for t in db.session.scalars(select(LotTransition).where(LotTransition.lot_id == lot.id))] == [
        "publish", "suspend", "resume"]


def test_cancel_from_a_live_state_tells_the_downloaders(cast):
    lot = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    with frozen(bj(2026, 3, 5)):
        services.download_document(user=cast["bidder"], doc=lot.documents[0])
        services.cancel_lot(actor=cast["agency"], lot=lot, reason="项目取消")
    assert lot.state == "cancelled"
    assert db.session.scalar(select(Notification.subject).where(Notification.user_id == cast["bidder"].id))
    with pytest.raises(StateConflict):
        services.cancel_lot(actor=cast["agency"], lot=lot, reason="again")


def test_close_due_lots_catches_up_missed_jobs(cast):
    a = published_lot(cast["agency"], at=T0, deadline=DEADLINE)
    b = published_lot(cast["agency"], at=T0, deadline=bj(2026, 3, 30, 9))
    with frozen(bj(2026, 3, 25)):
        assert close_due_lots() == {a.id: "failed"}
    assert b.state == "published"


def test_draft_edits_only_before_publication(cast):
    lot = draft_lot(cast["agency"], deadline=DEADLINE)
    services.update_lot(actor=cast["agency"], lot=lot, changes={"name": "第二标段"})
    with pytest.raises(RuleViolation):
        from decimal import Decimal

        services.update_lot(actor=cast["agency"], lot=lot, changes={"bond_amount": Decimal("20000.01")})
    with frozen(T0):
        services.publish_lot(actor=cast["agency"], lot=lot)
    with pytest.raises(StateConflict):
        services.update_lot(actor=cast["agency"], lot=lot, changes={"name": "x"})


def test_demo_procedure_is_refused_in_test_env(cast):
    with pytest.raises(RuleViolation) as err:
        draft_lot(cast["agency"], deadline=DEADLINE, category="demo")
    assert err.value.code == "demo_procedure_refused"


def test_a_publishing_receiver_of_another_domain_can_refuse_publication(cast):
    """Another domain's check (bidding: custodians of the opening key) refuses with its own rule,
    and the draft stays a draft."""
    from core.errors import ValidationFailed

    def refuse(lot):
        raise ValidationFailed("custodians missing", code="custodians_missing", rule="电子招标投标办法 第二十七条")

    lot = draft_lot(cast["agency"], deadline=DEADLINE)
    with signals.lot_publishing.connected_to(refuse), frozen(T0), pytest.raises(ValidationFailed) as err:
        services.publish_lot(actor=cast["agency"], lot=lot)
    assert err.value.code == "custodians_missing" and lot.state == "draft"
