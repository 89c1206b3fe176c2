"""The mainland China holiday table (放假 and 调休上班 days) as data, with the years it covers.

Kept apart from the period arithmetic in :mod:`core.calendar` because it is data management:
loading, validating and extending the shipped ``core/data/holidays_cn.json`` (an admin adds a year
when the State Council publishes its notice).  See ``docs/legal-time.md``.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA = "ggzy.holidays_cn/1"


class CalendarYearMissing(ValueError):
    """A computation needs a year the holiday table does not cover.

    Refusing is safer than guessing: an unknown year may move a deadline by a week (Spring
    Festival), and a wrong deadline makes a whole procedure challengeable.
    """

    def __init__(self, year: int, covered: Iterable[int] = ()):
        self.year = year
        self.covered = tuple(sorted(covered))
        listed = ", ".join(str(y) for y in self.covered) or "none"
        super().__init__(
            f"the holiday table does not cover {year} (covered: {listed}); add the State Council notice "
            f"for {year} to core/data/holidays_cn.json (docs/legal-time.md)"
        )


class HolidayTableError(ValueError):
    """The holiday data is inconsistent; raised at load time so bad data never reaches a deadline."""


# --------------------------------------------------------------------------------------------------
# Holiday table
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearCalendar:
    """One year of the State Council notice: what is off (放假), what is worked (调休上班), and why."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    source: Mapping[str, str] = field(default_factory=dict, compare=False)
    names: Mapping[dt.date, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class HolidayTable:
    """Immutable holiday table; build it with :meth:`from_json`, grow it with :meth:`extend`.

    Immutable so that the cached default table can be shared by threads and never drifts while
    a request is computing a deadline.
    """

    years_data: Mapping[int, YearCalendar]

    @property
    def years(self) -> frozenset[int]:
        return frozenset(self.years_data)

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any]) -> HolidayTable:
        """Load a table from a JSON file path or an already parsed dict, validating it fully."""
        data = source if isinstance(source, Mapping) else json.loads(Path(source).read_text("utf-8"))
        return cls(_parse_table(data))

    def extend(self, other: HolidayTable, *, replace: bool = False) -> HolidayTable:
        """Return a table with the years of both; a year present in both must agree unless ``replace``.

        Refusing silent overwrites stops a typo in an admin's file from changing deadlines of a year
        already in use; ``replace=True`` is the deliberate correction (the notice was amended).
        """
        merged = dict(self.years_data)
        for year, cal in other.years_data.items():
            if year in merged and merged[year] != cal and not replace:
                raise HolidayTableError(f"year {year} is already in the table with different dates; "
                                        "pass replace=True to correct it deliberately")
            merged[year] = cal
        return HolidayTable(merged)

    def year(self, year: int) -> YearCalendar:
        """The data for ``year`` or :class:`CalendarYearMissing` naming it."""
        try:
            return self.years_data[year]
        except KeyError:
            raise CalendarYearMissing(year, self.years_data) from None

    def is_holiday(self, d: dt.date) -> bool:
        """True on a public holiday (放假) date of the notice."""
        return d in self.year(d.year).holidays

    def is_adjusted_workday(self, d: dt.date) -> bool:
        """True on a weekend day that the notice makes a working day (调休上班)."""
        return d in self.year(d.year).workdays

    def is_working_day(self, d: dt.date) -> bool:
        """Working day = adjusted working day, or a Monday-Friday that is not a holiday."""
        cal = self.year(d.year)
        if d in cal.workdays:
            return True
        return d.weekday() < 5 and d not in cal.holidays

    def to_json_dict(self) -> dict[str, Any]:
        """Serialise back to the file format (flat date lists per festival name), for admin tools."""
        calendar = {str(y): _year_to_json(c) for y, c in sorted(self.years_data.items())}
        return {"schema": SCHEMA, "years": sorted(self.years_data), "calendar": calendar}


def _year_to_json(cal: YearCalendar) -> dict[str, Any]:
    def grouped(dates: frozenset[dt.date]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for d in sorted(dates):
            out.setdefault(cal.names.get(d, ""), []).append(d.isoformat())
        return out

    return {"source": dict(cal.source), "holidays": grouped(cal.holidays), "workdays": grouped(cal.workdays)}


def _parse_table(data: Mapping[str, Any]) -> dict[int, YearCalendar]:
    """Validate the whole document: the ``years`` list must match the ``calendar`` blocks exactly."""
    if data.get("schema", SCHEMA) != SCHEMA:
        raise HolidayTableError(f"unknown holiday table schema {data.get('schema')!r}; expected {SCHEMA}")
    years = data.get("years")
    blocks = data.get("calendar")
    if not isinstance(years, list) or not isinstance(blocks, Mapping):
        raise HolidayTableError("a holiday table needs a 'years' list and a 'calendar' object")
    if sorted(int(y) for y in years) != sorted(int(k) for k in blocks) or len(set(years)) != len(years):
        raise HolidayTableError(f"'years' {years} does not match the calendar blocks {sorted(blocks)}")
    return {int(k): _parse_year(int(k), block) for k, block in blocks.items()}


def _parse_year(year: int, block: Mapping[str, Any]) -> YearCalendar:
    """One year's block; the checks are those an admin is most likely to get wrong when copying."""
    names: dict[dt.date, str] = {}
    holidays = _parse_dates(year, block.get("holidays", {}), names, "holidays")
    workdays = _parse_dates(year, block.get("workdays", {}), names, "workdays")
    both = holidays & workdays
    if both:
        raise HolidayTableError(f"{year}: dates both holiday and working day: {sorted(map(str, both))}")
    weekdays = sorted(str(d) for d in workdays if d.weekday() < 5)
    if weekdays:
        raise HolidayTableError(f"{year}: adjusted working days (调休上班) must be weekend days: {weekdays}")
    source = block.get("source") or {}
    if not source.get("title"):
        raise HolidayTableError(f"{year}: 'source.title' (the State Council notice) is required")
    return YearCalendar(year, frozenset(holidays), frozenset(workdays), dict(source), names)


def _parse_dates(year: int, raw: Mapping[str, list[str]] | list[str], names: dict[dt.date, str],
                 what: str) -> set[dt.date]:
    """Accept ``{"春节": [...], ...}`` or a plain list; every date must lie in ``year``, none twice."""
    groups = raw.items() if isinstance(raw, Mapping) else [("", raw)]
    out: set[dt.date] = set()
    for name, values in groups:
        for text in values:
            try:
                d = dt.date.fromisoformat(text)
            except (TypeError, ValueError) as exc:
                raise HolidayTableError(f"{year}: {what}: {text!r} is not an ISO date") from exc
            if d.year != year:
                raise HolidayTableError(f"{year}: {what}: {text} is outside the year")
            if d in out:
                raise HolidayTableError(f"{year}: {what}: {text} is listed twice")
            out.add(d)
            names[d] = name
    return out


@functools.cache
def load_default() -> HolidayTable:
    """The shipped table ``core/data/holidays_cn.json``, extended by the admin's file named in
    ``GGZY_HOLIDAYS_FILE`` (same format; new years, or corrections with ``"replace": true``),
    parsed once per process."""
    text = resources.files("core").joinpath("data", "holidays_cn.json").read_text("utf-8")
    table = HolidayTable.from_json(json.loads(text))
    extra = os.environ.get("GGZY_HOLIDAYS_FILE")
    if extra:
        data = json.loads(Path(extra).read_text("utf-8"))
        table = table.extend(HolidayTable.from_json(data), replace=bool(data.get("replace")))
    return table


def _table(table: HolidayTable | None) -> HolidayTable:
    return load_default() if table is None else table
