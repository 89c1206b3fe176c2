"""Pool admission, the draw from request to seats, avoidance from real rows, replacements, publication."""
from __future__ import annotations

import datetime as dt

import pytest

from core import identity
from core.clock import frozen, now
from core.db import db
from core.errors import Conflict, Forbidden, ValidationFailed
from experts import services
from experts.models import Draw
from experts.verify import verify_bundle
from tests.experts import helpers as h
from tests.factories import make_org, make_user


@pytest.fixture
def cast(ctx):
    manager, supervisor = make_user("pool_manager"), make_user("supervisor")
    lot = h.closed_lot()
    return {"manager": manager, "supervisor": supervisor, "lot": lot, "operator": h.operator_for(lot)}


def test_admission_needs_years_and_senior_title_unless_attested(cast):
    h.pool(cast["manager"], n=0)
    with pytest.raises(ValidationFailed) as err:
        h.expert(cast["manager"], years=7)
    assert err.value.code == "not_qualified" and "第十一条" in err.value.rule
    with pytest.raises(ValidationFailed):
        h.expert(cast["manager"], senior_title=False)
    assert h.expert(cast["manager"], years=8).id
    assert h.expert(cast["manager"], years=5, attestation="省级专业技术能力认定 2024-017").id
    for bad in ({"employer_uscc": "123"}, {"region": "x"}, {"specialties": ["Z9"]}, {"name": " "}):
        with pytest.raises(ValidationFailed):
            h.expert(cast["manager"], **bad)


def test_import_reports_row_level_errors_and_keeps_good_rows(cast, tmp_path):
    h.pool(cast["manager"], n=0)
    good = f"张三,330203197001011111,高级工程师,是,10,{h.uscc()},某设计院,330100,A0101,13800000000,,,"
    rows = ["name,id_number,title,senior_title,years,employer_uscc,employer_name,region,specialties,phone,"
            "attestation,relatives,interests", good,
            f"李四,330203197001012222,工程师,否,3,{h.uscc()},某公司,330100,A0101,,,,",
            "王五,330203197001013333,高级工程师,是,abc,X,某公司,330100,A0101,,,,"]
    path = tmp_path / "pool.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    result = services.import_rows(actor=cast["manager"], rows=services.read_rows(path))
    assert len(result["admitted"]) == 1
    assert [(e["row"], e["error"]) for e in result["errors"]] == [(3, "not_qualified"), (4, "invalid_years")]


def test_import_reads_excel(cast, tmp_path):
    from openpyxl import Workbook

    h.pool(cast["manager"], n=0)
    wb = Workbook()
    wb.active.append(["name", "id_number", "title", "senior_title", "years", "employer_uscc", "region", "specialties"])
    wb.active.append(["赵六", "330203197001014444", "正高级工程师", "是", 20, h.uscc(), "330100", "B0201"])
    wb.save(tmp_path / "pool.xlsx")
    result = services.import_rows(actor=cast["manager"], rows=services.read_rows(tmp_path / "pool.xlsx"))
    assert len(result["admitted"]) == 1 and not result["errors"]


def _request(cast, **extra):
    data = {"size": 5, "tenderee_reps": 0, "quotas": h.quotas()}
    data.update(extra)
    return services.request_draw(actor=cast["operator"], lot=cast["lot"], **data)


def test_draw_seats_members_notifies_and_verifies_after_publication(cast):
    h.pool(cast["manager"])
    draw = h.run_draw(_request(cast), cast["operator"], cast["supervisor"])
    assert draw.state == "drawn" and len(h.seats(draw)) == 5
    assert all(s.respond_by > now() for s in h.seats(draw))
    with pytest.raises(Conflict, match="confidential"):
        services.publish(draw=draw)
    cast["lot"].state = "awarded"
    services.publish(draw=draw)
    assert verify_bundle(services.publication_bundle(draw=draw))["valid"]


