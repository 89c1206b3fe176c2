"""Tamper suite: 1,200 seeded random mutations of exported bundles, every one detected; untouched
bundles never flagged.

Attackers modelled: a carrier who flips bytes (with or without re-computing the BagIt manifests),
deletes or swaps records, replaces signatures, forges checkpoints with a key nobody trusts; and an
insider holding the platform key who rewrites history into a self-consistent bundle — only a
checkpoint the verifier saw before (``--prior``) can expose that one, so it is checked with it.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archive import bag, jcs, merkle, services, verify
from archive.services import log
from core import crypto
from tests.archive.conftest import lot_events

MUTATIONS = 1200
ATTACKER = Ed25519PrivateKey.generate()
ATTACKER_KID = crypto.key_id("ed25519", crypto.raw_public(ATTACKER))


def _statement(files):
    return json.loads(files["data/statement.json"])


def _sign_statement(files, st, key, kid):
    sig = {"alg": "Ed25519", "kid": kid, "value": crypto.b64e(key.sign(jcs.dumps(st)))}
    files["data/statement.json"] = jcs.dumps({"statement": st, "signature": sig})


def _records(files):
    return sorted(p for p in files if p.startswith("data/records/"))


def flip_raw(files, rng, _ctx):
    path = rng.choice(sorted(files))
    data = bytearray(files[path])
    if not data:
        files[path] = b"x"
        return files
    i = rng.randrange(len(data))
    data[i] ^= 1 << rng.randrange(8)
    files[path] = bytes(data)
    return files


def flip_payload_rebag(files, rng, ctx):
    targets = _records(files) + sorted(p for p in files if p.startswith("data/attachments/"))
    files = flip_raw({p: files[p] for p in targets}, rng, ctx) | {p: c for p, c in files.items() if p not in targets}
    return bag.rebag(files)


def delete_record(files, rng, ctx):
    victim = rng.choice(_records(files))
    del files[victim]
    if rng.random() < 0.5:
        st = _statement(files)["statement"]
        st["records"] = [r for r in st["records"] if r["file"] != victim]
        if st["records"]:
            _resign_or_keep(files, st, rng)
    return bag.rebag(files)


def _resign_or_keep(files, st, rng):
    if rng.random() < 0.5:
        _sign_statement(files, st, ATTACKER, ATTACKER_KID)
    else:
        doc = _statement(files)
        files["data/statement.json"] = jcs.dumps({"statement": st, "signature": doc["signature"]})


def swap_records(files, rng, ctx):
    recs = _records(files)
    if len(recs) < 2:
        return flip_raw(files, rng, ctx)
    a, b = rng.sample(recs, 2)
    files[a], files[b] = files[b], files[a]
    if rng.random() < 0.5:
        st = _statement(files)["statement"]
        for r in st["records"]:
            r["sha256"] = hashlib.sha256(files[r["file"]]).hexdigest()
        _resign_or_keep(files, st, rng)
    return bag.rebag(files)


def replace_signature(files, rng, ctx):
    path = rng.choice(_records(files))
    env = json.loads(files[path])
    payload = jcs.dumps(env["payload"])
    choice = rng.randrange(3)
    if choice == 0:
        env["sig"] = {"alg": "Ed25519", "kid": rng.choice([ATTACKER_KID, env["sig"]["kid"]]),
                      "value": crypto.b64e(ATTACKER.sign(payload))}
    elif choice == 1:
        other = json.loads(files[rng.choice(_records(files))])
        env["sig"] = other["sig"] if other["sig"] != env["sig"] else {**env["sig"], "value": crypto.b64e(bytes(64))}
    else:
        env["sig"]["value"] = crypto.b64e(rng.randbytes(64))
    files[path] = jcs.dumps(env)
    st = _statement(files)["statement"]
    for r in st["records"]:
        r["sha256"] = hashlib.sha256(files[r["file"]]).hexdigest()
    _resign_or_keep(files, st, rng)
    return bag.rebag(files)


def forge_checkpoint(files, rng, ctx):
    doc = json.loads(files["data/checkpoint.json"])
    body = doc["body"]
    change = rng.randrange(3)
    if change == 0:
        body["root"] = rng.randbytes(32).hex()
    elif change == 1:
        body["size"] += rng.randint(1, 5)
    else:
        body["timestamp"] = "2030-01-01T00:00:00Z"
    if rng.random() < 0.7:
        body["kid"] = rng.choice([ATTACKER_KID, body["kid"]])
        doc["signature"] = crypto.b64e(ATTACKER.sign(jcs.dumps(body)))
    files["data/checkpoint.json"] = jcs.dumps(doc)
    if rng.random() < 0.5:
        st = _statement(files)["statement"]
        st["checkpoint"] = {"size": body["size"], "root": body["root"]}
        _resign_or_keep(files, st, rng)
    return bag.rebag(files)


def rewrite_history(files, rng, ctx):
    """An insider with the real platform key builds a new, self-consistent log."""
    sign = ctx["signer"]
    doc = _statement(files)
    st = doc["statement"]
    envs = [json.loads(files[r["file"]]) for r in sorted(st["records"], key=lambda r: r["seq"])]
    victim = rng.randrange(len(envs))
    payload = envs[victim]["payload"]
    if payload["data"] is not None:
        payload["data"]["amount"] = f"{rng.randint(1, 10**9)}.00"
    else:
        payload["archived_at"] = payload["archived_at"].replace("Z", "1Z") if "." in payload["archived_at"] else \
            payload["archived_at"]
        payload["sealed"]["commitment"] = rng.randbytes(32).hex()
    prev = envs[0]["payload"]["prev"]
    entries = []
    for env in envs:
        env["payload"]["prev"] = prev
        body = jcs.dumps(env["payload"])
        env["sig"] = {"alg": "Ed25519", "kid": sign.kid, "value": sign.sign(body)}
        prev = hashlib.sha256(body).hexdigest()
        entries.append(jcs.dumps(env))
    tree = merkle.MemoryLog()
    pad = rng.randint(0, 4)
    tree.append_entries([rng.randbytes(20) for _ in range(pad)] + entries)
    cp_doc, cp_bytes = _checkpoint(tree, sign, rng.randint(0, 3))
    new = {p: c for p, c in files.items() if not p.startswith("data/records/")}
    st["records"] = []
    nodes, proofs = merkle.share_nodes(tree.inclusion(pad + i, cp_doc["size"]) for i in range(len(entries)))
    st["nodes"] = [h.hex() for h in nodes]
    for i, (env, entry, proof) in enumerate(zip(envs, entries, proofs, strict=True)):
        path = f"data/records/{pad + i:012d}.json"
        new[path] = entry
        st["records"].append({"file": path, "sha256": hashlib.sha256(entry).hexdigest(), "seq": env["payload"]["seq"],
                              "leaf_index": pad + i, "proof": proof})
    st["checkpoint"] = {"size": cp_doc["size"], "root": cp_doc["root"]}
    st["consistency"] = []
    st["scope"]["record"] = pad if st["scope"]["kind"] == "record" else None
    new["data/checkpoint.json"] = cp_bytes
    _sign_statement(new, st, sign.key, sign.kid)
    return bag.rebag(new)


def _checkpoint(tree, sign, extra):
    tree.append_entries([b"pad"] * extra)
    body = {"type": verify.CHECKPOINT_TYPE, "origin": "ggzy/archive/v1", "size": tree.size,
            "root": tree.root().hex(), "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "alg": "Ed25519", "kid": sign.kid}
    return body, jcs.dumps({"body": body, "signature": sign.sign(jcs.dumps(body))})


ATTACKS = [flip_raw, flip_payload_rebag, delete_record, swap_records, replace_signature, forge_checkpoint,
           rewrite_history]


@pytest.fixture
def bundles(archive):
    lot_events(archive, lot_id=7, bids=3, attachment=b"%PDF-1.7 priced schedule " * 40, store=archive.store_)
    archive.add("core.key_registered", {"kid": "ed25519:1"})
    archive.seal()
    lot = services.build_bundle(chain="lot:7")
    record = services.build_bundle(record=services.search(lot_id=7, event="bidding.")[-1])
    prior = json.loads(lot["data/checkpoint.json"])
    return {"lot": lot, "record": record, "trust": archive.trust(), "prior": prior, "signer": log.signer()}


def test_untouched_bundles_are_valid(bundles):
    for name in ("lot", "record"):
        for prior in (None, bundles["prior"]):
            code, report = verify.verify_files(bundles[name], bundles["trust"], prior)
            assert code == 0, report
        assert verify.verify_files(bag.rebag(bundles[name]), bundles["trust"])[0] == 0


def test_every_random_mutation_is_detected(bundles):
    rng = random.Random(20261122)
    missed, counts = [], {}
    for i in range(MUTATIONS):
        attack = ATTACKS[i % len(ATTACKS)]
        name = rng.choice(("lot", "record"))
        original = bundles[name]
        mutated = attack(copy.deepcopy(original), rng, bundles)
        if mutated == original:
            continue
        counts[attack.__name__] = counts.get(attack.__name__, 0) + 1
        prior = bundles["prior"] if attack is rewrite_history or rng.random() < 0.3 else None
        code, report = verify.verify_files(mutated, bundles["trust"], prior)
        if code == 0:
            missed.append((i, attack.__name__, name))
        if i % 100 == 0:  # untouched bundles stay valid throughout
            assert verify.verify_files(original, bundles["trust"], bundles["prior"])[0] == 0
    assert sum(counts.values()) >= 1000, counts
    assert not missed, missed


def test_rewritten_history_passes_without_a_prior_but_not_with_one(bundles):
    """Why --prior matters: an insider's rewrite is internally consistent."""
    forged = rewrite_history(copy.deepcopy(bundles["lot"]), random.Random(1), bundles)
    code0, report0 = verify.verify_files(forged, bundles["trust"])
    assert code0 == 0, {k: v for k, v in report0["checks"].items() if not v.get("ok", True)}
    code, report = verify.verify_files(forged, bundles["trust"], bundles["prior"])
    assert code == 1 and not report["checks"]["prior_consistency"]["ok"]


