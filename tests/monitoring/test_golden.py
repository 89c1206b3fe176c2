"""The scan's output is the same as before the speed work (golden files).

``data/golden_*.jsonl`` were written by the scan as it was before the columnar and msgspec
optimisations (commit 4f4413c), on a 200-lot simulated market (seed 11) in both input
formats.  Records are compared as parsed JSON: the writer now spells some floats
differently (``1e-05`` as ``0.00001``), and the key order of an identity group's ``shared``
evidence follows set iteration order, which varies with the hash seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from monitoring.cli import cli
from monitoring.engine import export
from monitoring.engine.io import read_ocds
from monitoring.engine.market import Market
from monitoring.engine.simulate import Simulator

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def market_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("golden")
    m = Simulator(200, seed=11).generate()
    export.write_bids_csv(m.cols, d / "bids.csv")
    export.write_ocds(m.cols, d / "ocds.jsonl")
    return d


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("fmt", "name"), [("bids-csv", "bids.csv"), ("ocds", "ocds.jsonl")])
def test_scan_output_equals_golden(market_files, tmp_path, fmt, name):
    out = tmp_path / "scan.jsonl"
    res = CliRunner().invoke(cli, ["scan", str(market_files / name), "--format", fmt, "--out", str(out)])
    assert res.exit_code == 0, res.output
    got, want = _records(out), _records(DATA / f"golden_{fmt}.jsonl")
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == w


def test_two_process_ocds_read_equals_one_process(market_files, tmp_path):
    """The big-file path (two processes, halves joined) gives the same table and output."""
    one = read_ocds(market_files / "ocds.jsonl", parallel=False)
    two = read_ocds(market_files / "ocds.jsonl", parallel=True)
    assert one.tender_ids == two.tender_ids and one.bidder_ids == two.bidder_ids
    for col in ("tender", "bidder", "amount", "winner", "date", "estimate"):
        assert np.array_equal(getattr(one, col), getattr(two, col), equal_nan=col in ("date", "estimate"))
    assert one.attr_values == two.attr_values
    assert all((one.attrs[c] == two.attrs[c]).all() for c in one.attrs)
    for t, name in ((one, "a"), (two, "b")):
        m = Market(t).analyse()
        export.write_jsonl(m.tender_records(), tmp_path / f"{name}.jsonl")
    assert _records(tmp_path / "a.jsonl") == _records(tmp_path / "b.jsonl")


def test_fast_json_lines_equal_encoded_records(market_files):
    """The column-wise writer of unflagged tenders writes exactly the encoded records."""
    import msgspec

    from monitoring.engine.io import read_bids_csv

    m = Market(read_bids_csv(market_files / "bids.csv")).analyse()
    enc = msgspec.json.Encoder().encode
    lines = list(m.tender_json_lines())
    assert lines == [enc(r) for r in m.tender_records()]
    assert any(not r["flags"] for r in m.tender_records()) and any(r["flags"] for r in m.tender_records())


def test_column_rounding_equals_python_round():
    from monitoring.engine.market import _r_list

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 20_000) * 10.0 ** rng.integers(-8, 9, 20_000),
                        np.arange(-2000, 2000) / 1e4 + 0.00005, [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300]])
    want = [round(v, 4) if np.isfinite(v) else None for v in x.tolist()]
    got = _r_list(x)
    assert [repr(v) for v in got] == [repr(v) for v in want]