def test_draw_refused_before_the_deadline_and_with_a_bad_make_up(cast):
    h.pool(cast["manager"])
    open_lot = h.published_lot(make_user("agency"), at=h.T0, deadline=now() + dt.timedelta(days=30))
    with pytest.raises(Conflict, match="deadline"):
        services.request_draw(actor=cast["operator"], lot=open_lot, size=5, tenderee_reps=0, quotas=h.quotas())
    for bad in ({"size": 4}, {"tenderee_reps": 2}, {"quotas": h.quotas(1, 1)}, {"quotas": [{"specialty": "Q", "count": 5}]}):
        with pytest.raises(ValidationFailed):
            _request(cast, **bad)
    assert db.session.scalar(db.select(db.func.count()).select_from(Draw)) == 0


def test_neither_party_alone_and_a_changed_contribution_is_refused(cast):
    h.pool(cast["manager"])
    draw = _request(cast)
    with pytest.raises(Forbidden):
        services.commit(actor=make_user("agency"), draw=draw, commitment="0" * 64)
    services.commit(actor=cast["operator"], draw=draw, commitment=h.commitment(draw, "operator", "op"))
    with pytest.raises(Conflict):
        services.reveal(actor=cast["operator"], draw=draw, contribution=h.contribution("op"))
    services.commit(actor=cast["supervisor"], draw=draw, commitment=h.commitment(draw, "supervisor", "sup"))
    assert draw.state == "committed" and draw.snapshot_hash
    with pytest.raises(ValidationFailed) as err:  # the supervisor tries another contribution after seeing both
        services.reveal(actor=cast["supervisor"], draw=draw, contribution=h.contribution("steer"))
    assert err.value.code == "commitment_mismatch"


def test_same_person_cannot_be_both_parties(cast):
    """A supervisor cannot also operate the draw: the duty is refused to the account (GRANT_ROLES),
    and a bidder takes no part at all."""
    h.pool(cast["manager"])
    draw = _request(cast)
    with pytest.raises(ValidationFailed) as err:
        identity.grant(user=cast["supervisor"], grant_name="draw_operator", scope_id=cast["lot"].id)
    assert err.value.code == "grant_role_mismatch" and "第三十七条" in err.value.rule
    with pytest.raises(Forbidden):
        services.commit(actor=make_user("bidder"), draw=draw, commitment="1" * 64)


def test_avoidance_from_rows_excludes_employer_of_bidder_relative_and_banned(cast):
    manager = cast["manager"]
    bidder = make_org(legal_rep={"name": "法人", "id_number_hash": identity.hash_id_number("330203196001010001")})
    experts = h.pool(manager, n=12)
    barred = [h.expert(manager, employer_uscc=bidder.uscc),
              h.expert(manager, relatives=[{"id_number": "330203196001010001"}]),
              h.expert(manager, interests=[{"org_uscc": bidder.uscc}])]
    services.set_status(actor=manager, expert=experts[0], status="banned", ban_until=now() + dt.timedelta(days=30))
    services.add_credit_event(actor=manager, expert=experts[1], kind="administrative_penalty", legal_basis="条例第七十二条")
    draw = h.run_draw(_request(cast, bidder_org_ids=[bidder.id]), cast["operator"], cast["supervisor"])
    reasons = {tuple(x["reasons"]) for x in draw.exclusions}
    assert {("employer_bidder",), ("relative_of_bidder",), ("interest_in_bidder",), ("banned",),
            ("prior_penalty",)} <= reasons
    seated = {s.expert_id for s in h.seats(draw)}
    assert not seated & {e.id for e in [*barred, experts[0], experts[1]]}


def test_the_bidders_handed_down_at_the_close_feed_the_draw(cast):
    h.pool(cast["manager"])
    bidder, named = make_org(), make_org()
    services.record_bidders(lot_id=cast["lot"].id, organisation_ids=[bidder.id, bidder.id])
    assert services.bidders_of(cast["lot"].id) == [bidder.id]
    assert _request(cast, bidder_org_ids=[named.id]).rules["bidder_org_ids"] == sorted([bidder.id, named.id])


