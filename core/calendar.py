"""Legal time: Asia/Shanghai legal days, the mainland China holiday table, and period arithmetic.

Pure functions, no database and no Flask, so every validator (trading, bidding, complaints) and
every test computes the same last day the same way.  See ``docs/legal-time.md``.

Rules implemented (quoted where they are used):

* 《政府采购货物和服务招标投标管理办法》(财政部令第87号, "GP87") 第八十五条: "本办法规定按日计算期间的，
  开始当天不计入，从次日开始计算。期限的最后一日是国家法定节假日的，顺延到节假日后的次日为期限的最后一日。"
* GP87 第八十六条: "本办法所称的'以上'、'以下'、'内'、'以内'，包括本数；所称的'不足'，不包括本数。"
* 《民法典》第二百零一条、第二百零三条 (the same rules for all civil periods; the last day ends at 24:00).
  Not in ``reference/laws/``; quoted from memory, see the docs.

Vocabulary used below:

* *legal date*: the Asia/Shanghai calendar date of an instant (timestamps are stored in UTC).
* *working day*: not a public holiday (放假) and either Monday-Friday or an adjusted working
  weekend day (调休上班) of the State Council's annual notice.
* *day count from a to b*: the days after ``a`` up to and including ``b`` (Art.85: the start day
  is not counted), so a period "from the 1st to the 21st" has 20 days.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from core.holidays import (  # noqa: F401  (re-exported: the calendar is the public entry point)
    SCHEMA,
    CalendarYearMissing,
    HolidayTable,
    HolidayTableError,
    YearCalendar,
    _table,
    load_default,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = dt.time.max  # 23:59:59.999999: 民法典 第二百零三条 "期间的最后一日的截止时间为二十四时"
Kind = Literal["calendar", "working"]
KINDS: tuple[str, ...] = ("calendar", "working")

ART_85 = "政府采购货物和服务招标投标管理办法(财政部令第87号) 第八十五条"
ART_86 = "政府采购货物和服务招标投标管理办法(财政部令第87号) 第八十六条"


# --------------------------------------------------------------------------------------------------
# Legal dates
# --------------------------------------------------------------------------------------------------


def legal_date(moment: dt.datetime | dt.date) -> dt.date:
    """The Asia/Shanghai date of an aware instant; a ``date`` is already a legal date.

    Naive datetimes are refused: a naive value could be UTC or local and the two differ by a whole
    legal day between 16:00 and 24:00 UTC.
    """
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware (stored in UTC)")
        return moment.astimezone(SHANGHAI).date()
    return moment


def day_end_instant(d: dt.date, *, at: dt.time = END_OF_DAY) -> dt.datetime:
    """The instant (aware UTC) at which legal day ``d`` ends, or at time ``at`` Shanghai time.

    民法典 第二百零三条: "期间的最后一日的截止时间为二十四时；有业务时间的，停止业务活动的时间为截止时间。"
    ``at`` is that business closing time when a procedure fixes one.
    """
    return dt.datetime.combine(d, at, tzinfo=SHANGHAI).astimezone(dt.UTC)


def is_working_day(d: dt.date | dt.datetime, *, table: HolidayTable | None = None) -> bool:
    """True if the legal date is a working day (weekday not on holiday, or 调休上班).

    Raises :class:`CalendarYearMissing` for an uncovered year, even on an ordinary Tuesday: the
    table cannot tell whether that Tuesday is a bridge holiday.
    """
    return _table(table).is_working_day(legal_date(d))


def next_working_day(d: dt.date, *, table: HolidayTable | None = None, include: bool = True) -> dt.date:
    """The first working day on or after ``d`` (strictly after if ``include`` is False)."""
    tab = _table(table)
    day = d if include else d + dt.timedelta(days=1)
    while not tab.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def _check(days: int, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if days < 1:
        raise ValueError(f"a legal period has at least 1 day, got {days}")


# --------------------------------------------------------------------------------------------------
# Forward periods: "within N days", "at least N days from X to Y"
# --------------------------------------------------------------------------------------------------


def add_period(start: dt.datetime | dt.date, days: int, *, kind: Kind, start_next_day: bool = True,
               end_extends_to_working_day: bool = True, table: HolidayTable | None = None) -> dt.date:
    """The legal last day of a period of ``days`` calendar or working days beginning at ``start``.

    GP87 第八十五条: "按日计算期间的，开始当天不计入，从次日开始计算。期限的最后一日是国家法定节假日的，
    顺延到节假日后的次日为期限的最后一日。"

    * ``start_next_day=True`` (Art.85, the default): day 1 is the day after ``start``'s legal date.
      ``False`` counts the start day itself as day 1 (only where a rule says so expressly).
    * ``kind="calendar"``: day N is the Nth calendar day; if ``end_extends_to_working_day`` and it
      is not a working day, the last day moves to the next working day.  Weekends count as rest
      days here as under 民法典 第二百零三条 (法定休假日 includes the weekly rest days), and an
      adjusted working Saturday (调休上班) is a working day, so a period may end on it.
    * ``kind="working"``: day N is the Nth working day; it is a working day by construction, so
      the extension flag changes nothing.
    """
    _check(days, kind)
    first = legal_date(start) + dt.timedelta(days=1 if start_next_day else 0)
    if kind == "working":
        return _nth_working_day(first, days, _table(table))
    last = first + dt.timedelta(days=days - 1)
    if end_extends_to_working_day:
        return next_working_day(last, table=table)
    return last


def _nth_working_day(first: dt.date, n: int, table: HolidayTable) -> dt.date:
    """The nth working day counting ``first`` as a candidate for day 1."""
    day = first - dt.timedelta(days=1)
    for _ in range(n):
        day = next_working_day(day, table=table, include=False)
    return day


def period_end_instant(start: dt.datetime | dt.date, days: int, *, kind: Kind, start_next_day: bool = True,
                       end_extends_to_working_day: bool = True, at: dt.time = END_OF_DAY,
                       table: HolidayTable | None = None) -> dt.datetime:
    """The instant (aware UTC) at which the period of :func:`add_period` runs out.

    By default the end of the last legal day, 23:59:59.999999 Shanghai time (民法典 第二百零三条:
    "截止时间为二十四时"); pass ``at`` for a business closing time.  Store and compare this UTC
    value; never compare dates across time zones by hand.
    """
    last = add_period(start, days, kind=kind, start_next_day=start_next_day,
                      end_extends_to_working_day=end_extends_to_working_day, table=table)
    return day_end_instant(last, at=at)


def days_between(a: dt.datetime | dt.date, b: dt.datetime | dt.date, *, kind: Kind,
                 start_next_day: bool = True, table: HolidayTable | None = None) -> int:
    """Days counted the legal way from ``a`` to ``b``: the legal date of ``a`` excluded, of ``b`` included.

    GP87 第八十五条 "开始当天不计入，从次日开始计算": for ``kind="calendar"`` this is simply the date
    difference (published on the 1st, deadline on the 21st: 20 days); for ``kind="working"`` it is
    the number of working days in (a, b].  ``start_next_day=False`` also counts ``a``'s day.  The
    time of day does not matter, only the legal dates.  If ``b`` precedes ``a`` the result is the
    negated count from ``b`` to ``a``.  No holiday extension is applied: this is a raw count; use
    :func:`is_period_long_enough` to decide a minimum-period rule.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    da, db = legal_date(a), legal_date(b)
    if db < da:
        return -days_between(db, da, kind=kind, start_next_day=start_next_day, table=table)
    first = da if not start_next_day else da + dt.timedelta(days=1)
    if kind == "calendar":
        return (db - first).days + 1
    tab = _table(table)
    return sum(1 for i in range((db - first).days + 1) if tab.is_working_day(first + dt.timedelta(days=i)))


