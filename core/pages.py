"""Helpers every domain's server-rendered pages share (thin views, STYLE habit 3), and the template
filters every page uses (registered on core's blueprint for the whole app).

A page runs one service call, commits, and redirects; a refusal is rolled back and flashed with the
rule it enforces, in one shape everywhere (the browser tests read ``[data-error]``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import flash, redirect
from flask_babel import gettext as _
from markupsafe import Markup, escape

from core.calendar import SHANGHAI
from core.db import db
from core.errors import DomainError
from core.events import commit


def refusal(err: DomainError) -> Markup:
    """The flashed text of a refusal: its reason and, where there is one, the article it enforces."""
    text = escape(err.detail or err.code)
    if err.rule:
        text += Markup(" <span class='small'>（{}）</span>").format(err.rule)
    return Markup("<span role='alert' data-error='{}'>{}: {}</span>").format(err.code, _("Refused"), text)


def act(fn: Callable[[], object], *, done: str, back: str):
    """Run one service call and commit, flash ``done``; a refusal is rolled back and flashed with its
    rule.  Either way the browser goes ``back``."""
    try:
        fn()
        commit()
        flash(done)
    except DomainError as err:
        db.session.rollback()
        flash(refusal(err))
    return redirect(back)


def beijing_time(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Template filter ``bj``: instants are stored in UTC and shown in Beijing time, where legal days
    are counted."""
    return moment.astimezone(SHANGHAI).strftime(fmt) if moment else ""