def test_frequency_rule_counts_seats_for_the_same_tenderee(cast):
    """Experts seated for this tenderee more than N times in 12 months are excluded; N times are not."""
    h.pool(cast["manager"], n=14)
    first = h.run_draw(_request(cast, frequency_limit=0), cast["operator"], cast["supervisor"])
    assert not any("frequency" in x["reasons"] for x in first.exclusions)
    lot2 = h.closed_lot(name="宁波市轨道交通5号线二期")
    op2 = h.operator_for(lot2)
    second = services.request_draw(actor=op2, lot=lot2, size=5, tenderee_reps=0, quotas=h.quotas(),
                                   frequency_limit=0)
    h.run_draw(second, op2, cast["supervisor"])
    assert sum("frequency" in x["reasons"] for x in second.exclusions) == 5


def test_decline_timeout_and_conflict_each_bring_a_linked_replacement(cast):
    h.pool(cast["manager"], n=20)
    draw = h.run_draw(_request(cast), cast["operator"], cast["supervisor"])
    first, second, third = h.seats(draw)[:3]
    services.decline(actor=None, member=first, reason="出差")
    services.declare(actor=None, member=second, conflict=True)
    with frozen(third.respond_by + dt.timedelta(seconds=1)):
        assert services.expire(member_id=third.id) == "replaced"
        with pytest.raises(Conflict):
            services.confirm(actor=None, member=third)
    db.session.flush()
    reps = db.session.scalars(db.select(Draw).where(Draw.parent_id == draw.id)).all()
    assert len(reps) == 3 and all(r.replacement["replaces"] for r in reps)
    live = [s for s in h.seats(draw) if s.state in ("notified", "confirmed")]
    assert len(live) == 5 and len({s.expert_id for s in live}) == 5
    assert {first.replaced_by_id, second.replaced_by_id, third.replaced_by_id} <= {s.id for s in live}
    cast["lot"].state = "awarded"
    services.publish(draw=draw)
    report = verify_bundle(services.publication_bundle(draw=draw))
    assert report["valid"], [c for c in report["checks"] if not c["ok"]]
    fairness = services.fairness_report()
    assert fairness["draws"] == 4 and sum(r["declines"] for r in fairness["experts"]) == 2


def test_replacement_skips_a_reserve_banned_after_the_draw(cast):
    experts = h.pool(cast["manager"], n=20)
    draw = h.run_draw(_request(cast), cast["operator"], cast["supervisor"])
    member = next(s for s in h.seats(draw) if s.specialty == "A01")
    from experts import selection as sel
    from experts.services.snapshot import pseudonym_index

    outcome = sel.run(seed_hex=draw.seed, snapshot=draw.snapshot, exclusions=draw.exclusions, quotas=draw.quotas)
    next_reserve = pseudonym_index(draw)[outcome.shuffles[0].position(3)]
    services.set_status(actor=cast["manager"], expert=next(e for e in experts if e.id == next_reserve),
                        status="suspended")
    services.decline(actor=None, member=member)
    new = db.session.get(type(member), member.replaced_by_id)
    assert new.expert_id != next_reserve and new.position == 4
    cast["lot"].state = "awarded"
    services.publish(draw=draw)
    assert verify_bundle(services.publication_bundle(draw=draw))["valid"]


def test_reserve_exhausted_is_a_conflict_citing_gp_art_49(cast):
    h.pool(cast["manager"], n=10)
    draw = h.run_draw(_request(cast), cast["operator"], cast["supervisor"])
    declines = [s for s in h.seats(draw) if s.specialty == "B02"]
    services.decline(actor=None, member=declines[0])
    services.decline(actor=None, member=declines[1])
    target = next(s for s in h.seats(draw) if s.state == "notified" and s.specialty == "B02")
    services.decline(actor=None, member=target)
    target = next(s for s in h.seats(draw) if s.state == "notified" and s.specialty == "B02")
    with pytest.raises(Conflict) as err:
        services.decline(actor=None, member=target)
    assert "第四十九条" in err.value.rule
