"""Recompute a draw from its published material and compare with what was recorded at draw time.

Pure (no database): ``ggzy experts verify-draw BUNDLE.json`` calls :func:`verify_bundle`.  The bundle
format is documented in docs/expert-draw.md §5.  Each check is reported by name, so a failure says
what was altered: a contribution (commitment mismatch), the snapshot, the exclusions or the quotas
(hash mismatch), the seed, the result, a replacement, or a member's opening.
"""
from __future__ import annotations

from experts import selection as sel


def _check(report: list, name: str, ok: bool, detail: str = "") -> bool:
    report.append({"check": name, "ok": bool(ok), "detail": detail})
    return bool(ok)


def verify_bundle(bundle: dict) -> dict:
    """Every check on ``bundle``; ``valid`` only if all pass.  Never raises on bad material."""
    report: list[dict] = []
    try:
        _verify(bundle, report)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        _check(report, "well_formed", False, f"{type(err).__name__}: {err}")
    return {"valid": bool(report) and all(c["ok"] for c in report), "checks": report}


def _verify(b: dict, report: list) -> None:
    rec, lot_id, number = b["recorded"], int(b["lot_id"]), int(b["draw_number"])
    _check(report, "version", b.get("version") == sel.VERSION, str(b.get("version")))
    for party in sel.PARTIES:
        got = sel.commitment(party=party, lot_id=lot_id, draw_number=number,
                             contribution_hex=b["contributions"][party])
        _check(report, f"commitment_{party}", got == rec["commitments"][party],
               "the revealed contribution does not open the recorded commitment" if got != rec["commitments"][party]
               else "")
    hashes = {"snapshot_hash": sel.canonical_hash(b["snapshot"]),
              "exclusions_hash": sel.canonical_hash(b["exclusions"]),
              "quotas_hash": sel.canonical_hash(sel.normalise_quotas(b["quotas"]))}
    for name, value in hashes.items():
        _check(report, name, value == rec[name], f"recomputed {value[:16]}…, recorded {rec[name][:16]}…")
    _structure(b, report)
    seed = sel.seed(contributions=b["contributions"], lot_id=lot_id, draw_number=number, **hashes)
    _check(report, "seed", seed == b["seed"] == rec["seed"], "recomputed seed differs from the published or recorded one"
           if not seed == b["seed"] == rec["seed"] else "")
    draw = sel.run(seed_hex=seed, snapshot=b["snapshot"], exclusions=b["exclusions"], quotas=b["quotas"])
    _check(report, "result", draw.result() == b["result"], "recomputed members differ from the published result"
           if draw.result() != b["result"] else "")
    _check(report, "result_hash", sel.canonical_hash(b["result"]) == rec["result_hash"])
    _replacements(draw, b.get("replacements", []), report)
    _openings(b.get("openings", []), b, report)


def _structure(b: dict, report: list) -> None:
    """The snapshot is sorted and unique, and every exclusion names a snapshot entry with a reason."""
    names = [e["p"] for e in b["snapshot"]]
    _check(report, "snapshot_sorted_unique", names == sorted(set(names)))
    known = set(names)
    bad = [x["p"] for x in b["exclusions"] if x["p"] not in known or not x.get("reasons")]
    _check(report, "exclusions_in_snapshot", not bad, f"{len(bad)} exclusions name no snapshot entry or no reason")


def _replacements(draw: sel.Draw, replacements: list, report: list) -> None:
    """Replay each replacement in order against the reserve order the seed fixed at draw time."""
    seated = {p for m in draw.members for p in m}
    ever = set(seated)
    next_position = {q["specialty"]: q["count"] for q in draw.quotas}
    for rep in replacements:
        ok = rep["replaces"] in seated
        unavailable = ever | {x["p"] for x in rep["exclusions"]}
        picked, position, _skipped = sel.replace(draw, specialty=rep["specialty"], unavailable=unavailable,
                                                 start=next_position[rep["specialty"]])
        ok = ok and picked == rep["picked"] and position == rep["position"]
        _check(report, f"replacement_{rep['number']}", ok,
               "" if ok else f"recomputed {picked[:12]}… at position {position}")
        seated.discard(rep["replaces"])
        seated.add(picked)
        ever.add(picked)
        next_position[rep["specialty"]] = position + 1


def _openings(openings: list, b: dict, report: list) -> None:
    """At publication each member's (expert id, nonce) must hash to a published member pseudonym."""
    members = {p for q in b["result"] for p in q["members"]} | {r["picked"] for r in b.get("replacements", [])}
    for item in openings:
        p = sel.pseudonym(expert_id=int(item["expert_id"]), nonce_hex=item["nonce"])
        _check(report, f"opening_{item['expert_id']}", p == item["p"] and p in members)