def _alias_negative(proof, nodes):
    proof[0] -= len(nodes)  # the same hash, reached from the end of the table


def _alias_bool(proof, _nodes):
    at = next(i for i, p in enumerate(proof) if p in (0, 1))
    proof[at] = bool(proof[at])  # true for 1, false for 0: the same hash


@pytest.mark.parametrize("bad", [-1, True, "0", 10**6, 0.5, _alias_negative, _alias_bool])
def test_a_proof_position_outside_the_node_table_fails_inclusion(bundles, bad):
    """Even re-signed by the platform key, a proof must name positions inside the statement's node
    table, as integers: not a negative index or a boolean that Python would resolve to the very hash."""
    files = copy.deepcopy(bundles["lot"])
    st = _statement(files)["statement"]
    if bad is _alias_bool:
        entry = next(r for r in st["records"] if any(p in (0, 1) for p in r["proof"]))
    else:
        entry = st["records"][1]
    if callable(bad):
        bad(entry["proof"], st["nodes"])
    else:
        entry["proof"][0] = bad
    _sign_statement(files, st, bundles["signer"].key, bundles["signer"].kid)
    code, report = verify.verify_files(bag.rebag(files), bundles["trust"])
    assert code == 1
    assert {k for k, v in report["checks"].items() if not v["ok"]} == {"inclusion"}
