"""The trading operations in the one permission table (core.permissions), and the path
parameters the object-level checks load.

Reading the portal is public (EBM Art.9, 20).  Tender content changes only on the tenderee side:
the agency organisation that owns the project, or a ``tenderee_rep`` on the lot.  Supervisors
read everything and issue instructions (suspend, resume, blacklist) but are in no rule that
changes a tender's content (EBM Art.3).  Time conditions (downloaders before the deadline) are
conditions of the rule (``when``), so a supervisor asking early gets 403 and the matrix test agrees.
"""
from __future__ import annotations

from sqlalchemy.orm import joinedload

from core.clock import now
from core.permissions import PARAM_LOAD_OPTIONS, PARAM_MODELS, _r, declare
from trading.models import BlacklistEntry, Lot, Objection, Project, TenderDocument

TENDEREE = {"owner_roles": {"agency"}, "grants": {"tenderee_rep"}}


def after_deadline(lot) -> bool:
    """Downloader names and numbers are confidential until the bid deadline (EBM Art.21, TBL Art.22)."""
    return lot is not None and now() >= lot.bid_deadline


def lots_taking_bids(_sender=None):
    """Receiver of ``core.signals.open_lots_query``: the lots whose bid deadline is still ahead."""
    from sqlalchemy import select

    return select(Lot.id).where(Lot.bid_deadline > now())

SUPERVISION = {"supervisor", "admin"}

OPERATIONS = {
    "trading.portal.read": _r(public=True, description="notices, lots, documents list, timeline, procedures"),
    "trading.blacklist.read": _r(public=True, description="the credit blacklist while in force"),
    "trading.projects.create": _r(roles={"agency"}, writes=True, description="register a project with draft lots"),
    "trading.lots.console": _r(roles={"agency", *SUPERVISION}, description="own (agency) or all (supervisor) lots"),
    "trading.lots.update": _r(writes=True, description="edit a draft lot", **TENDEREE),
    "trading.lots.publish": _r(writes=True, description="publish notice and documents", **TENDEREE),
    "trading.lots.cancel": _r(writes=True, description="terminate the tender (TBR Art.31)", **TENDEREE),
    "trading.documents.upload": _r(writes=True, description="add a tender document to a draft", **TENDEREE),
    "trading.documents.download": _r(roles={"bidder", "supervisor"}, **TENDEREE,
                                     description="any registered bidder, no sign-up step (EBM Art.20)"),
    "trading.downloads.list": _r(roles={"supervisor"}, **TENDEREE, when=lambda _user, lot: after_deadline(lot),
                                 cite="电子招标投标办法 第二十一条; 招标投标法 第二十二条",
                                 description="tenderee side always; supervisors after the deadline (EBM Art.21)"),
    "trading.amendments.create": _r(writes=True, description="clarify or change the documents", **TENDEREE),
    "trading.objections.create": _r(roles={"bidder"}, writes=True, description="object to the tender documents"),
    "trading.objections.list": _r(roles={"bidder", *SUPERVISION}, **TENDEREE,
                                  description="bidders see their own"),
    "trading.objections.read": _r(roles=SUPERVISION, owner_roles={"bidder", "agency"}, grants={"tenderee_rep"},
                                  description="the filer, the tenderee side, supervisors"),
    "trading.objections.answer": _r(writes=True, description="answer within the reply period", **TENDEREE),
    "trading.lots.suspend": _r(roles={"supervisor"}, writes=True, description="supervision instruction (EBM Art.52)"),
    "trading.lots.resume": _r(roles={"supervisor"}, writes=True, description="lift a suspension"),
    "trading.lots.audit": _r(roles=SUPERVISION, description="the audit trail of one lot"),
    "trading.blacklist.manage": _r(roles={"supervisor"}, writes=True, description="list or lift a listing"),
    "trading.pages.agency": _r(roles={"agency"}, writes=True, description="agency console"),
    "trading.pages.supervisor": _r(roles={"supervisor"}, writes=True, description="supervisor console"),
}

for _op, _rule in OPERATIONS.items():
    declare(_op, _rule)

PARAM_MODELS.update({"project_id": Project, "lot_id": Lot, "tender_document_id": TenderDocument,
                     "objection_id": Objection, "blacklist_entry_id": BlacklistEntry})
# a lot's rules and the bidding checks read its project (its agency): loaded with the lot
PARAM_LOAD_OPTIONS[Lot] = (joinedload(Lot.project),)
