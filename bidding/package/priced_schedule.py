"""The priced schedule (已标价工程量清单 / 报价表): CSV or Excel → validated Decimal rows.

Every problem is reported with its row number, all at once, so the bidder fixes the sheet in one
go.  Amounts are never floats: CSV text is parsed as Decimal; Excel numbers (which openpyxl
returns as float) are accepted only when they are a whole number of fen up to float noise.
"""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

MAX_ROWS = 100_000
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
COLUMNS = {
    "code": ("code", "编码", "项目编码", "序号"),
    "item": ("item", "name", "名称", "项目名称", "项目"),
    "unit": ("unit", "单位", "计量单位"),
    "quantity": ("quantity", "qty", "数量", "工程量"),
    "unit_price": ("unit_price", "单价", "综合单价"),
    "amount": ("amount", "total", "金额", "合价", "报价"),
}
REQUIRED = ("item", "amount")
_NUMBER = re.compile(r"-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?")


class ScheduleError(ValueError):
    """The schedule cannot be used; ``errors`` lists every problem as "row N: …"."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:20]) + (f" (+{len(errors) - 20} more)" if len(errors) > 20 else ""))
        self.errors = errors


def load_schedule(path: Path) -> dict:
    """Parse and validate; returns ``{"source", "currency", "rows", "total"}`` with decimal strings.

    :raises ScheduleError: unreadable file, missing columns, or any bad row
    """
    path = Path(path)
    rows = _excel_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    header_at, header = _find_header(rows)
    columns = _map_columns(header)
    parsed, errors = [], []
    for number, cells in rows[header_at + 1:]:
        if not any(_text(c) for c in cells):
            continue
        row, row_errors = _parse_row(number, cells, columns)
        parsed.append(row)
        errors += row_errors
    if not parsed and not errors:
        errors.append("the schedule has no priced rows")
    if len(parsed) > MAX_ROWS:
        errors.append(f"more than {MAX_ROWS} rows")
    if errors:
        raise ScheduleError(errors)
    total = sum((Decimal(r["amount"]) for r in parsed), Decimal("0.00"))
    return {"source": path.name, "currency": "CNY", "rows": parsed, "total": str(total.quantize(CENT))}


def _csv_rows(path: Path) -> list[tuple[int, list]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ScheduleError(["the CSV file is neither UTF-8 nor GB18030 text"])
    try:
        return list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as err:
        raise ScheduleError([f"the CSV file is malformed: {err}"]) from None


def _excel_rows(path: Path) -> list[tuple[int, list]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as err:
        raise ScheduleError([f"the Excel file cannot be read: {err}"]) from None
    try:
        sheet = book.worksheets[0]
        return [(n, list(r)) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


def _text(cell) -> str:
    return "" if cell is None else str(cell).strip()


def _find_header(rows) -> tuple[int, list]:
    for at, (_number, cells) in enumerate(rows):
        if any(_text(c) for c in cells):
            return at, cells
    raise ScheduleError(["the schedule is empty"])


def _map_columns(header: list) -> dict[str, int]:
    names = [_text(c).lower().replace(" ", "_") for c in header]
    columns = {}
    for key, aliases in COLUMNS.items():
        for i, name in enumerate(names):
            if name in aliases and key not in columns:
                columns[key] = i
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        raise ScheduleError([f"row 1: missing column(s) {', '.join(missing)} (accepted headers: "
                             + "; ".join(f"{k}: {'/'.join(COLUMNS[k])}" for k in missing) + ")"])
    return columns


def _parse_row(number: int, cells: list, columns: dict[str, int]) -> tuple[dict, list[str]]:
    def cell(key):
        i = columns.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    errors, row = [], {"row": number}
    for key in ("code", "item", "unit"):
        if key in columns:
            row[key] = _text(cell(key))[:200]
    if not row["item"]:
        errors.append(f"row {number}: item is empty")
    for key in ("quantity", "unit_price", "amount"):
        if key not in columns:
            continue
        value, problem = to_decimal(cell(key), money=key != "quantity")
        if problem:
            errors.append(f"row {number}: {key} {problem}")
        row[key] = None if value is None else str(value)
    if row.get("amount") is None and not any("amount" in e for e in errors):
        errors.append(f"row {number}: amount is empty")
    errors += _check_product(number, row)
    return row, errors


def _check_product(number: int, row: dict) -> list[str]:
    if not all(row.get(k) for k in ("quantity", "unit_price", "amount")):
        return []
    product = (Decimal(row["quantity"]) * Decimal(row["unit_price"])).quantize(CENT)
    if abs(product - Decimal(row["amount"])) > CENT:
        return [f"row {number}: quantity × unit_price = {product} but amount is {row['amount']}"]
    return []


def to_decimal(value, *, money: bool = True) -> tuple[Decimal | None, str | None]:
    """(value, None) or (None, reason); money has at most 2 places, is ≥ 0 and below 10¹²."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, "is not a number"
    if isinstance(value, float):
        number = Decimal(repr(value))
        if not number.is_finite():
            return None, "is not a finite number"
        if money and abs(number - number.quantize(CENT)) < Decimal("0.000001"):
            number = number.quantize(CENT)
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = str(value).strip().lstrip("¥￥").strip()
        if not _NUMBER.fullmatch(text):
            return None, f"{str(value)[:40]!r} is not a decimal number"
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return None, f"{str(value)[:40]!r} is not a decimal number"
    if not number.is_finite() or number < 0 or number > MAX_AMOUNT:
        return None, f"{number} is out of range (0 … {MAX_AMOUNT})"
    if money and number != number.quantize(CENT):
        return None, f"{number} has more than 2 decimal places"
    return (number.quantize(CENT) if money else number), None
