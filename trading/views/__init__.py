"""Server-rendered pages: the public portal, the agency console and the supervisor console.

Thin like the API: a page checks its operation (``@permission`` right under the route), calls one
service, commits, and redirects or renders.  Refusals are flashed with the rule they cite.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("trading_pages", __name__, template_folder="../templates")


@bp.app_template_filter("yuan")
def yuan(amount) -> str:
    return f"¥{amount:,.2f}" if amount is not None else "—"


from trading.views import agency, portal, supervisor  # noqa: E402,F401  (routes register on bp)
