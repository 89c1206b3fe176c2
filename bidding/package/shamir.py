"""Shamir secret sharing over GF(2⁸), byte by byte, so a secret of any length can be split.

Why our own ~80 lines rather than a library: the maintained option in our stack (pycryptodome's
``Crypto.Protocol.SecretSharing``) splits only 16-byte secrets over GF(2¹²⁸), and the GF(256)
packages on PyPI are small single-author projects without releases in years.  The arithmetic is
the textbook one (the AES field, polynomial x⁸+x⁴+x³+x+1, generator 3), as in HashiCorp Vault's
``shamir`` package; the tests check it against the field axioms and round trips.

A share is ``(x, y)`` with ``x`` in 1…255 and ``y`` as long as the secret.  Fewer than ``threshold``
shares reveal nothing about the secret (information-theoretically), *and* combining them yields a
wrong value without any error: callers must check the result (``bidding.package.custody`` compares the
rebuilt key's public half with the registered one).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable

_EXP = [0] * 512
_LOG = [0] * 256


def _build_tables() -> None:
    value = 1
    for power in range(255):
        _EXP[power] = value
        _LOG[value] = power
        value ^= (value << 1) ^ (0x11B if value & 0x80 else 0)  # multiply by the generator 3
        value &= 0xFF
    for power in range(255, 512):
        _EXP[power] = _EXP[power - 255]


_build_tables()


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    if a == 0:
        return 0
    return _EXP[(_LOG[a] - _LOG[b]) % 255]


def _evaluate(coefficients: list[int], x: int) -> int:
    """Horner's rule; coefficients[0] is the secret byte."""
    result = 0
    for coefficient in reversed(coefficients):
        result = gf_mul(result, x) ^ coefficient
    return result


def split(secret: bytes, *, threshold: int, shares: int,
          random: Callable[[int], bytes] = os.urandom) -> list[tuple[int, bytes]]:
    """Split ``secret`` into ``shares`` shares, any ``threshold`` of which rebuild it.

    :raises ValueError: 2 ≤ threshold ≤ shares ≤ 255 does not hold, or the secret is empty
    """
    if not 2 <= threshold <= shares <= 255:
        raise ValueError("need 2 <= threshold <= shares <= 255")
    if not secret:
        raise ValueError("cannot split an empty secret")
    noise = random(len(secret) * (threshold - 1))
    ys = [bytearray(len(secret)) for _ in range(shares)]
    for i, byte in enumerate(secret):
        coefficients = [byte, *noise[i * (threshold - 1):(i + 1) * (threshold - 1)]]
        for index in range(shares):
            ys[index][i] = _evaluate(coefficients, index + 1)
    return [(index + 1, bytes(y)) for index, y in enumerate(ys)]


def combine(shares: Iterable[tuple[int, bytes]]) -> bytes:
    """Lagrange interpolation at x = 0 over the given shares.

    :raises ValueError: no shares, repeated or out-of-range x, or shares of different lengths
    """
    points = list(shares)
    if not points:
        raise ValueError("no shares")
    xs = [x for x, _y in points]
    if len(set(xs)) != len(xs) or not all(1 <= x <= 255 for x in xs):
        raise ValueError("share indexes must be distinct and in 1..255")
    length = len(points[0][1])
    if any(len(y) != length for _x, y in points):
        raise ValueError("shares have different lengths")
    weights = [_lagrange_at_zero(xs, j) for j in range(len(points))]
    return bytes(_combine_byte(points, weights, i) for i in range(length))


def _lagrange_at_zero(xs: list[int], j: int) -> int:
    weight = 1
    for m, xm in enumerate(xs):
        if m != j:
            weight = gf_mul(weight, gf_div(xm, xm ^ xs[j]))
    return weight


def _combine_byte(points, weights, i: int) -> int:
    value = 0
    for (_x, y), weight in zip(points, weights, strict=True):
        value ^= gf_mul(y[i], weight)
    return value
