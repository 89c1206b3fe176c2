"""Legal time (core.calendar): day counting, holiday extension, the holiday table.

Articles: GP87 = 《政府采购货物和服务招标投标管理办法》(财政部令第87号); TBL = 招标投标法;
TBR = 招标投标法实施条例.  Dates are chosen so that each test states its expected day by hand.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendar as cal
from core.calendar import CalendarYearMissing, HolidayTable, HolidayTableError, PeriodRule

D = dt.date
UTC = dt.UTC
DATA = Path(cal.__file__).parent / "data" / "holidays_cn.json"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(DATA.read_text("utf-8"))


# --- legal dates ------------------------------------------------------------------------------------


def test_utc_shanghai_date_boundary():
    """16:00 UTC is 00:00 the next day in Shanghai: the legal date changes there (DESIGN §3 Legal time)."""
    assert cal.legal_date(utc(2025, 3, 3, 15, 59, 59, 999999)) == D(2025, 3, 3)
    assert cal.legal_date(utc(2025, 3, 3, 16, 0)) == D(2025, 3, 4)
    assert cal.legal_date(D(2025, 3, 3)) == D(2025, 3, 3)


def test_day_count_uses_the_shanghai_date_of_the_start():
    """GP87 Art.85 "开始当天不计入": the start day is the Shanghai date, so 17:00 UTC starts a day later."""
    assert cal.add_period(utc(2025, 3, 3, 15, 0), 1, kind="calendar") == D(2025, 3, 4)
    assert cal.add_period(utc(2025, 3, 3, 17, 0), 1, kind="calendar") == D(2025, 3, 5)


def test_naive_datetime_refused():
    """A naive timestamp could be UTC or local; the two differ by a legal day for 8 hours a day."""
    with pytest.raises(ValueError, match="naive"):
        cal.legal_date(dt.datetime(2025, 3, 3, 12))


def test_period_end_instant_is_end_of_last_shanghai_day_in_utc():
    """民法典 第二百零三条 "截止时间为二十四时": 23:59:59.999999 Shanghai = 15:59:59.999999 UTC."""
    end = cal.period_end_instant(D(2025, 3, 3), 3, kind="calendar")
    assert end == utc(2025, 3, 6, 15, 59, 59, 999999)
    assert end.tzinfo == UTC
    assert cal.period_end_instant(D(2025, 3, 3), 3, kind="calendar", at=dt.time(17, 0)) == utc(2025, 3, 6, 9)


# --- working days -------------------------------------------------------------------------------------


def test_adjusted_working_saturday_is_a_working_day():
    """国办发明电〔2024〕12号: Saturday 2025-10-11 is worked (调休上班); Sunday 2025-10-12 is not."""
    assert cal.is_working_day(D(2025, 10, 11))
    assert not cal.is_working_day(D(2025, 10, 12))
    assert not cal.is_working_day(D(2025, 10, 8))  # Wednesday inside the National Day holiday


def test_working_days_across_spring_festival_2025():
    """GP87 Art.18 counts working days; Spring Festival 2025 is off 01-28..02-04, 01-26 (Sun) is worked.

    From Friday 2025-01-24: day 1 = Sun 01-26 (调休), day 2 = Mon 01-27, then the holiday, day 3 = Wed
    02-05, day 4 = 02-06, day 5 = 02-07.
    """
    assert cal.add_period(D(2025, 1, 24), 5, kind="working") == D(2025, 2, 7)
    assert cal.days_between(D(2025, 1, 24), D(2025, 2, 7), kind="working") == 5
    assert cal.days_between(D(2025, 1, 24), D(2025, 2, 6), kind="working") == 4


def test_working_days_across_spring_festival_2026():
    """国办发明电〔2025〕7号: off 2026-02-15..02-23, Sat 02-14 and Sat 02-28 worked."""
    assert cal.add_period(D(2026, 2, 13), 1, kind="working") == D(2026, 2, 14)
    assert cal.add_period(D(2026, 2, 13), 2, kind="working") == D(2026, 2, 24)
    assert cal.add_period(D(2026, 2, 24), 4, kind="working") == D(2026, 2, 28)


def test_working_period_start_day_counted_only_when_asked():
    """GP87 Art.85 "从次日开始计算" by default; start_next_day=False counts a working start day as day 1."""
    assert cal.add_period(D(2025, 3, 3), 1, kind="working") == D(2025, 3, 4)
    assert cal.add_period(D(2025, 3, 3), 1, kind="working", start_next_day=False) == D(2025, 3, 3)
    assert cal.add_period(D(2025, 3, 1), 1, kind="working", start_next_day=False) == D(2025, 3, 3)


# --- calendar periods, extension ------------------------------------------------------------------


def test_calendar_period_starts_the_day_after():
    """GP87 Art.85 "开始当天不计入，从次日开始计算": from Mon 2025-03-03, day 20 is Sun 03-23 -> Mon 03-24."""
    raw_end = cal.add_period(D(2025, 3, 3), 20, kind="calendar", end_extends_to_working_day=False)
    assert raw_end == D(2025, 3, 23)
    assert cal.add_period(D(2025, 3, 3), 20, kind="calendar") == D(2025, 3, 24)
    assert cal.add_period(D(2025, 3, 3), 20, kind="calendar", start_next_day=False,
                          end_extends_to_working_day=False) == D(2025, 3, 22)


def test_last_day_on_national_day_extends_to_first_working_day_after():
    """GP87 Art.85 "期限的最后一日是国家法定节假日的，顺延到节假日后的次日": 2025-10-01 -> Thu 2025-10-09."""
    start = D(2025, 9, 1)  # 30 days later is 2025-10-01
    assert cal.add_period(start, 30, kind="calendar", end_extends_to_working_day=False) == D(2025, 10, 1)
    assert cal.add_period(start, 30, kind="calendar") == D(2025, 10, 9)
    assert PeriodRule(30, article="招标投标法 第四十六条").deadline_from(start) == D(2025, 10, 9)


def test_last_day_on_adjusted_working_saturday_does_not_extend():
    """Art.85 extends only past a holiday; 2025-10-11 is a 调休上班 Saturday, so the period ends on it."""
    assert cal.add_period(D(2025, 10, 1), 10, kind="calendar") == D(2025, 10, 11)


def test_missing_year_is_refused_with_the_year_named():
    """DESIGN §3: a computation that needs a missing year refuses with a clear error."""
    with pytest.raises(CalendarYearMissing, match="2027") as info:
        cal.add_period(D(2026, 12, 20), 10, kind="working")
    assert info.value.year == 2027
    assert isinstance(info.value, ValueError)
    with pytest.raises(CalendarYearMissing, match="2023"):
        cal.is_working_day(D(2023, 6, 6))


def test_plain_calendar_count_needs_no_table():
    """A raw calendar count (no extension) is arithmetic and works for any year."""
    assert cal.days_between(D(2030, 1, 1), D(2030, 1, 21), kind="calendar") == 20
    raw_end = cal.add_period(D(2030, 1, 1), 20, kind="calendar", end_extends_to_working_day=False)
    assert raw_end == D(2030, 1, 21)


# --- minimum periods: "≥ N days" --------------------------------------------------------------------


def test_bidding_period_exactly_20_days_passes_and_19_fails():
    """TBL Art.24 "最短不得少于二十日" with GP87 Art.86 ("不足" excludes the number): 20 ok, 19 refused.

    Published Wed 2025-03-05 (not counted); day 20 is Tue 03-25.
    """
    published = utc(2025, 3, 5, 2, 0)  # 10:00 Shanghai
    assert cal.earliest_allowed_deadline(published, 20, kind="calendar") == D(2025, 3, 25)
    assert cal.is_period_long_enough(published, utc(2025, 3, 25, 1, 30), 20, kind="calendar")
    assert not cal.is_period_long_enough(published, utc(2025, 3, 24, 8, 0), 20, kind="calendar")
    assert cal.days_between(published, utc(2025, 3, 25, 1, 30), kind="calendar") == 20
    assert cal.days_between(published, utc(2025, 3, 24, 8, 0), kind="calendar") == 19


def test_deadline_just_after_midnight_shanghai_counts_the_next_day():
    """A deadline at 16:30 UTC on 03-24 is 00:30 on 03-25 in Shanghai: day 20, so long enough."""
    assert cal.is_period_long_enough(D(2025, 3, 5), utc(2025, 3, 24, 16, 30), 20, kind="calendar")
    assert not cal.is_period_long_enough(D(2025, 3, 5), utc(2025, 3, 24, 15, 59), 20, kind="calendar")


def test_minimum_period_whose_last_day_is_a_holiday_needs_the_next_working_day():
    """TBL Art.24 read with GP87 Art.85: 20 days from 2025-09-11 fall on 10-01, so 10-09 is the earliest."""
    rule = PeriodRule(20, "calendar", article="招标投标法 第二十四条")
    assert rule.deadline_from(D(2025, 9, 11)) == D(2025, 10, 9)
    assert not rule.satisfied(D(2025, 9, 11), D(2025, 10, 8))
    assert rule.satisfied(D(2025, 9, 11), D(2025, 10, 9))
    no_ext = PeriodRule(20, "calendar", extend_if_holiday=False)
    assert no_ext.satisfied(D(2025, 9, 11), D(2025, 10, 1))


def test_doc_issue_period_five_working_days():
    """GP87 Art.18 "不得少于5个工作日": published Thu 2025-04-03; Qingming 04-04..06 is skipped."""
    rule = PeriodRule(5, "working", article=cal.ART_85)
    assert rule.deadline_from(D(2025, 4, 3)) == D(2025, 4, 11)
    assert rule.satisfied(D(2025, 4, 3), D(2025, 4, 11))
    assert not rule.satisfied(D(2025, 4, 3), D(2025, 4, 10))


# --- "within N days" ---------------------------------------------------------------------------------


def test_within_includes_the_last_day():
    """TBR Art.22 "自收到异议之日起3日内作出答复", GP87 Art.86 "内…包括本数": day 3 in time, day 4 late."""
    received = D(2025, 3, 3)  # Monday
    assert cal.is_within(received, D(2025, 3, 6), 3, kind="calendar")
    assert not cal.is_within(received, D(2025, 3, 7), 3, kind="calendar")
    assert PeriodRule(3).within(received, utc(2025, 3, 6, 15, 59))
    assert not PeriodRule(3).within(received, utc(2025, 3, 6, 16, 0))


# --- lead times: "at least N days before the deadline" --------------------------------------------


def test_amendment_lead_time_15_days_both_ways():
    """TBR Art.21 "投标截止时间至少15日前…不足15日的…应当顺延": notice on 03-05 for a 03-20 deadline is ok,
    on 03-06 it is 14 days ("不足15日") and the deadline must move to 03-21."""
    deadline = utc(2025, 3, 20, 1, 30)
    assert cal.latest_notice_date(deadline, 15, kind="calendar") == D(2025, 3, 5)
    assert cal.is_lead_time_enough(D(2025, 3, 5), deadline, 15, kind="calendar")
    assert not cal.is_lead_time_enough(D(2025, 3, 6), deadline, 15, kind="calendar")
    assert cal.postponed_deadline(D(2025, 3, 5), deadline, 15, kind="calendar") == D(2025, 3, 20)
    assert cal.postponed_deadline(D(2025, 3, 6), deadline, 15, kind="calendar") == D(2025, 3, 21)
    assert PeriodRule(15, article="招标投标法实施条例 第二十一条").lead_satisfied(D(2025, 3, 5), deadline)


def test_working_day_lead_time_skips_holidays():
    """5 working days before Fri 2025-10-10, counting back: 10-10, 10-09, (holiday 10-01..08), 09-30, 09-29
    and Sun 09-28 (调休上班) -> the latest notice date is Sat 09-27."""
    assert cal.latest_notice_date(D(2025, 10, 10), 5, kind="working") == D(2025, 9, 27)
    assert cal.days_between(D(2025, 9, 27), D(2025, 10, 10), kind="working") == 5
    assert cal.days_between(D(2025, 9, 28), D(2025, 10, 10), kind="working") == 4


def test_invalid_arguments_refused():
    """A zero-day period and an unknown kind are programming errors in the procedure table."""
    with pytest.raises(ValueError):
        PeriodRule(0)
    with pytest.raises(ValueError):
        cal.add_period(D(2025, 1, 1), 3, kind="weekdays")  # type: ignore[arg-type]


def test_days_between_reversed_is_negative():
    """Counting backwards gives the negated count, so validators can see "deadline before publication"."""
    assert cal.days_between(D(2025, 3, 25), D(2025, 3, 5), kind="calendar") == -20


# --- the holiday table --------------------------------------------------------------------------------


def test_shipped_table_covers_2024_to_2026(raw):
    """DESIGN §3: the shipped table lists its years; each year cites its State Council notice."""
    table = cal.load_default()
    assert table.years == {2024, 2025, 2026}
    assert sorted(raw["years"]) == sorted(int(y) for y in raw["calendar"])
    for year in raw["years"]:
        assert "部分节假日安排的通知" in raw["calendar"][str(year)]["source"]["title"]
        assert raw["calendar"][str(year)]["source"]["number"].startswith("国办发明电")


def test_table_data_consistent(raw):
    """Every date lies in its covered year, no date is both off and worked, 调休上班 falls on weekends,
    and every listed holiday really is a non-working day."""
    table = cal.load_default()
    for year in raw["years"]:
        block = table.year(year)
        assert all(d.year == year for d in block.holidays | block.workdays)
        assert not block.holidays & block.workdays
        assert all(d.weekday() >= 5 for d in block.workdays)
        assert not any(table.is_working_day(d) for d in block.holidays)
        assert all(table.is_working_day(d) for d in block.workdays)


@pytest.mark.parametrize(("year", "days_off", "worked"), [(2024, 28, 8), (2025, 28, 5), (2026, 33, 6)])
def test_holiday_counts_per_year(year, days_off, worked):
    """Totals from the notices: a transcription slip changes a count (2025+: 13 statutory days)."""
    block = cal.load_default().year(year)
    assert (len(block.holidays), len(block.workdays)) == (days_off, worked)


def test_known_dates_of_the_notices():
    """Spot checks against the notices (国办发明电〔2023〕7号, 〔2024〕12号, 〔2025〕7号)."""
    table = cal.load_default()
    assert table.is_holiday(D(2024, 2, 10)) and table.is_adjusted_workday(D(2024, 2, 18))
    assert table.is_holiday(D(2025, 1, 28)) and table.is_adjusted_workday(D(2025, 1, 26))
    assert table.is_holiday(D(2026, 1, 2)) and table.is_adjusted_workday(D(2026, 1, 4))
    assert table.is_holiday(D(2026, 10, 7)) and table.is_adjusted_workday(D(2026, 9, 20))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["years"].append(2027), "does not match"),
    (lambda d: d["calendar"]["2025"]["holidays"]["元旦"].append("2026-01-05"), "outside the year"),
    (lambda d: d["calendar"]["2025"]["workdays"]["劳动节"].append("2025-05-01"), "both holiday"),
    (lambda d: d["calendar"]["2025"]["workdays"]["劳动节"].append("2025-05-06"), "weekend"),
    (lambda d: d["calendar"]["2025"]["holidays"]["元旦"].append("2025-1-2"), "ISO date"),
    (lambda d: d["calendar"]["2025"]["holidays"]["元旦"].append("2025-01-01"), "twice"),
])
def test_inconsistent_table_refused(raw, mutate, message):
    """An admin's copying mistake is caught at load time, never at deadline time."""
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(HolidayTableError, match=message):
        HolidayTable.from_json(data)


