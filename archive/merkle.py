"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification — pure, no database.

Why in-house (≈200 lines) rather than a package: the offline verifier imports this module, and an
auditor must be able to read all of it.  Hashes are 32-byte ``bytes``; indexes are 0-based.

The prover side is written over a *node source*: ``node(level, index)`` returns the hash of the
perfect subtree covering leaves ``[index·2^level, (index+1)·2^level)``.  The database log stores
those nodes as it appends, so a proof costs O(log² n) look-ups however large the log is; the
in-memory :class:`MemoryLog` does the same from a dict (tests, benchmarks, vectors).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 ‖ entry): the prefix keeps a leaf from passing for an interior node."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2): RFC 6962 §2.1's k."""
    return 1 << ((n - 1).bit_length() - 1)


# --- prover over a node source ------------------------------------------------------------------

def range_hash(node: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) where ``start`` is aligned to the largest power of two ≤ end - start.

    Every range the RFC recursions ask for has that shape, so it splits into perfect subtrees.
    """
    size = end - start
    if size <= 0:
        raise ValueError("empty range")
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = split_point(size)
    return node_hash(range_hash(node, start, start + k), range_hash(node, start + k, end))


def inclusion_path(node: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, ordered from the leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(range_hash(node, start + k, end))
            end = start + k
        else:
            path.append(range_hash(node, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(node: NodeSource, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1 (empty when first is 0 or equals second)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    if first in (0, second):
        return []
    return _subproof(node, first, 0, second, True)


def _subproof(node: NodeSource, m: int, start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [range_hash(node, start, end)]
    k = split_point(n)
    if m <= k:
        return _subproof(node, m, start, start + k, complete) + [range_hash(node, start + k, end)]
    return _subproof(node, m - k, start + k, end, False) + [range_hash(node, start, start + k)]


def root(node: NodeSource, size: int) -> bytes:
    """MTH(D[size]); the hash of the empty string for the empty tree."""
    return EMPTY_ROOT if size == 0 else range_hash(node, 0, size)


# --- appending: the nodes a batch of leaves completes -------------------------------------------

def frontier(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees that make up D[0:size], left to right."""
    out, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def append(node: NodeSource, size: int, leaves: Iterable[bytes]) -> dict[tuple[int, int], bytes]:
    """The new nodes (leaves included, level 0) once ``leaves`` are appended to a tree of ``size``.

    ``node`` only has to answer for the frontier of the old tree: the new nodes are looked up in
    the returned dict first.
    """
    new: dict[tuple[int, int], bytes] = {}

    def get(level: int, index: int) -> bytes:
        return new[(level, index)] if (level, index) in new else node(level, index)

    for leaf in leaves:
        index = size
        new[(0, index)] = leaf
        level = 0
        while index & 1:
            new[(level + 1, index >> 1)] = node_hash(get(level, index - 1), new[(level, index)])
            level, index = level + 1, index >> 1
        size += 1
    return new


class MemoryLog:
    """An in-memory log with the same node layout as the database one."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append_entries(self, entries: Iterable[bytes]) -> None:
        self.append_hashes(leaf_hash(e) for e in entries)

    def append_hashes(self, hashes: Iterable[bytes]) -> None:
        hashes = list(hashes)
        self.nodes.update(append(self.node, self.size, hashes))
        self.size += len(hashes)

    def root(self, size: int | None = None) -> bytes:
        return root(self.node, self.size if size is None else size)

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_path(self.node, index, self.size if size is None else size)

    def consistency(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_path(self.node, first, self.size if second is None else second)


def mth(entries: Sequence[bytes]) -> bytes:
    """Reference MTH straight from the RFC's recursive definition (tests and audits)."""
    if not entries:
        return EMPTY_ROOT
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = split_point(len(entries))
    return node_hash(mth(entries[:k]), mth(entries[k:]))


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------------

