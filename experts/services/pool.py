"""The expert pool: admission (≥ 8 years and a senior title, or attested equivalence), status,
credit events, and CSV/Excel import with row-level errors."""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from pathlib import Path

from core import identity
from core.audit import audit
from core.db import db, savepoint
from core.errors import DomainError, NotFound, ValidationFailed
from experts.avoidance import PENALTY_KINDS
from experts.models import STATUSES, CreditEvent, Declaration, Expert, ExpertSpecialty, Specialty

logger = logging.getLogger(__name__)
RULE_ADMISSION = "评标委员会和评标方法暂行规定 第十一条; 评标专家和评标专家库管理暂行办法 第七条"
RULE_CREDIT = "招标投标法实施条例 第七十二条"
MIN_YEARS = 8
CREDIT_KINDS = ("administrative_penalty", "criminal_penalty", "warning", "misconduct", "praise")
IMPORT_COLUMNS = ("name", "id_number", "title", "senior_title", "years", "employer_uscc", "employer_name",
                  "region", "specialties", "phone", "attestation", "relatives", "interests")


def ensure_specialty(*, code: str, name: str) -> Specialty:
    """Add a classification code (idempotent)."""
    row = db.session.get(Specialty, code) or Specialty(code=code, name=name)
    row.name = name
    db.session.add(row)
    return row


def admit_expert(*, actor, name: str, id_number: str, title: str, senior_title: bool, years: int,
                 employer_uscc: str, region: str, specialties: list[str], employer_name: str = "",
                 phone: str = "", attestation: str = "", relatives: list[dict] | None = None,
                 interests: list[dict] | None = None, user_id: int | None = None) -> Expert:
    """Admit an expert to the pool.

    :raises ValidationFailed: fewer than 8 years or no senior title without an attestation, a bad USCC
        or region, an unknown specialty code, or an expert already in the pool.
    """
    _check_qualification(senior_title=senior_title, years=years, attestation=attestation)
    uscc = identity.validate_uscc(employer_uscc)
    _check_region(region)
    codes = _known_specialties(specialties)
    id_hash = identity.hash_id_number(_require(id_number, "id_number"))
    if db.session.scalar(db.select(Expert.id).where(Expert.id_number_hash == id_hash)):
        raise ValidationFailed("this person is already in the pool", code="expert_exists")
    expert = Expert(name=_require(name, "name"), id_number_hash=id_hash, title=_require(title, "title"),
                    senior_title=senior_title, years=years, attestation=attestation.strip(), employer_uscc=uscc,
                    employer_name=employer_name, region=region, phone=phone, user_id=user_id)
    expert.specialties = [ExpertSpecialty(code=c) for c in codes]
    expert.declarations = [_declaration("relative", d) for d in relatives or []] + \
        [_declaration("interest", d) for d in interests or []]
    db.session.add(expert)
    db.session.flush()
    audit("experts.admitted", object_type="expert", object_id=expert.id, actor=actor)
    return expert


def _require(value: str, field: str) -> str:
    if not (value or "").strip():
        raise ValidationFailed(f"{field} is required", code="missing_field", field=field)
    return value.strip()


def _check_qualification(*, senior_title: bool, years: int, attestation: str) -> None:
    """PBE Art.11: ≥ 8 years and a senior title, or an attested equivalent level."""
    if years < 0:
        raise ValidationFailed("years cannot be negative", code="invalid_years")
    if (years < MIN_YEARS or not senior_title) and not attestation.strip():
        raise ValidationFailed(f"admission needs ≥ {MIN_YEARS} years and a senior title, or an attestation "
                               "of equivalent level", code="not_qualified", rule=RULE_ADMISSION)


def _check_region(region: str) -> None:
    if not (region.isdigit() and len(region) in (2, 4, 6)):
        raise ValidationFailed("region is a GB/T 2260 code of 2, 4 or 6 digits", code="invalid_region")


