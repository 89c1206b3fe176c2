"""How long archived objects stay under COMPLIANCE lock: data (``archive/retention.json``), not code.

A deployment may point ``GGZY_ARCHIVE_RETENTION_FILE`` at its own table (e.g. after legal review
of the 20-year default); a table that would keep government procurement files less than the
statutory 15 years is refused at load time rather than discovered at deletion time.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

from core.errors import ValidationFailed

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "retention.json"
RULE_GP = "政府采购法 第四十二条 (采购文件保存期限不少于十五年)"


@lru_cache(maxsize=8)
def _load(path: str) -> dict:
    table = json.loads(Path(path).read_text(encoding="utf-8"))
    for category, floor in table.get("minimum_years", {}).items():
        years = table["categories"].get(category, table["default_years"])
        if years < floor:
            raise ValidationFailed(f"retention for {category} is {years} years, below the legal {floor}",
                                   code="retention_too_short", rule=RULE_GP)
    return table


def table() -> dict:
    path = DEFAULT_FILE
    if has_app_context():
        path = current_app.config.get("GGZY_ARCHIVE_RETENTION_FILE") or path
    return _load(str(path))


def category_of(value) -> str:
    """A known category name, else ``unspecified`` (which gets the default period)."""
    return value if isinstance(value, str) and value in table()["categories"] else "unspecified"


def years_for(category: str) -> int:
    t = table()
    return int(t["categories"].get(category, t["default_years"]))


def retain_until(category: str, start: dt.datetime, years: int | None = None) -> dt.datetime:
    """``start`` plus the category's years (29 February falls back to 28 February)."""
    years = years_for(category) if years is None else years
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)
