"""Export and the offline verifier end to end: directory and tar, exit codes, prior checkpoints."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import bag, services, verify
from archive.cli import cli
from tests.archive.conftest import lot_events


@pytest.fixture
def exported(archive, app, tmp_path):
    lot_events(archive, lot_id=7, bids=2, attachment=b"bid bytes " * 50, store=archive.store_)
    archive.seal()
    runner = CliRunner()
    trust = tmp_path / "trust.json"
    with app.test_request_context():
        pass
    result = runner.invoke(cli, ["trust", "--out", str(trust)], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    return {"runner": runner, "trust": trust, "tmp": tmp_path, "app": app}


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def _export(exported, *args) -> Path:
    out = exported["tmp"] / args[-1]
    result = exported["runner"].invoke(cli, ["export", *args[:-1], "--out", str(out)],
                                       obj=_script_info(exported["app"]))
    assert result.exit_code == 0, result.output
    return out


def _verify(exported, bundle, *extra):
    result = exported["runner"].invoke(cli, ["verify", str(bundle), "--trust", str(exported["trust"]), *extra])
    return result.exit_code, json.loads(result.output)


def test_lot_bundle_directory_and_tar_verify(exported):
    for name in ("lot7", "lot7.tar"):
        bundle = _export(exported, "--lot", "7", name)
        code, report = _verify(exported, bundle)
        assert code == 0, report
        assert report["records"] == 4 and report["attachments"] == 1
        assert list(report["checks"]) == list(verify.CHECKS)


def test_record_bundle_and_standalone_module(exported):
    rec = services.search(lot_id=7, event="bidding.")[0]
    bundle = _export(exported, "--record", str(rec.id), "rec.tar")
    proc = subprocess.run([sys.executable, "-m", "archive.verify", str(bundle), "--trust", str(exported["trust"])],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["scope"]["kind"] == "record"


def test_verifier_imports_neither_flask_nor_the_database():
    code = "import sys, archive.verify; bad = [m for m in ('flask', 'sqlalchemy', 'core') if m in sys.modules]; " \
           "print(bad); sys.exit(1 if bad else 0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_malformed_inputs_exit_2(exported):
    bundle = _export(exported, "--lot", "7", "lot7")
    empty = exported["tmp"] / "empty"
    empty.mkdir()
    assert _verify(exported, empty)[0] == 2
    bad_trust = exported["tmp"] / "bad-trust.json"
    bad_trust.write_text("{}")
    result = exported["runner"].invoke(cli, ["verify", str(bundle), "--trust", str(bad_trust)])
    assert result.exit_code == 2
    (bundle / "data" / "statement.json").write_bytes(b"{not json")
    assert _verify(exported, bundle)[0] == 2


def test_prior_checkpoint_consistency(exported, archive):
    first = _export(exported, "--lot", "7", "first")
    prior = exported["tmp"] / "prior.json"
    prior.write_bytes((first / "data" / "checkpoint.json").read_bytes())
    lot_events(archive, lot_id=7, bids=1)
    archive.add("core.key_registered", {"kid": "k"})
    archive.seal()
    later = _export(exported, "--lot", "7", "--prior", str(prior), "later")
    code, report = _verify(exported, later, "--prior", str(prior))
    assert code == 0 and report["prior"]["size"] == 4, report
    # the first bundle is older than a newer prior: not provable from it
    newer = exported["tmp"] / "newer.json"
    newer.write_bytes((later / "data" / "checkpoint.json").read_bytes())
    code, report = _verify(exported, first, "--prior", str(newer))
    assert code == 1 and not report["checks"]["prior_consistency"]["ok"]
    # a forged prior is malformed input
    doc = json.loads(prior.read_text())
    doc["body"]["root"] = "0" * 64
    prior.write_text(json.dumps(doc))
    assert _verify(exported, later, "--prior", str(prior))[0] == 2


def test_export_refuses_unsealed_and_unknown(exported, archive):
    archive.add("bidding.bid_submitted", {"lot_id": 99})
    result = exported["runner"].invoke(cli, ["export", "--lot", "99", "--out", str(exported["tmp"] / "x")],
                                       obj=_script_info(exported["app"]))
    assert result.exit_code != 0 and "no sealed records" in result.output
    result = exported["runner"].invoke(cli, ["export", "--out", "x"], obj=_script_info(exported["app"]))
    assert result.exit_code == 2


def test_check_command(exported):
    result = exported["runner"].invoke(cli, ["check"], obj=_script_info(exported["app"]))
    assert result.exit_code == 0 and json.loads(result.output)["mismatches"] == 0


def test_rebag_roundtrip_is_still_valid(exported):
    files = bag.read(_export(exported, "--lot", "7", "lot7"))
    trust = verify.load_trust(exported["trust"].read_bytes())
    assert verify.verify_files(bag.rebag(files), trust)[0] == 0