def test_extend_with_a_new_year_and_refuse_silent_overwrite(raw, tmp_path):
    """An admin adds 2027 from a file; changing an existing year needs replace=True."""
    extra = {"years": [2027], "calendar": {"2027": {
        "source": {"title": "国务院办公厅关于2027年部分节假日安排的通知(test data)"},
        "holidays": ["2027-01-01"], "workdays": []}}}
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(extra, ensure_ascii=False), "utf-8")
    table = cal.load_default().extend(HolidayTable.from_json(path))
    assert table.years == {2024, 2025, 2026, 2027}
    assert not table.is_working_day(D(2027, 1, 1))
    assert cal.add_period(D(2026, 12, 31), 1, kind="working", table=table) == D(2027, 1, 4)
    changed = copy.deepcopy(raw)
    changed["calendar"]["2025"]["holidays"]["元旦"] = []
    with pytest.raises(HolidayTableError, match="2025"):
        table.extend(HolidayTable.from_json(changed))
    assert table.extend(HolidayTable.from_json(changed), replace=True).is_working_day(D(2025, 1, 1))


def test_table_round_trips_through_json():
    """to_json_dict writes the same format from_json reads, so admin tools can save a merged table."""
    table = cal.load_default()
    assert HolidayTable.from_json(json.loads(json.dumps(table.to_json_dict()))) == table