def earliest_allowed_deadline(published_at: dt.datetime | dt.date, min_days: int, *, kind: Kind,
                              start_next_day: bool = True, extend_if_holiday: bool = True,
                              table: HolidayTable | None = None) -> dt.date:
    """The first legal date on which a deadline may fall for a "not less than N days" rule.

    招标投标法 第二十四条: "自招标文件开始发出之日起至投标人提交投标文件截止之日止，最短不得少于二十日。"
    Read with GP87 第八十五条: the publication day is not counted, so day 20 is publication + 20; if
    that day is a holiday the minimum period runs to the next working day, and that is the earliest
    deadline date.  Any time on that date is accepted (day counting looks at legal dates only).
    """
    return add_period(published_at, min_days, kind=kind, start_next_day=start_next_day,
                      end_extends_to_working_day=extend_if_holiday, table=table)


def is_period_long_enough(start: dt.datetime | dt.date, end: dt.datetime | dt.date, min_days: int, *,
                          kind: Kind, start_next_day: bool = True, extend_if_holiday: bool = True,
                          table: HolidayTable | None = None) -> bool:
    """Rule "≥ N days from ``start`` to ``end``": ``end``'s legal date is on or after the earliest allowed.

    GP87 第八十六条: "'以上'…包括本数；所称的'不足'，不包括本数" — exactly N days is enough, N−1
    ("不足N日") is not.  With ``extend_if_holiday`` a period whose Nth day is a holiday needs the
    end on the next working day (Art.85), so the check is ``legal_date(end) >=
    earliest_allowed_deadline(...)`` rather than a bare count; without it the two are identical to
    ``days_between(start, end) >= min_days``.
    """
    earliest = earliest_allowed_deadline(start, min_days, kind=kind, start_next_day=start_next_day,
                                         extend_if_holiday=extend_if_holiday, table=table)
    return legal_date(end) >= earliest


