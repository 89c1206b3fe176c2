"""Measure a scan against a ground truth (the simulator's ``truth.csv``).

Evidence-based kinds are judged as an alert system is used: precision and recall of
"flagged with the kind's code and scored at or above the alert threshold".  Price-only kinds
(rotation, cover bidding) have no deterministic evidence, so we report how well the score
ranks their lots above clean lots (ROC-AUC, PR-AUC) plus recall at the threshold, and how
well the groups recover the planted rings.  The AUCs come from scikit-learn, the ``train``
extra, loaded when they are computed.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

from monitoring.engine import extras
from monitoring.engine.io import InputError
from monitoring.engine.scoring import ALERT_THRESHOLD
from monitoring.engine.simulate import EVIDENCE_KINDS, PRICE_KINDS

logger = logging.getLogger(__name__)


def read_scan(path: str | Path) -> tuple[dict[str, dict], list[dict]]:
    """(tender_id -> record, group records) from a scan's JSON lines."""
    tenders, groups = {}, []
    n = 0
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                n += 1
                if not line.strip():
                    continue
                rec = json.loads(line)
                if "tender_id" in rec:
                    tenders[str(rec["tender_id"])] = rec
                elif "group_id" in rec:
                    groups.append(rec)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InputError(f"{path}: line {n} is not JSON") from exc
    if not tenders:
        raise InputError(f"{path}: no tender records")
    return tenders, groups


def read_truth(path: str | Path) -> list[dict]:
    """Rows of tender_id, kind, members (``;``-separated)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if rows and not {"tender_id", "kind"} <= set(rows[0]):
        raise InputError(f"{path}: truth needs columns tender_id, kind[, members]")
    return [{"tender_id": r["tender_id"], "kind": r["kind"],
             "members": [m for m in (r.get("members") or "").split(";") if m]} for r in rows]


def evidence_metrics(tenders: dict[str, dict], truth: list[dict],
                     threshold: float = ALERT_THRESHOLD) -> dict[str, dict]:
    """Precision/recall per evidence kind (kinds sharing a flag share its false positives)."""
    kinds_of = defaultdict(set)
    for t in truth:
        kinds_of[t["tender_id"]].add(t["kind"])
    out = {}
    for kind, flag in EVIDENCE_KINDS.items():
        pos = {t for t, k in kinds_of.items() if kind in k and t in tenders}
        same_flag = {k for k, f in EVIDENCE_KINDS.items() if f == flag}
        alerted = {t for t, r in tenders.items() if flag in r["flags"] and r["score"] >= threshold}
        fp = {t for t in alerted if not (kinds_of.get(t, set()) & same_flag)}
        tp = len(pos & alerted)
        out[kind] = {"flag": flag, "planted": len(pos), "tp": tp, "fp": len(fp),
                     "precision": _ratio(tp, tp + len(fp)), "recall": _ratio(tp, len(pos))}
    return out


def price_metrics(tenders: dict[str, dict], truth: list[dict],
                  threshold: float = ALERT_THRESHOLD) -> dict[str, dict]:
    """ROC-AUC / PR-AUC of the tender score: planted lots of a kind vs lots with no truth."""
    kinds_of = defaultdict(set)
    for t in truth:
        kinds_of[t["tender_id"]].add(t["kind"])
    clean = [t for t in tenders if t not in kinds_of]
    with extras.needs("train", "ROC-AUC and PR-AUC (ggzy monitoring evaluate)"):
        from sklearn.metrics import average_precision_score, roc_auc_score
    out = {}
    for kind in PRICE_KINDS:
        pos = [t for t, k in kinds_of.items() if kind in k and t in tenders]
        if not pos or not clean:
            out[kind] = {"planted": len(pos), "roc_auc": None, "pr_auc": None}
            continue
        y = np.r_[np.ones(len(pos)), np.zeros(len(clean))]
        s = np.array([tenders[t]["score"] for t in pos + clean])
        out[kind] = {"planted": len(pos), "roc_auc": round(float(roc_auc_score(y, s)), 4),
                     "pr_auc": round(float(average_precision_score(y, s)), 4),
                     "recall_at_threshold": _ratio(int(np.sum(s[: len(pos)] >= threshold)), len(pos))}
    return out


def group_metrics(groups: list[dict], truth: list[dict],
                  threshold: float = ALERT_THRESHOLD) -> dict[str, float | int | None]:
    """Planted rings recovered by a pattern group (member Jaccard ≥ 0.5, score ≥ threshold)."""
    rings = {frozenset(t["members"]) for t in truth if t["kind"] in PRICE_KINDS}
    found = [frozenset(g["members"]) for g in groups
             if g["group_id"].startswith("P") and (g["score"] or 0) >= threshold]

    def match(a, b):
        return len(a & b) / len(a | b) >= 0.5

    hit = sum(any(match(r, f) for f in found) for r in rings)
    good = sum(any(match(r, f) for r in rings) for f in found)
    return {"rings": len(rings), "groups_alerted": len(found),
            "ring_recall": _ratio(hit, len(rings)), "group_precision": _ratio(good, len(found))}


def evaluate(scan: str | Path, truth_path: str | Path, threshold: float = ALERT_THRESHOLD) -> dict:
    """All metrics of one scan against one truth file."""
    tenders, groups = read_scan(scan)
    truth = read_truth(truth_path)
    return {"threshold": threshold, "tenders": len(tenders),
            "evidence": evidence_metrics(tenders, truth, threshold),
            "price_only": price_metrics(tenders, truth, threshold),
            "groups": group_metrics(groups, truth, threshold)}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None