# --- properties ---------------------------------------------------------------------------------------

starts = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 10, 15))
instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 10, 15),
                        timezones=st.just(UTC))
lengths = st.integers(min_value=1, max_value=40)


@settings(max_examples=150, deadline=None)
@given(start=instants, n=lengths)
def test_working_period_round_trips_and_ends_on_a_working_day(start, n):
    """GP87 Art.85: add N working days then count them back gives N; the last day is never a holiday."""
    last = cal.add_period(start, n, kind="working")
    assert cal.days_between(start, last, kind="working") == n
    assert cal.is_working_day(last)
    assert cal.days_between(start, last - dt.timedelta(days=1), kind="working") == n - 1


@settings(max_examples=150, deadline=None)
@given(start=starts, n=lengths)
def test_calendar_extension_is_minimal(start, n):
    """GP87 Art.85: the extended last day is a working day and every day skipped was a rest day."""
    raw_last = cal.add_period(start, n, kind="calendar", end_extends_to_working_day=False)
    last = cal.add_period(start, n, kind="calendar")
    assert cal.days_between(start, raw_last, kind="calendar") == n
    assert cal.is_working_day(last) and last >= raw_last
    skipped = [raw_last + dt.timedelta(days=i) for i in range((last - raw_last).days)]
    assert not any(cal.is_working_day(d) for d in skipped)