def _valid_hashes(items) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in items)


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes],
                        memo: dict | None = None) -> bytes | None:
    """The root the path leads to, or None when the path cannot belong to (index, size).

    ``memo``: pass the same dict when checking many proofs of one tree (a bundle's proofs share
    their upper parts).  Each step of the walk is a pure function of (fn, sn, hash so far, rest of
    the path).  The memo is keyed by the first three; an entry remembers the path and position it
    was reached with, and is taken only if the rest of this path is the same — so the results are
    exactly those without a memo, and only a hit compares (and slices) the rest of the path.
    """
    if not (isinstance(index, int) and isinstance(size, int)) or not 0 <= index < size:
        return None
    path = tuple(path)
    if not _valid_hashes((leaf, *path)):
        return None
    memo = {} if memo is None else memo
    fn, sn, r, taken = index, size - 1, leaf, []
    for k in range(len(path) + 1):
        key = (fn, sn, r)
        hit = memo.get(key)
        if hit is not None and len(hit[0]) - hit[1] == len(path) - k and hit[0][hit[1]:] == path[k:]:
            result = hit[2]
            break
        taken.append((key, k))
        if k == len(path) or sn == 0:
            result = r if k == len(path) and sn == 0 else None
            break
        if fn & 1 or fn == sn:
            r = node_hash(path[k], r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, path[k])
        fn, sn = fn >> 1, sn >> 1
    for key, k in taken:
        memo[key] = (path, k, result)
    return result


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root_hash: bytes,
                     memo: dict | None = None) -> bool:
    """Is ``leaf`` the leaf hash at ``index`` of the tree of ``size`` whose root is ``root_hash``?"""
    computed = root_from_inclusion(index, size, leaf, path, memo)
    return computed is not None and computed == root_hash


class InclusionChecker:
    """Many inclusion proofs against one tree (a bundle's records under its checkpoint), fast.

    A walk up from a leaf stops as soon as it reaches a node position ``(fn, sn)`` whose hash is
    already known to lead to the root: the leaf is then included in that tree, whatever the upper
    part of its own proof says (those bytes are covered by the bundle's signed statement anyway).
    Only node hashes that reached the root are ever learned, so a wrong leaf or a wrong lower path
    still fails.  :func:`verify_inclusion` checks a single proof exactly as RFC 9162 §2.1.3.2 says.
    """

    def __init__(self, size: int, root: bytes):
        self.size, self.root, self.known = size, root, {}

    def check(self, index: int, leaf: bytes, path: Sequence[bytes]) -> bool:
        if type(index) is not int or not 0 <= index < self.size or type(leaf) is not bytes or len(leaf) != HASH_SIZE:
            return False
        known, sha, prefix = self.known, hashlib.sha256, NODE_PREFIX
        fn, sn, r, seen = index, self.size - 1, leaf, []
        for sibling in path:
            if sn == 0:
                return False  # more path than tree
            position = (fn, sn)
            if known.get(position) == r:
                return self._learn(seen)
            if type(sibling) is not bytes or len(sibling) != HASH_SIZE:  # checked as used
                return False
            seen.append((position, r))
            if fn & 1 or fn == sn:
                r = sha(prefix + sibling + r).digest()
                while not fn & 1 and fn:
                    fn >>= 1
                    sn >>= 1
            else:
                r = sha(prefix + r + sibling).digest()
            fn >>= 1
            sn >>= 1
        if sn or r != self.root:
            return False
        return self._learn(seen)

    def _learn(self, seen: list) -> bool:
        self.known.update(seen)
        return True


def share_nodes(paths: Iterable[Sequence[bytes]]) -> tuple[list[bytes], list[list[int]]]:
    """Many proofs as one table of distinct hashes plus, per proof, the positions of its hashes.

    Why: the proofs of one lot's records under one checkpoint share most of their upper nodes; a
    bundle of a thousand records would otherwise spell out ~15 000 hashes for ~5 000 distinct ones.
    ``[[table[i] for i in refs] for refs in refs_list]`` gives the proofs back unchanged.
    """
    table: list[bytes] = []
    position: dict[bytes, int] = {}
    refs = [[position.setdefault(h, len(position)) for h in path] for path in paths]
    table.extend(position)  # dicts keep insertion order: position[h] is h's place in the table
    return table, refs


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       path: Sequence[bytes]) -> bool:
    """Does the tree (second, second_root) extend the tree (first, first_root) without rewriting it?"""
    if not (isinstance(first, int) and isinstance(second, int)) or not 0 <= first <= second:
        return False
    if not _valid_hashes([first_root, second_root, *path]):
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path and first_root == EMPTY_ROOT
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
