"""The procedure table (pure): every limit of RULES §2a with its article, and its boundary days
both ways — inclusive/exclusive (GP87 Art.86), the day-after start (GP87 Art.85), holidays."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.trading.helpers import bj
from trading import procedures as p
from trading.errors import RuleViolation

CON = p.PROCEDURES["construction.open"]
CON_INV = p.PROCEDURES["construction.invited"]
GP = p.PROCEDURES["gov_procurement.open"]
GP_INV = p.PROCEDURES["gov_procurement.invited"]


def _refused(code: str, article: str, fn, *args, **kwargs):
    with pytest.raises(RuleViolation) as err:
        fn(*args, **kwargs)
    assert err.value.code == code
    assert article in (err.value.rule or ""), f"{code} should cite {article}, cites {err.value.rule}"
    return err.value


def test_every_row_cites_an_article_for_every_limit():
    for config in p.PROCEDURES.values():
        for name, limit in config.limits().items():
            assert limit.article, f"{config.key}.{name} has no article"
        for count in (config.min_bids, config.max_candidates, config.bond_max, config.performance_bond_max):
            assert count.article
    assert CON.bidding_period.article == "招标投标法 第二十四条"
    assert GP.bidding_period.article == "政府采购法 第三十五条"
    assert CON_INV.min_invitees.article == "招标投标法 第十七条" and CON.min_invitees is None


# --- 招标投标法 第二十四条 / 政府采购法 第三十五条: bidding period ≥ 20 days -------------------------

def _schedule(config, start, deadline, end=None):
    p.check_schedule(config, issue_start=start, issue_end=end or deadline, deadline=deadline)


@pytest.mark.parametrize("config", [CON, GP], ids=["招标投标法第二十四条", "政府采购法第三十五条"])
def test_bidding_period_exactly_20_days_is_enough_19_is_not(config):
    start = bj(2026, 3, 4, 10)  # Wednesday; day 20 = Tuesday 24 March, a working day
    _schedule(config, start, bj(2026, 3, 24, 9))
    _refused("bidding_period_too_short", config.bidding_period.article, _schedule, config, start,
             bj(2026, 3, 23, 17))


def test_bidding_period_counts_from_the_day_after_publication_in_beijing_time():
    """GP87 Art.85: the start day is not counted, and the legal day is Beijing's, not UTC's."""
    deadline = bj(2026, 3, 24, 9)
    _schedule(CON, bj(2026, 3, 4, 23, 30), deadline)  # late on the 4th: still 20 days
    # 00:30 on the 5th in Beijing is still the 4th in UTC: the legal day is the 5th → 19 days
    _refused("bidding_period_too_short", "第二十四条", _schedule, CON, bj(2026, 3, 5, 0, 30), deadline)


def test_bidding_period_ending_on_a_holiday_runs_to_the_next_working_day():
    """GP87 Art.85: day 20 is 1 October (国庆节) → the earliest deadline is Thursday 8 October."""
    start = bj(2026, 9, 11, 10)
    _refused("bidding_period_too_short", "第二十四条", _schedule, CON, start, bj(2026, 10, 7, 9))
    _schedule(CON, start, bj(2026, 10, 8, 9))


def test_bidding_period_ending_on_a_weekend_runs_to_monday():
    start = bj(2026, 3, 2, 10)  # day 20 = Sunday 22 March
    _refused("bidding_period_too_short", "第二十四条", _schedule, CON, start, bj(2026, 3, 22, 9))
    _schedule(CON, start, bj(2026, 3, 23, 9))


# --- 招标投标法实施条例 第十六条 (5 days) / 政府采购法实施条例 第三十一条 (5 working days) -----------

def test_construction_document_issue_is_5_calendar_days():
    start, deadline = bj(2026, 3, 4, 10), bj(2026, 3, 30, 9)
    _schedule(CON, start, deadline, end=bj(2026, 3, 9, 17))  # Monday, day 5
    _refused("doc_issue_too_short", "招标投标法实施条例 第十六条", _schedule, CON, start, deadline,
             bj(2026, 3, 8, 17))


def test_procurement_document_issue_is_5_working_days():
    start, deadline = bj(2026, 3, 2, 10), bj(2026, 3, 30, 9)  # Monday; working days 3,4,5,6,9 March
    _schedule(GP, start, deadline, end=bj(2026, 3, 9, 17))
    _refused("doc_issue_too_short", "政府采购法实施条例 第三十一条", _schedule, GP, start, deadline,
             bj(2026, 3, 8, 17))


def test_procurement_document_issue_skips_the_national_day_week():
    start, deadline = bj(2026, 9, 23, 10), bj(2026, 10, 20, 9)  # 24 Sep, 28-30 Sep, 8 Oct
    _refused("doc_issue_too_short", "第三十一条", _schedule, GP, start, deadline, bj(2026, 10, 7, 17))
    _schedule(GP, start, deadline, end=bj(2026, 10, 8, 17))


def test_document_issue_cannot_outlast_the_deadline():
    _refused("doc_issue_after_deadline", "第二十四条", _schedule, CON, bj(2026, 3, 4), bj(2026, 3, 30, 9),
             bj(2026, 3, 31))


# --- 招标投标法 第二十三条, 招标投标法实施条例 第二十一条: amendments 15 days before the deadline -----

def test_amendment_15_days_before_keeps_the_deadline_14_moves_it():
    deadline = bj(2026, 3, 24, 9)
    assert p.amended_deadline(CON, issued_at=bj(2026, 3, 9, 16), deadline=deadline, requested=None) == deadline
    moved = p.amended_deadline(CON, issued_at=bj(2026, 3, 10, 8), deadline=deadline, requested=None)
    assert moved == bj(2026, 3, 25, 9), "不足15日: moved to 15 days after the amendment, same time of day"


def test_a_moved_deadline_lands_on_a_working_day():
    moved = p.amended_deadline(CON, issued_at=bj(2026, 9, 16, 10), deadline=bj(2026, 9, 28, 9), requested=None)
    assert moved == bj(2026, 10, 8, 9), "16 Sep + 15 days = 1 Oct (国庆节) → 8 Oct"


def test_a_requested_new_deadline_must_itself_leave_15_days():
    deadline = bj(2026, 3, 24, 9)
    _refused("amendment_deadline_too_early", "招标投标法实施条例 第二十一条", p.amended_deadline, CON,
             issued_at=bj(2026, 3, 12), deadline=deadline, requested=bj(2026, 3, 26, 9))
    assert p.amended_deadline(CON, issued_at=bj(2026, 3, 12), deadline=deadline,
                              requested=bj(2026, 3, 27, 9)) == bj(2026, 3, 27, 9)
    _refused("deadline_brought_forward", "第二十一条", p.amended_deadline, CON, issued_at=bj(2026, 3, 1),
             deadline=deadline, requested=bj(2026, 3, 23, 9))


def test_procurement_amendment_cites_gp87_article_27():
    assert "第二十七条" in GP.amendment_lead.article and GP.amendment_lead.days == 15


# --- 招标投标法实施条例 第二十二条: objections ≥ 10 days before; reply within 3 days -----------------

def test_objection_10_days_before_the_deadline_is_in_time_9_is_not():
    deadline = bj(2026, 3, 24, 9)
    p.check_objection_time(CON, filed_at=bj(2026, 3, 14, 23), deadline=deadline, knew_at=bj(2026, 3, 4))
    _refused("objection_too_late", "招标投标法实施条例 第二十二条", p.check_objection_time, CON,
             filed_at=bj(2026, 3, 15, 8), deadline=deadline, knew_at=bj(2026, 3, 4))


def test_reply_is_due_by_the_end_of_the_third_day():
    due = p.reply_due(CON, bj(2026, 3, 10, 15))
    assert CON.objection_reply.within(bj(2026, 3, 10, 15), bj(2026, 3, 13, 23, 59))
    assert not CON.objection_reply.within(bj(2026, 3, 10, 15), bj(2026, 3, 14, 0, 1))
    assert due < bj(2026, 3, 14, 0, 0) and due > bj(2026, 3, 13, 23, 59)


def test_reply_period_ending_on_a_holiday_is_extended():
    """Filed Monday 28 Sep: day 3 is 1 Oct (国庆节) → the reply is due by the end of 8 Oct (GP87 Art.85)."""
    assert CON.objection_reply.within(bj(2026, 9, 28), bj(2026, 10, 8, 20))
    assert not CON.objection_reply.within(bj(2026, 9, 28), bj(2026, 10, 9, 0, 1))


def test_procurement_challenge_within_7_working_days_of_getting_the_documents():
    """政府采购法 第五十二条, 实施条例 第五十三条: 7 working days from receipt (Mon 2 Mar → Wed 11 Mar)."""
    deadline = bj(2026, 3, 30, 9)
    p.check_objection_time(GP, filed_at=bj(2026, 3, 11, 17), deadline=deadline, knew_at=bj(2026, 3, 2, 10))
    _refused("objection_too_late", "政府采购法 第五十二条", p.check_objection_time, GP,
             filed_at=bj(2026, 3, 12, 9), deadline=deadline, knew_at=bj(2026, 3, 2, 10))


def test_procurement_reply_within_7_working_days():
    assert GP.objection_reply.article == "政府采购法 第五十三条"
    assert GP.objection_reply.within(bj(2026, 3, 2), bj(2026, 3, 11, 20))
    assert not GP.objection_reply.within(bj(2026, 3, 2), bj(2026, 3, 12, 0, 1))


# --- money and counts -------------------------------------------------------------------------------

@pytest.mark.parametrize("config,article", [(CON, "招标投标法实施条例 第二十六条"), (GP, "政府采购法实施条例 第三十三条")])
def test_bid_bond_at_most_2_percent(config, article):
    p.check_bond(config, bond=Decimal("20000.00"), base=Decimal("1000000.00"))
    _refused("bond_too_high", article, p.check_bond, config, bond=Decimal("20000.01"), base=Decimal("1000000.00"))


@pytest.mark.parametrize("config,article", [(CON, "招标投标法实施条例 第五十八条"), (GP, "政府采购法实施条例 第四十八条")])
def test_performance_bond_at_most_10_percent(config, article):
    p.check_performance_bond(config, bond=Decimal("100000.00"), contract=Decimal("1000000.00"))
    _refused("performance_bond_too_high", article, p.check_performance_bond, config, bond=Decimal("100000.01"),
             contract=Decimal("1000000.00"))


def test_at_least_3_bids_招标投标法实施条例_第四十四条():
    assert CON.min_bids.article == "招标投标法实施条例 第四十四条"
    assert p.enough_bids(CON, 3) and not p.enough_bids(CON, 2)
    assert p.enough_bids(GP, 3) and not p.enough_bids(GP, 2)


def test_at_most_3_candidates_招标投标法实施条例_第五十三条():
    p.check_candidates(CON, 3)
    _refused("too_many_candidates", "第五十三条", p.check_candidates, CON, 4)


@pytest.mark.parametrize("config,article", [(CON_INV, "招标投标法 第十七条"), (GP_INV, "政府采购法 第三十四条")])
def test_invited_tendering_needs_3_invitees(config, article):
    p.check_invitees(config, 3)
    _refused("too_few_invitees", article, p.check_invitees, config, 2)
    p.check_invitees(CON, 0)  # open tendering invites nobody


def test_publicity_contract_and_report_limits():
    assert (CON.publicity.days, CON.publicity.article) == (3, "招标投标法实施条例 第五十四条")
    assert CON.publicity.satisfied(bj(2026, 3, 2), bj(2026, 3, 5)) and not CON.publicity.satisfied(
        bj(2026, 3, 2), bj(2026, 3, 4, 23))
    assert CON.contract_within.within(bj(2026, 3, 2), bj(2026, 4, 1, 20))  # day 30 = 1 April
    assert not CON.contract_within.within(bj(2026, 3, 2), bj(2026, 4, 2, 1))
    assert CON.contract_within.article == "招标投标法 第四十六条" and CON.report_within.article == "招标投标法 第四十七条"
    assert CON.report_within.within(bj(2026, 3, 2), bj(2026, 3, 17, 20))  # day 15 = Tuesday 17 March
    assert not CON.report_within.within(bj(2026, 3, 2), bj(2026, 3, 18, 1))
    assert GP.publicity.kind == "working" and GP.publicity.days == 1


# --- the table itself ---------------------------------------------------------------------------------

def test_demo_procedure_is_refused_outside_the_demo():
    assert p.procedure_for("demo", "open", env="demo").bidding_period.minutes == 5
    for env in ("production", "test"):
        with pytest.raises(RuleViolation) as err:
            p.procedure_for("demo", "open", env=env)
        assert err.value.code == "demo_procedure_refused"


def test_unknown_procedure_is_a_422_not_a_keyerror():
    with pytest.raises(RuleViolation) as err:
        p.procedure_for("land", "auction", env="production")
    assert err.value.status == 422 and err.value.code == "unknown_procedure"


def test_a_year_missing_from_the_holiday_table_is_refused_with_the_reason():
    with pytest.raises(p.CalendarMissing) as err:
        _schedule(CON, bj(2030, 3, 4), bj(2030, 3, 30))
    assert err.value.status == 422 and "2030" in err.value.detail


def test_demo_minutes():
    demo = p.PROCEDURES["demo.open"]
    start = bj(2026, 3, 4, 10)
    _schedule(demo, start, bj(2026, 3, 4, 10, 5), end=bj(2026, 3, 4, 10, 2))
    with pytest.raises(RuleViolation):
        _schedule(demo, start, bj(2026, 3, 4, 10, 4))


def test_as_dict_lists_every_limit_with_text():
    data = p.as_dict(CON)
    assert data["limits"]["bidding_period"] == {"days": 20, "kind": "calendar", "minutes": 0,
                                                "article": "招标投标法 第二十四条", "text": "20 calendar days"}
    assert data["ratios"]["bond_max"]["value"] == "0.02"
