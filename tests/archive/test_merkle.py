"""RFC 6962/9162: the published vectors, every must-reject alteration, and the prover vs the RFC."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive import merkle

#: a verbatim copy of reference/rfc6962-vectors.json (transparency-dev/merkle constants)
VECTORS = json.loads((Path(__file__).parent / "rfc6962-vectors.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaf_inputs_hex"]]
H = bytes.fromhex


def _log(n: int) -> merkle.MemoryLog:
    log = merkle.MemoryLog()
    log.append_entries(LEAVES[:n])
    return log


def test_empty_root():
    assert merkle.root(lambda *_: b"", 0).hex() == VECTORS["empty_root"]
    assert merkle.mth([]).hex() == VECTORS["empty_root"]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots(size):
    expected = VECTORS["roots_by_size"][str(size)]
    assert merkle.mth(LEAVES[:size]).hex() == expected
    assert _log(size).root().hex() == expected
    # appending one by one gives the same nodes as appending in one batch
    log = merkle.MemoryLog()
    for leaf in LEAVES[:size]:
        log.append_entries([leaf])
    assert log.root().hex() == expected


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['leaf_index']}-{c['tree_size']}")
def test_inclusion_vectors(case):
    log = _log(8)
    assert merkle.leaf_hash(LEAVES[case["leaf_index"]]).hex() == case["leaf_hash"]
    assert [p.hex() for p in log.inclusion(case["leaf_index"], case["tree_size"])] == case["proof"]
    assert merkle.verify_inclusion(case["leaf_index"], case["tree_size"], H(case["leaf_hash"]),
                                   [H(p) for p in case["proof"]], H(case["root"]))


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}-{c['size2']}")
def test_consistency_vectors(case):
    log = _log(8)
    assert [p.hex() for p in log.consistency(case["size1"], case["size2"])] == case["proof"]
    assert merkle.verify_consistency(case["size1"], case["size2"], H(case["root1"]), H(case["root2"]),
                                     [H(p) for p in case["proof"]])


def _bitflips(proof):
    for i, element in enumerate(proof):
        for bit in range(len(element) * 8):
            flipped = bytearray(element)
            flipped[bit // 8] ^= 1 << (bit % 8)
            yield proof[:i] + [bytes(flipped)] + proof[i + 1:]


def _proof_alterations(proof, root, other_root):
    empty = merkle.EMPTY_ROOT
    yield from ([*proof, empty], [*proof, root], [empty, *proof], [root, *proof])
    yield from _bitflips(proof)
    if proof:
        yield proof[:-1]
        for i in range(len(proof) + 1):
            yield proof[:i] + [other_root] + proof[i:]


def inclusion_alterations(case):
    """Every alteration the vectors file lists for inclusion proofs."""
    i, n, leaf, proof, root = (case["leaf_index"], case["tree_size"], H(case["leaf_hash"]),
                               [H(p) for p in case["proof"]], H(case["root"]))
    other_root = H(VECTORS["roots_by_size"]["7"])
    for idx in (i - 1, i + 1, i ^ 2):
        yield f"index {idx}", (idx, n, leaf, proof, root)
    for size in (n * 2, n // 2):
        yield f"size {size}", (i, size, leaf, proof, root)
    yield "wrong leaf", (i, n, merkle.leaf_hash(b"wrong"), proof, root)
    yield "empty root", (i, n, leaf, proof, merkle.EMPTY_ROOT)
    yield "other root", (i, n, leaf, proof, other_root)
    for k, altered in enumerate(_proof_alterations(proof, root, other_root)):
        yield f"proof #{k}", (i, n, leaf, altered, root)


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['leaf_index']}-{c['tree_size']}")
def test_inclusion_must_reject(case):
    accepted = [name for name, args in inclusion_alterations(case) if merkle.verify_inclusion(*args)]
    assert not accepted


def consistency_alterations(case):
    m, n, r1, r2, proof = (case["size1"], case["size2"], H(case["root1"]), H(case["root2"]),
                           [H(p) for p in case["proof"]])
    other_root = H(VECTORS["roots_by_size"]["3"])
    for size1 in (m - 1, m + 1, m ^ 2):
        yield f"size1 {size1}", (size1, n, r1, r2, proof)
    for size2 in (n * 2, n // 2):
        yield f"size2 {size2}", (m, size2, r1, r2, proof)
    yield "roots swapped", (m, n, r2, r1, proof)
    yield "empty first root", (m, n, merkle.EMPTY_ROOT, r2, proof)
    yield "empty second root", (m, n, r1, merkle.EMPTY_ROOT, proof)
    yield "other root", (m, n, r1, other_root, proof)
    yield "empty proof", (m, n, r1, r2, [])
    if proof:
        yield "first repeated at front", (m, n, r1, r2, [proof[0], *proof])
    for k, altered in enumerate(_proof_alterations(proof, r2, other_root)):
        yield f"proof #{k}", (m, n, r1, r2, altered)


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}-{c['size2']}")
def test_consistency_must_reject(case):
    accepted = [name for name, args in consistency_alterations(case) if merkle.verify_consistency(*args)]
    assert not accepted


def test_prover_matches_rfc_for_all_small_trees():
    """Every (index, size) and (m, n) up to 40 leaves: proofs verify against the reference MTH."""
    entries = [f"entry-{i}".encode() for i in range(40)]
    log = merkle.MemoryLog()
    log.append_entries(entries)
    for n in range(1, 41):
        root = merkle.mth(entries[:n])
        assert log.root(n) == root
        for i in range(n):
            assert merkle.verify_inclusion(i, n, merkle.leaf_hash(entries[i]), log.inclusion(i, n), root)
            assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"x"), log.inclusion(i, n), root)
        for m in range(0, n + 1):
            proof = log.consistency(m, n)
            assert merkle.verify_consistency(m, n, merkle.mth(entries[:m]), root, proof), (m, n)
            if 0 < m < n:
                assert not merkle.verify_consistency(m, n, merkle.mth(entries[:m]), root, proof[:-1])


def test_malformed_inputs_are_rejected_not_raised():
    leaf = merkle.leaf_hash(b"a")
    assert not merkle.verify_inclusion(0, 1, leaf, [b"short"], leaf)
    assert not merkle.verify_inclusion(-1, 1, leaf, [], leaf)
    assert not merkle.verify_inclusion("0", 1, leaf, [], leaf)
    assert merkle.verify_inclusion(0, 1, leaf, [], leaf)
    assert not merkle.verify_consistency(2, 1, leaf, leaf, [])
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, leaf, [])
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, leaf, [leaf])


def test_frontier():
    assert merkle.frontier(0) == []
    assert merkle.frontier(7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.frontier(8) == [(3, 0)]


def test_shared_memo_gives_the_same_answers():
    """Many proofs checked with one memo (as the verifier does per bundle) get exactly the answers
    each gets alone, including for altered proofs met after a valid one shared their upper part."""
    import random

    rng = random.Random(7)
    entries = [f"e{i}".encode() for i in range(77)]
    log = merkle.MemoryLog()
    log.append_entries(entries)
    n, root, memo = 77, log.root(77), {}
    for _ in range(600):
        i = rng.randrange(n)
        leaf, path = merkle.leaf_hash(entries[i]), list(log.inclusion(i, n))
        roll = rng.random()
        if roll < 0.3 and path:
            k = rng.randrange(len(path))
            path[k] = bytes(b ^ 1 for b in path[k])
        elif roll < 0.4:
            i = rng.randrange(n)
        elif roll < 0.5:
            path = path[:-1] if path else [leaf]
        elif roll < 0.6:
            path = path + [root]
        alone = merkle.verify_inclusion(i, n, leaf, path, root)
        assert merkle.verify_inclusion(i, n, leaf, path, root, memo) == alone
    assert memo  # it was used


def test_inclusion_checker_accepts_exactly_the_included_leaves():
    """The bundle checker (nodes proven to reach the root are reused) agrees with the exact
    per-proof check on every leaf of a bundle, which names each leaf once: altered leaves, altered
    lowest siblings and wrong indexes are refused.  Where they differ it is only in accepting a
    proof whose *upper* part is wrong or surplus after reaching a proven node — the leaf is then
    included all the same (and the bundle's signed statement covers those bytes)."""
    import random

    rng = random.Random(11)
    entries = [f"r{i}".encode() for i in range(203)]
    log = merkle.MemoryLog()
    log.append_entries(entries)
    n = 203
    root = log.root(n)
    checker = merkle.InclusionChecker(n, root)
    order = list(range(n))
    rng.shuffle(order)
    for i in order:
        leaf, path = merkle.leaf_hash(entries[i]), list(log.inclusion(i, n))
        roll = rng.random()
        if roll < 0.15 and path:
            path[0] = bytes(b ^ 1 for b in path[0])
        elif roll < 0.25:
            leaf = merkle.leaf_hash(b"forged")
        elif roll < 0.35:
            i = (i + 1) % n
        elif roll < 0.4:
            path = path + [root]
        exact = merkle.verify_inclusion(i, n, leaf, path, root)
        lenient = checker.check(i, leaf, path)
        if roll < 0.35:
            assert lenient == exact, (i, roll)
        else:
            assert lenient or not exact
    assert not checker.check(n, merkle.leaf_hash(entries[0]), [])
    assert not merkle.InclusionChecker(n, bytes(32)).check(0, merkle.leaf_hash(entries[0]), list(log.inclusion(0, n)))


def test_shared_node_table_gives_every_proof_back():
    """A bundle statement writes its proofs as positions in one table of distinct hashes."""
    log = merkle.MemoryLog()
    log.append_entries([f"e{i}".encode() for i in range(101)])
    paths = [log.inclusion(i, log.size) for i in range(0, 101, 7)]
    table, refs = merkle.share_nodes(paths)
    assert len(set(table)) == len(table) < sum(map(len, paths))
    assert [[table[i] for i in r] for r in refs] == paths
    assert merkle.share_nodes([]) == ([], [])
