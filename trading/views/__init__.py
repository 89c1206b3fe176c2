"""Server-rendered pages: the public portal, the agency console and the supervisor console.

Thin like the API: a page checks its operation (``@permission`` right under the route), calls one
service, commits, and redirects or renders.  Refusals are flashed with the rule they cite.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect
from flask_babel import gettext as _
from markupsafe import Markup, escape

from core.calendar import SHANGHAI
from core.db import db
from core.errors import DomainError
from core.events import commit

bp = Blueprint("trading_pages", __name__, template_folder="../templates")


@bp.app_template_filter("bj")
def beijing_time(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Instants are stored in UTC and shown in Beijing time, where legal days are counted."""
    return moment.astimezone(SHANGHAI).strftime(fmt) if moment else ""


@bp.app_template_filter("yuan")
def yuan(amount) -> str:
    return f"¥{amount:,.2f}" if amount is not None else "—"


def act(fn, *, done: str, back: str):
    """Run one service call and commit; a refusal is rolled back and flashed with its rule."""
    try:
        fn()
        commit()
        flash(done)
    except DomainError as err:
        db.session.rollback()
        flash(refusal(err))
    return redirect(back)


def refusal(err: DomainError) -> Markup:
    text = escape(err.detail or err.code)
    if err.rule:
        text += Markup(" <span class='small'>（{}）</span>").format(err.rule)
    return Markup("<span role='alert' data-error='{}'>{}: {}</span>").format(err.code, _("Refused"), text)


from trading.views import agency, portal, supervisor  # noqa: E402,F401  (routes register on bp)
