"""The fast OCDS paths read every release exactly as the generic ``json.loads`` path does.

``monitoring.engine.ocds_fast`` decodes a line with a strict schema and moves its columns at once
when the release is clean, falls back to a lenient schema read bid by bid otherwise, and
leaves what msgspec refuses to ``json.loads``.  Each odd release below must give the same
rows, codes and warnings through :func:`read_ocds` as through the generic code alone, and
the two-process read must give the same table and warnings (line numbers included) as one
process.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from monitoring.engine.io import OcdsColumns, WarningLog, _part_table, _release_rows, read_ocds


def _release(ocid: str = "ocds-1") -> dict:
    bids = [{"id": f"b{i}", "status": "valid", "value": {"amount": 1000.0 + 10 * i, "currency": "CNY"},
             "tenderers": [{"id": f"F{i}", "name": f"Firm {i}"}]} for i in range(4)]
    parties = [{"id": f"F{i}", "name": f"Firm {i}", "roles": ["tenderer"],
                "contactPoint": {"telephone": f"+86-1{i % 2}", "email": f"Bids@F{i % 3}.example"}}
               for i in range(4)]
    return {"ocid": ocid, "date": "2024-05-01T08:00:00Z",
            "tender": {"value": {"amount": 1100.0}, "tenderPeriod": {"endDate": "2024-04-30T09:30:00Z"}},
            "bids": {"details": bids},
            "awards": [{"status": "active", "suppliers": [{"id": "F1", "name": "Firm 1"}]}],
            "parties": parties}


def _variant(change) -> dict:
    rel = copy.deepcopy(_release())
    change(rel)
    return rel


def _set(path: str, value):
    def change(rel):
        *head, last = path.split(".")
        node = rel
        for key in head:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return change


_DELETE = object()

VARIANTS = {
    "clean": _release(),
    "withdrawn and invited bids": _variant(lambda r: (r["bids"]["details"][0].update(status="withdrawn"),
                                                      r["bids"]["details"][2].update(status="invited"))),
    "unknown bid status": _variant(_set("bids.details.1.status", "rejected")),
    "null bid status": _variant(_set("bids.details.1.status", None)),
    "bid without value": _variant(_set("bids.details.1.value", _DELETE)),
    "empty value": _variant(_set("bids.details.1.value", {})),
    "amount as text": _variant(_set("bids.details.1.value.amount", "1234.5")),
    "amount as bad text": _variant(_set("bids.details.1.value.amount", "n/a")),
    "integer amount": _variant(_set("bids.details.1.value.amount", 1234)),
    "huge integer amount": _variant(_set("bids.details.1.value.amount", 10**30)),
    "null amount": _variant(_set("bids.details.1.value.amount", None)),
    "boolean amount": _variant(_set("bids.details.1.value.amount", True)),
    "negative zero amount": _variant(_set("bids.details.1.value.amount", -0.0)),
    "no tenderers": _variant(_set("bids.details.1.tenderers", [])),
    "null tenderers": _variant(_set("bids.details.1.tenderers", None)),
    "tenderer by name only": _variant(_set("bids.details.1.tenderers", [{"name": "Firm X"}])),
    "empty tenderer id": _variant(_set("bids.details.1.tenderers", [{"id": "", "name": "Firm X"}])),
    "integer tenderer id": _variant(_set("bids.details.1.tenderers", [{"id": 17}])),
    "consortium": _variant(_set("bids.details.1.tenderers", [{"id": "F1"}, {"id": "F9"}])),
    "no parties": _variant(_set("parties", _DELETE)),
    "party without contact point": _variant(_set("parties.2.contactPoint", _DELETE)),
    "null contact point": _variant(_set("parties.2.contactPoint", None)),
    "null telephone": _variant(_set("parties.2.contactPoint.telephone", None)),
    "empty contact point": _variant(_set("parties.2.contactPoint", {})),
    "upper-case email spelled twice": _variant(lambda r: (r["parties"][0]["contactPoint"].update(email="A@B.cn"),
                                                          r["parties"][1]["contactPoint"].update(email="a@b.CN"))),
    "numeric telephone": _variant(_set("parties.2.contactPoint.telephone", 13800)),
    "duplicate party, later without contact": _variant(
        lambda r: r["parties"].append({"id": "F0", "name": "Firm 0 again"})),
    "duplicate party, later with another contact": _variant(
        lambda r: r["parties"].append({"id": "F0", "contactPoint": {"telephone": "999"}})),
    "party without id": _variant(_set("parties.3.id", _DELETE)),
    "buyer party with contact": _variant(lambda r: r["parties"].insert(
        0, {"id": "B1", "roles": ["buyer"], "contactPoint": {"telephone": "+86-10", "email": "X@Y"}})),
    "pending award": _variant(_set("awards.0.status", "pending")),
    "award without status": _variant(_set("awards.0.status", _DELETE)),
    "unknown award status": _variant(_set("awards.0.status", "won")),
    "supplier without id": _variant(_set("awards.0.suppliers", [{"name": "Firm 1"}])),
    "no tender": _variant(_set("tender", _DELETE)),
    "tender value without amount": _variant(_set("tender.value", {"currency": "CNY"})),
    "null tender value": _variant(_set("tender.value", None)),
    "estimate as text": _variant(_set("tender.value.amount", "1100")),
    "no tender period": _variant(_set("tender.tenderPeriod", _DELETE)),
    "bad end date": _variant(_set("tender.tenderPeriod.endDate", "soon")),
    "numeric end date": _variant(_set("tender.tenderPeriod.endDate", 20240430)),
    "offset end date": _variant(_set("tender.tenderPeriod.endDate", "2024-04-30T09:30:00+08:00")),
    "no ocid": _variant(_set("ocid", _DELETE)),
    "integer ocid": _variant(_set("ocid", 7)),
    "empty ocid": _variant(_set("ocid", "")),
    "no bids": _variant(_set("bids", _DELETE)),
    "empty details": _variant(_set("bids.details", [])),
}


def _generic(releases: list[dict], path) -> object:
    """The table the generic code alone builds from these releases (one per line)."""
    cols, log = OcdsColumns(), WarningLog()
    for lineno, rel in enumerate(releases, start=1):
        _release_rows(rel, cols, log, lineno)
    return _part_table(cols.arrays(log, len(releases), len(releases)), path)


def _same_table(a, b) -> None:
    assert a.tender_ids == b.tender_ids and a.bidder_ids == b.bidder_ids
    for col in ("tender", "bidder", "amount", "winner", "date", "estimate"):
        assert np.array_equal(getattr(a, col), getattr(b, col), equal_nan=col in ("date", "estimate")), col
    assert a.attr_values == b.attr_values
    assert all(np.array_equal(a.attrs[c], b.attrs[c]) for c in a.attrs) and a.attrs.keys() == b.attrs.keys()
    assert a.warnings == b.warnings


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_odd_release_reads_as_the_generic_path(tmp_path, name):
    # a clean release around the odd one: the fast path must not leak state between lines
    releases = [_release("ocds-0"), VARIANTS[name], _release("ocds-2")]
    p = tmp_path / "x.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in releases), encoding="utf-8")
    try:
        want = _generic([json.loads(json.dumps(r)) for r in releases], p)
    except ValueError as exc:  # InputError: no usable rows at all
        with pytest.raises(type(exc)):
            read_ocds(p, parallel=False)
        return
    _same_table(read_ocds(p, parallel=False), want)


def test_two_process_read_keeps_warnings_and_line_numbers(tmp_path, caplog):
    lines = []
    for i in range(60):
        rel = VARIANTS[sorted(VARIANTS)[i % len(VARIANTS)]]
        lines.append(json.dumps({**rel, "ocid": f"ocds-{i}"} if isinstance(rel.get("ocid"), str) else rel))
    lines[45] = "{not json"
    lines[50] = ""
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one, two = read_ocds(p, parallel=False), read_ocds(p, parallel=True)
    assert "helper process failed" not in caplog.text
    _same_table(one, two)
    assert any("line 46" in w for w in two.warnings)  # a line of the helper's half, renumbered
