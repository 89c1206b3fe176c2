"""The rules of the trading domain, as keyword-only functions that flush and never commit.

Split by use case (STYLE: a room past ~400 lines becomes a package); the public names are
re-exported here, so callers (api, views, tasks, other domains) import ``trading.services``.
"""
from trading.services.amendments import issue_amendment
from trading.services.blacklist import (
    add_entry,
    bidder_exclusions,
    in_force,
    is_blacklisted,
    matches,
    revoke_entry,
)
from trading.services.common import config_of, is_tenderee_side
from trading.services.documents import download_document, downloads, upload_document, visible_document
from trading.services.lots import (
    cancel_lot,
    close_lot,
    create_project,
    finish_opening,
    held_by_objection,
    notify_agency,
    publish_lot,
    resume_lot,
    start_opening,
    suspend_lot,
    update_lot,
)
from trading.services.objections import answer_objection, file_objection, objections_for
from trading.services.portal import (
    console_lots,
    count_notices,
    lot_audit_trail,
    notices_of,
    notices_page,
    timeline,
    visible_lot,
    visible_project,
)

__all__ = [
    "add_entry", "answer_objection", "bidder_exclusions", "cancel_lot", "close_lot",
    "finish_opening", "notify_agency", "held_by_objection", "start_opening",
    "config_of", "console_lots", "count_notices", "create_project", "download_document",
    "downloads", "file_objection", "in_force", "is_blacklisted", "is_tenderee_side", "issue_amendment",
    "lot_audit_trail", "matches", "notices_of", "notices_page", "objections_for", "publish_lot", "resume_lot", "revoke_entry",
    "suspend_lot", "timeline", "update_lot", "upload_document", "visible_document",
    "visible_lot", "visible_project",
]