@settings(max_examples=150, deadline=None)
@given(start=instants, n=lengths, kind=st.sampled_from(["calendar", "working"]))
def test_earliest_deadline_is_the_exact_boundary(start, n, kind):
    """GP87 Art.86: the earliest allowed deadline passes, the day before it does not."""
    earliest = cal.earliest_allowed_deadline(start, n, kind=kind)
    assert cal.is_period_long_enough(start, earliest, n, kind=kind)
    assert not cal.is_period_long_enough(start, earliest - dt.timedelta(days=1), n, kind=kind)


@settings(max_examples=150, deadline=None)
@given(deadline=st.dates(min_value=D(2024, 3, 1), max_value=D(2026, 12, 31)), n=lengths,
       kind=st.sampled_from(["calendar", "working"]))
def test_lead_time_boundary_agrees_with_days_between(deadline, n, kind):
    """TBR Art.21: the latest notice date leaves exactly N counted days; one day later leaves N-1."""
    latest = cal.latest_notice_date(deadline, n, kind=kind)
    assert cal.days_between(latest, deadline, kind=kind) == n
    assert cal.days_between(latest + dt.timedelta(days=1), deadline, kind=kind) == n - 1
    assert cal.is_lead_time_enough(latest, deadline, n, kind=kind)
    assert not cal.is_lead_time_enough(latest + dt.timedelta(days=1), deadline, n, kind=kind)


@settings(max_examples=200, deadline=None)
@given(moment=instants)
def test_legal_date_is_utc_plus_eight(moment):
    """Asia/Shanghai has had no DST since 1991: the legal date is the UTC+8 date."""
    assert cal.legal_date(moment) == (moment + dt.timedelta(hours=8)).date()


def test_admin_file_adds_a_year(tmp_path, monkeypatch):
    """The holiday table is data an admin extends (GGZY_HOLIDAYS_FILE) without a code change."""
    from core import holidays

    extra = {"schema": "ggzy.holidays_cn/1", "years": [2099], "calendar": {"2099": {
        "source": {"title": "test notice"}, "holidays": {"元旦": ["2099-01-01"]}, "workdays": {}}}}
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(extra))
    monkeypatch.setenv("GGZY_HOLIDAYS_FILE", str(path))
    holidays.load_default.cache_clear()
    try:
        table = holidays.load_default()
        assert 2099 in table.years and 2026 in table.years
        assert not cal.is_working_day(dt.date(2099, 1, 1), table=table)
        assert cal.is_working_day(dt.date(2099, 1, 2), table=table)
    finally:
        monkeypatch.delenv("GGZY_HOLIDAYS_FILE")
        holidays.load_default.cache_clear()
