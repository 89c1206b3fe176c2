"""The site-wide navigation: one list, each entry shown only when its page exists and the user's
role may use it.  Core names domain pages by endpoint only (it imports no domain)."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

#: (endpoint, label, roles that see it; None = everyone)
NAV = [
    ("trading_pages.notices", _l("Notices"), None),
    ("trading_pages.blacklist", _l("Blacklist"), None),
    ("trading_pages.agency_home", _l("Agency console"), {"agency"}),
    ("trading_pages.supervisor_home", _l("Supervisor console"), {"supervisor"}),
    ("bidding_pages.bids", _l("My bids"), {"bidder"}),
    ("bidding_pages.custody", _l("Key shares"), {"agency", "supervisor", "admin"}),
    ("experts_pages.pool", _l("Expert pool"), {"pool_manager", "admin"}),
    ("archive_pages.search", _l("Archive"), {"archivist", "supervisor", "admin"}),
]


def nav_links(user) -> list[tuple[str, object]]:
    """(endpoint, label) pairs for this user, in the declared order."""
    role = getattr(user, "role", None)
    return [(endpoint, label) for endpoint, label, roles in NAV
            if endpoint in current_app.view_functions and (roles is None or role in roles)]
