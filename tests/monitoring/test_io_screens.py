"""Input parsing (bids-csv, OCDS) is tolerant, and the vectorised screens equal scipy's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from monitoring.engine import screens
from monitoring.engine.io import InputError, parse_date, read_bids_csv, read_ocds
from monitoring.engine.table import from_columns


def _write(tmp_path, text, name="bids.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_bids_csv_required_only_and_unknown_columns_ignored(tmp_path):
    p = _write(tmp_path, "tender_id,bidder_id,amount,winner,colour\n"
                         "T1,A,100,1,red\nT1,B,110,0,blue\nT2,A,50,true,x\n")
    t = read_bids_csv(p)
    assert len(t) == 3 and t.tender_ids == ["T1", "T2"] and t.bidder_ids == ["A", "B"]
    assert t.winner.tolist() == [True, False, True] and t.attrs == {} and t.warnings == []


def test_bad_optional_value_is_a_warning_not_an_abort(tmp_path):
    p = _write(tmp_path, "tender_id,bidder_id,amount,winner,date,estimate,ip\n"
                         "T1,A,100,1,2024-03-01,abc,1.1.1.1\nT1,B,110,0,not-a-date,120,\n"
                         "T1,C,oops,0,2024,120,\n")
    t = read_bids_csv(p)
    assert len(t) == 2  # the row without a readable amount is skipped
    assert {w.split(":")[0] for w in t.warnings} == {"date", "estimate", "row"}
    assert np.isnan(t.date[1]) and np.isnan(t.estimate[0]) and t.attrs["ip"].tolist() == [0, -1]


def test_missing_required_column_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="winner"):
        read_bids_csv(_write(tmp_path, "tender_id,bidder_id,amount\nT1,A,1\n"))
    with pytest.raises(InputError, match="cannot open"):
        read_bids_csv(tmp_path / "absent.csv")


@pytest.mark.parametrize(("raw", "epoch"), [
    ("2024-03-01", 1709251200.0), ("2024-03-01T08:00:00+08:00", 1709251200.0),
    ("20240301", 1709251200.0), ("2024", 1704067200.0), ("1709251200", 1709251200.0),
    ("soon", None), ("", None),
])
def test_date_formats(raw, epoch):
    assert parse_date(raw) == epoch


def test_ocds_compiled_releases_with_bids_extension(tmp_path):
    rel = {"ocid": "ocds-x-1", "tender": {"value": {"amount": 2e5},
                                          "tenderPeriod": {"endDate": "2025-03-10T00:00:00Z"}},
           "bids": {"details": [
               {"id": "b1", "status": "valid", "value": {"amount": 1e5}, "tenderers": [{"id": "A"}]},
               {"id": "b2", "status": "valid", "value": {"amount": 1.1e5}, "tenderers": [{"id": "B"}]},
               {"id": "b3", "status": "withdrawn", "value": {"amount": 9e4}, "tenderers": [{"id": "C"}]},
               {"id": "b4", "status": "valid", "value": {}, "tenderers": [{"id": "D"}]}]},
           "awards": [{"status": "active", "suppliers": [{"id": "A"}]}],
           "parties": [{"id": "A", "contactPoint": {"telephone": "123"}},
                       {"id": "B", "contactPoint": {"telephone": "123"}}]}
    p = _write(tmp_path, json.dumps(rel) + "\n{broken\n\n", "x.jsonl")
    t = read_ocds(p)
    assert t.tender_ids == ["ocds-x-1"] and t.bidder_ids == ["A", "B"]
    assert t.winner.tolist() == [True, False] and t.estimate.tolist() == [2e5, 2e5]
    assert t.attr_values["phone"] == ["123"] and t.attrs["phone"].tolist() == [0, 0]
    assert {w.split(":")[0] for w in t.warnings} == {"bid", "json"}


def test_ocds_members_of_the_wrong_type_are_warnings_not_crashes(tmp_path):
    good = {"ocid": "ocds-x-3", "bids": {"details": [
        {"id": "b", "value": {"amount": 5}, "tenderers": [{"id": "F"}]}]}}
    odd = [{"ocid": "ocds-x-1", "bids": [1, 2]}, {"ocid": "ocds-x-2", "bids": "x", "tender": 7, "awards": 3,
                                                   "parties": {"a": 1}},
           {"ocid": "ocds-x-4", "bids": {"details": {"id": "b"}}, "tender": {"value": [], "tenderPeriod": 5}},
           {"ocid": "ocds-x-5", "bids": {"details": [{"id": "b", "value": 9, "tenderers": {"id": "G"}}]}}]
    p = _write(tmp_path, "\n".join(json.dumps(r) for r in [*odd, good]) + "\n", "x.jsonl")
    t = read_ocds(p, parallel=False)
    assert t.tender_ids == ["ocds-x-3"] and t.bidder_ids == ["F"]
    assert {w.split(":")[0] for w in t.warnings} >= {"bids", "bid"}


def test_ocds_not_json_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        read_ocds(_write(tmp_path, "hello\nworld\n", "x.jsonl"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(1e3, 1e7, allow_nan=False), min_size=4, max_size=12),
                min_size=1, max_size=6))
def test_screens_match_scipy(tenders):
    cols = {"tender_id": [], "bidder_id": [], "amount": [], "winner": []}
    for i, bids in enumerate(tenders):
        for j, b in enumerate(bids):
            cols["tender_id"].append(f"T{i}")
            cols["bidder_id"].append(f"F{j}")
            cols["amount"].append(round(b, 2))
            cols["winner"].append(False)
    table = from_columns(cols).sort()
    s = screens.compute(table)
    codes, starts, counts = table.blocks()
    for k, (st_, n) in enumerate(zip(starts, counts, strict=True)):
        x = table.amount[st_:st_ + n]
        if np.ptp(x) <= 1e-6 * x.mean():
            continue
        assert s["CV"][k] == pytest.approx(np.std(x, ddof=1) / np.mean(x), rel=1e-6)
        assert s["SPD"][k] == pytest.approx((x[-1] - x[0]) / x[0], rel=1e-9)
        assert s["SKEW"][k] == pytest.approx(stats.skew(x, bias=False), rel=1e-4, abs=1e-6)
        assert s["KURT"][k] == pytest.approx(stats.kurtosis(x, bias=False), rel=1e-4, abs=1e-6)
        u = (x - x[0]) / (x[-1] - x[0])
        assert s["KS"][k] == pytest.approx(stats.kstest(u, "uniform").statistic, abs=1e-9)