def is_within(start: dt.datetime | dt.date, act: dt.datetime | dt.date, days: int, *, kind: Kind,
              start_next_day: bool = True, extend_if_holiday: bool = True,
              table: HolidayTable | None = None) -> bool:
    """Rule "within N days of ``start``" (reply within 3 days, contract within 30 days): on time or not.

    GP87 第八十六条: "'内'、'以内'，包括本数" — an act on the Nth day (extended past a holiday by
    Art.85) is in time, and so is an act on the start day itself.  An act before ``start`` is
    reported as in time too: the caller decides whether that is possible.
    """
    last = add_period(start, days, kind=kind, start_next_day=start_next_day,
                      end_extends_to_working_day=extend_if_holiday, table=table)
    return legal_date(act) <= last


# --------------------------------------------------------------------------------------------------
# Backward lead times: "at least N days before the deadline"
# --------------------------------------------------------------------------------------------------


def latest_notice_date(deadline: dt.datetime | dt.date, min_days: int, *, kind: Kind,
                       table: HolidayTable | None = None) -> dt.date:
    """The last legal date on which a notice may go out to be "at least N days before" ``deadline``.

    招标投标法实施条例 第二十一条: "…应当在…投标截止时间至少15日前，以书面形式通知所有获取…招标文件的
    潜在投标人；不足…15日的，招标人应当顺延…投标文件的截止时间。" (Also 第二十二条: objections "在投标截止
    时间10日前提出".)  Counted as in :func:`days_between`: the notice day is excluded and the deadline
    day included, so a notice on the 5th is 15 days before a deadline on the 20th.  No holiday
    extension applies backwards: Art.85 lengthens a period for whoever must act by its last day,
    and here nobody acts on the computed date; the notice may lawfully go out on a holiday.
    """
    _check(min_days, kind)
    end = legal_date(deadline)
    if kind == "calendar":
        return end - dt.timedelta(days=min_days)
    tab = _table(table)
    day, counted = end, 0
    while True:
        if tab.is_working_day(day):
            counted += 1
            if counted == min_days:
                return day - dt.timedelta(days=1)
        day -= dt.timedelta(days=1)


