"""The verifier accepts an honest draw and names what was altered in a tampered one."""
from __future__ import annotations

import pytest

from experts import selection as sel
from experts.verify import verify_bundle
from tests.experts.drawkit import altered, bundle, contribution


def failed(report) -> set[str]:
    return {c["check"] for c in report["checks"] if not c["ok"]}


def test_honest_draw_verifies():
    report = verify_bundle(bundle())
    assert report["valid"], report


def _swap_first_member(b):
    b["result"][0]["members"][0] = b["snapshot"][-1]["p"]


TAMPERING = [
    ("snapshot entry dropped", lambda b: b["snapshot"].pop(10), {"snapshot_hash"}),
    ("snapshot specialty changed", lambda b: b["snapshot"][11]["s"].__setitem__(0, "Z99"), {"snapshot_hash"}),
    ("exclusion removed", lambda b: b["exclusions"].pop(0), {"exclusions_hash"}),
    ("exclusion added", lambda b: b["exclusions"].append({"p": b["snapshot"][30]["p"], "reasons": ["banned"]}),
     {"exclusions_hash"}),
    ("quota changed", lambda b: b["quotas"][0].__setitem__("count", 4), {"quotas_hash"}),
    ("operator contribution", lambda b: b["contributions"].__setitem__("operator", contribution("x")),
     {"commitment_operator", "seed"}),
    ("supervisor contribution", lambda b: b["contributions"].__setitem__("supervisor", contribution("y")),
     {"commitment_supervisor", "seed"}),
    ("seed", lambda b: b.__setitem__("seed", "0" * 64), {"seed"}),
    ("result", _swap_first_member, {"result", "result_hash"}),
]


@pytest.mark.parametrize(("what", "fn", "expected"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_is_caught_and_named(what, fn, expected):
    report = verify_bundle(altered(bundle(), fn))
    assert not report["valid"]
    assert expected <= failed(report), report


def test_party_changing_its_own_contribution_after_seeing_the_others_commitment_is_caught():
    """A supervisor who, after the operator's commitment, reveals a different contribution (to steer the
    outcome) does not open its own commitment: the platform refuses and the verifier fails."""
    honest = bundle()
    steered = altered(honest, lambda b: b["contributions"].__setitem__("supervisor", contribution("steer")))
    c = sel.commitment(party="supervisor", lot_id=honest["lot_id"], draw_number=honest["draw_number"],
                       contribution_hex=steered["contributions"]["supervisor"])
    assert c != honest["recorded"]["commitments"]["supervisor"]
    assert "commitment_supervisor" in failed(verify_bundle(steered))


def test_recomputed_hashes_in_the_recorded_block_do_not_help_an_attacker():
    """Changing the snapshot and the recorded hash together still changes the seed, hence the result."""
    def fn(b):
        b["snapshot"].pop(10)
        b["recorded"]["snapshot_hash"] = sel.canonical_hash(b["snapshot"])
    assert "seed" in failed(verify_bundle(altered(bundle(), fn)))


def test_malformed_bundle_is_invalid_not_an_exception():
    assert not verify_bundle({})["valid"]
    assert not verify_bundle(altered(bundle(), lambda b: b.__setitem__("contributions", {"operator": "zz"})))["valid"]