def _known_specialties(codes: list[str]) -> list[str]:
    codes = sorted({c.strip() for c in codes if c.strip()})
    if not codes:
        raise ValidationFailed("at least one specialty code is needed", code="missing_specialty")
    known = set(db.session.scalars(db.select(Specialty.code).where(Specialty.code.in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationFailed(f"unknown specialty codes: {', '.join(unknown)}", code="unknown_specialty")
    return codes


def _declaration(kind: str, item: dict) -> Declaration:
    """A relative or interest: an organisation (USCC) and/or a person (id number, kept as a hash)."""
    uscc = identity.validate_uscc(item["org_uscc"]) if item.get("org_uscc") else ""
    person = identity.hash_id_number(item["id_number"]) if item.get("id_number") else ""
    if not uscc and not person:
        raise ValidationFailed(f"a declared {kind} names an organisation USCC or a person id number",
                               code="empty_declaration")
    return Declaration(kind=kind, org_uscc=uscc, person_hash=person, note=str(item.get("note", ""))[:200])


def set_status(*, actor, expert: Expert, status: str, ban_until: dt.datetime | None = None,
               reason: str = "") -> Expert:
    """Suspend, ban (until a date, or indefinitely) or reactivate an expert."""
    if status not in STATUSES:
        raise ValidationFailed(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
    expert.status, expert.ban_until = status, ban_until if status == "banned" else None
    audit("experts.status_changed", object_type="expert", object_id=expert.id, actor=actor, status=status,
          reason=reason)
    return expert


def add_credit_event(*, actor, expert: Expert, kind: str, detail: str = "", legal_basis: str = "",
                     ban_until: dt.datetime | None = None) -> CreditEvent:
    """Record conduct; a penalty bars the expert from draws (PBE Art.12(4)) and may ban until a date."""
    if kind not in CREDIT_KINDS:
        raise ValidationFailed(f"kind is one of {', '.join(CREDIT_KINDS)}", code="invalid_kind")
    if kind in PENALTY_KINDS and not legal_basis.strip():
        raise ValidationFailed("a penalty cites its legal basis", code="missing_legal_basis", rule=RULE_CREDIT)
    event = CreditEvent(expert_id=expert.id, kind=kind, detail=detail, legal_basis=legal_basis)
    db.session.add(event)
    if ban_until is not None:
        set_status(actor=actor, expert=expert, status="banned", ban_until=ban_until, reason=kind)
    db.session.flush()
    return event


def get_expert(expert_id: int) -> Expert:
    expert = db.session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"expert {expert_id} not found")
    return expert


def read_rows(path: Path) -> list[dict]:
    """Rows of a .csv (UTF-8, header row) or .xlsx file (first sheet, header row) as dicts of str."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        header, body = [h.strip() for h in rows[0]], rows[1:]
        return [dict(zip(header, r, strict=False)) for r in body if any(x.strip() for x in r)]
    text = path.read_bytes().decode("utf-8-sig")
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def import_rows(*, actor, rows: list[dict]) -> dict:
    """Admit each row in its own savepoint: a bad row is reported (row number, error) and skipped.

    Row numbers count the header as row 1, as a spreadsheet shows them.
    """
    admitted, errors = [], []
    for number, row in enumerate(rows, start=2):
        try:
            with savepoint():
                admitted.append(admit_expert(actor=actor, **_row_fields(row)).id)
        except DomainError as err:
            errors.append({"row": number, "error": err.code, "detail": err.detail})
        except (ValueError, KeyError) as err:
            errors.append({"row": number, "error": "invalid_row", "detail": str(err)})
    return {"admitted": admitted, "errors": errors}


def _row_fields(row: dict) -> dict:
    get = {k: (row.get(k) or "").strip() for k in IMPORT_COLUMNS}
    try:
        years = int(float(get["years"]))
    except ValueError:
        raise ValidationFailed(f"years is not a number: {get['years']!r}", code="invalid_years") from None
    return {"name": get["name"], "id_number": get["id_number"], "title": get["title"],
            "senior_title": get["senior_title"].lower() in ("1", "true", "yes", "是", "y"), "years": years,
            "employer_uscc": get["employer_uscc"], "employer_name": get["employer_name"], "region": get["region"],
            "specialties": _split(get["specialties"]), "phone": get["phone"], "attestation": get["attestation"],
            "relatives": [{"org_uscc": u} for u in _split(get["relatives"])],
            "interests": [{"org_uscc": u} for u in _split(get["interests"])]}


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", "|").replace(",", "|").split("|") if v.strip()]