def is_lead_time_enough(notice_at: dt.datetime | dt.date, deadline: dt.datetime | dt.date, min_days: int,
                        *, kind: Kind, table: HolidayTable | None = None) -> bool:
    """Rule "not less than N days before the deadline": ``days_between(notice, deadline) >= N``.

    招标投标法实施条例 第二十一条 ("至少15日前"; "不足15日的…应当顺延"): 15 counted days are enough,
    14 ("不足15日") are not, and the deadline must move — see :func:`postponed_deadline`.
    """
    return legal_date(notice_at) <= latest_notice_date(deadline, min_days, kind=kind, table=table)


def postponed_deadline(notice_at: dt.datetime | dt.date, deadline: dt.datetime | dt.date, min_days: int,
                       *, kind: Kind, table: HolidayTable | None = None) -> dt.date:
    """The earliest legal deadline date compatible with a notice given at ``notice_at``.

    招标投标法实施条例 第二十一条: "不足15日的，招标人应当顺延投标文件的截止时间". Returns the current
    deadline's date if the lead time is already enough, otherwise the first date that gives N
    counted days after the notice day.  This is the date the amendment must move the deadline to,
    at least; it is not extended past holidays (the tenderee picks the new time, usually a
    working day: combine with :func:`next_working_day` if the procedure requires it).
    """
    current = legal_date(deadline)
    if is_lead_time_enough(notice_at, current, min_days, kind=kind, table=table):
        return current
    return add_period(notice_at, min_days, kind=kind, end_extends_to_working_day=False, table=table)


# --------------------------------------------------------------------------------------------------
# Rule objects for the procedure table
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRule:
    """One time limit of the procedure table, e.g. ``PeriodRule(20, article="招标投标法 第二十四条")``.

    Declarative so that the procedure table (DESIGN §4) can list every limit with its article and
    every validator derives from it; the defaults are GP87 Art.85 (start the next day, extend a
    last day that falls on a holiday).
    """

    days: int
    kind: Kind = "calendar"
    start_next_day: bool = True
    extend_if_holiday: bool = True
    article: str = ""

    def __post_init__(self) -> None:
        _check(self.days, self.kind)

    def deadline_from(self, start: dt.datetime | dt.date, *, table: HolidayTable | None = None) -> dt.date:
        """The legal last day of the period starting at ``start`` (see :func:`add_period`)."""
        return add_period(start, self.days, kind=self.kind, start_next_day=self.start_next_day,
                          end_extends_to_working_day=self.extend_if_holiday, table=table)

    def end_instant_from(self, start: dt.datetime | dt.date, *, at: dt.time = END_OF_DAY,
                         table: HolidayTable | None = None) -> dt.datetime:
        """The UTC instant at which the period runs out (end of the last legal day by default)."""
        return day_end_instant(self.deadline_from(start, table=table), at=at)

    def satisfied(self, start: dt.datetime | dt.date, end: dt.datetime | dt.date, *,
                  table: HolidayTable | None = None) -> bool:
        """A minimum period ("不得少于N日") from ``start`` to ``end`` is respected."""
        return legal_date(end) >= self.deadline_from(start, table=table)

    def within(self, start: dt.datetime | dt.date, act: dt.datetime | dt.date, *,
               table: HolidayTable | None = None) -> bool:
        """A maximum delay ("N日内") from ``start`` to ``act`` is respected."""
        return legal_date(act) <= self.deadline_from(start, table=table)

    def lead_satisfied(self, notice_at: dt.datetime | dt.date, deadline: dt.datetime | dt.date, *,
                       table: HolidayTable | None = None) -> bool:
        """A lead time ("截止时间至少N日前") between a notice and a later deadline is respected."""
        return is_lead_time_enough(notice_at, deadline, self.days, kind=self.kind, table=table)
