"""``ggzy experts verify-draw`` exit codes on honest and altered bundles; ``import`` row errors."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from experts.cli import cli
from tests.experts.drawkit import altered, bundle, contribution


def _run(tmp_path, doc, *extra):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return CliRunner().invoke(cli, ["verify-draw", str(path), *extra])


def test_honest_bundle_exits_zero(tmp_path):
    result = _run(tmp_path, bundle())
    assert result.exit_code == 0 and json.loads(result.output)["valid"]


@pytest.mark.parametrize("change", [
    lambda b: b["snapshot"].pop(3),
    lambda b: b["exclusions"].pop(0),
    lambda b: b["contributions"].__setitem__("operator", contribution("other")),
    lambda b: b.__setitem__("seed", "f" * 64),
    lambda b: b["result"][1]["members"].reverse(),
], ids=["snapshot", "exclusion", "contribution", "seed", "result"])
def test_altered_bundle_exits_one(tmp_path, change):
    assert _run(tmp_path, altered(bundle(), change)).exit_code == 1


def test_recorded_hashes_from_the_archive_override_the_bundle(tmp_path):
    honest = bundle()
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps(honest["recorded"]))
    def forge(b):  # an insider rewrites the snapshot and the bundle's own recorded hash
        from experts import selection as sel
        b["snapshot"].pop(3)
        b["recorded"]["snapshot_hash"] = sel.canonical_hash(b["snapshot"])
    assert _run(tmp_path, altered(honest, forge), "--recorded", str(recorded)).exit_code == 1


def test_unreadable_bundle_exits_two(tmp_path):
    assert _run(tmp_path, "{not json").exit_code == 2


def test_contribution_prints_a_matching_commitment():
    from experts import selection as sel

    out = json.loads(CliRunner().invoke(cli, ["contribution", "--party", "operator", "--lot", "3",
                                              "--draw-number", "1"]).output)
    assert sel.commitment(party="operator", lot_id=3, draw_number=1,
                          contribution_hex=out["contribution"]) == out["commitment"]
