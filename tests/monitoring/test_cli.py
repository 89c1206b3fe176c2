"""``ggzy monitoring simulate|scan|evaluate`` end to end, and their failure exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitoring.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    res = CliRunner().invoke(cli, ["simulate", "--out", str(out), "--tenders", "800", "--seed", "5"])
    assert res.exit_code == 0, res.output
    return out


def test_help_of_every_command():
    for args in ([], ["scan"], ["simulate"], ["evaluate"]):
        res = CliRunner().invoke(cli, [*args, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output


def test_simulate_writes_both_formats_and_truth(simulated):
    assert {p.name for p in simulated.iterdir()} >= {"bids.csv", "ocds.jsonl", "truth.csv"}
    with (simulated / "ocds.jsonl").open() as fh:
        first = json.loads(fh.readline())
    assert first["bids"]["details"] and first["ocid"] == first["tender"]["id"]


def test_scan_csv_then_evaluate(simulated, tmp_path):
    out = tmp_path / "scan.jsonl"
    res = CliRunner().invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    tenders = [x for x in lines if "tender_id" in x]
    assert len(tenders) == 800 and any("group_id" in x for x in lines)
    report = tmp_path / "eval.json"
    res = CliRunner().invoke(cli, ["evaluate", "--scan", str(out), "--truth",
                                   str(simulated / "truth.csv"), "--json", str(report)])
    assert res.exit_code == 0, res.output
    metrics = json.loads(report.read_text())
    assert all(m["recall"] >= 0.95 for m in metrics["evidence"].values())
    assert "rotation" in res.output


def test_scan_ocds_finds_the_same_price_flags(simulated, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    runner = CliRunner()
    assert runner.invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(a)]).exit_code == 0
    assert runner.invoke(cli, ["scan", str(simulated / "ocds.jsonl"), "--format", "ocds",
                               "--out", str(b)]).exit_code == 0

    def price_flags(path):
        keep = {"IDENTICAL_PRICE", "REGULAR_PRICE_GAP"}
        return {r["tender_id"]: sorted(set(r["flags"]) & keep)
                for r in map(json.loads, path.read_text().splitlines()) if "tender_id" in r}

    fa, fb = price_flags(a), price_flags(b)
    assert fa == fb and any(fa.values())


def test_bad_input_exits_2_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("tender,amount\n1,2\n")
    runner = CliRunner()
    res = runner.invoke(cli, ["scan", str(bad), "--out", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "missing required column" in res.output
    res = runner.invoke(cli, ["scan", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "cannot open" in res.output
    res = runner.invoke(cli, ["evaluate", "--scan", str(bad), "--truth", str(bad)])
    assert res.exit_code == 2


def test_scan_with_training_file_keeps_rule_evidence(simulated, tmp_path):
    """--train: a random forest calibrates the price part; Art.40 hits still alert."""
    import csv

    planted = {r["tender_id"]: r["kind"] for r in csv.DictReader(
        (simulated / "truth.csv").read_text().splitlines())}
    src = list(csv.DictReader((simulated / "bids.csv").read_text().splitlines()))
    train = tmp_path / "train.csv"
    with train.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*src[0], "label"])
        w.writeheader()
        for row in src:
            w.writerow({**row, "label": int(planted.get(row["tender_id"]) in ("rotation", "cover_bidding"))})
    out = tmp_path / "scan.jsonl"
    res = CliRunner().invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(out),
                                   "--train", str(train)])
    assert res.exit_code == 0, res.output
    recs = {r["tender_id"]: r for r in map(json.loads, out.read_text().splitlines()) if "tender_id" in r}
    bond = [t for t, k in planted.items() if k == "shared_bond"]
    assert all("ART40_6" in recs[t]["flags"] and recs[t]["score"] >= 0.5 for t in bond)
    rings = [recs[t]["score"] for t, k in planted.items() if k == "rotation"]
    clean = [r["score"] for t, r in recs.items() if t not in planted]
    assert sum(rings) / len(rings) > sum(clean) / len(clean) + 0.3


def test_train_without_label_column_exits_2(simulated, tmp_path):
    res = CliRunner().invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(tmp_path / "o"),
                                   "--train", str(simulated / "bids.csv")])
    assert res.exit_code == 2 and "label" in res.output


def test_without_the_train_extra_only_training_and_evaluate_stop_naming_it(simulated, tmp_path, monkeypatch):
    """scikit-learn is the ``train`` extra: scanning and the calibration report work without it."""
    blocked = "import sys; sys.modules['sklearn'] = None; import monitoring.engine.calibration, monitoring.cli"
    imported = subprocess.run([sys.executable, "-c", blocked], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    for name in [m for m in sys.modules if m.split(".")[0] == "sklearn"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn fails as if not installed
    runner = CliRunner()
    out = tmp_path / "scan.jsonl"
    assert runner.invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(out)]).exit_code == 0
    trained = runner.invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(out),
                                  "--train", str(simulated / "bids.csv")])
    assert trained.exit_code == 1 and "pip install 'ggzy[train]'" in trained.output, trained.output
    judged = runner.invoke(cli, ["evaluate", "--scan", str(out), "--truth", str(simulated / "truth.csv")])
    assert judged.exit_code == 1 and "'train' extra" in judged.output, judged.output


def test_evaluate_prints_plain_tables_without_rich(simulated, tmp_path, monkeypatch):
    import monitoring.cli

    out = tmp_path / "scan.jsonl"
    assert CliRunner().invoke(cli, ["scan", str(simulated / "bids.csv"), "--out", str(out)]).exit_code == 0
    monkeypatch.setattr(monitoring.cli, "_have_rich", lambda: False)
    res = CliRunner().invoke(cli, ["evaluate", "--scan", str(out), "--truth", str(simulated / "truth.csv")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "price-only kinds" in lines and any(line.startswith("rotation ") for line in lines)
    assert lines[lines.index("price-only kinds") + 1].split() == ["kind", "planted", "roc_auc", "pr_auc",
                                                                  "recall_at_threshold"]
