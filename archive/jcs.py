"""RFC 8785 (JCS) canonical JSON: the ``rfc8785`` package, with a fast path proven equal to it.

Why a fast path: the pure-Python ``rfc8785.dumps`` costs ~190 µs for a 600-byte record on the
target machine — more than the Ed25519 signature — and would cap sealing and verification.  For
the JSON our records contain (strings, safe integers, booleans, null; no floats) the standard
library's C encoder with sorted keys writes exactly the JCS bytes, provided that:

* there is no float (JCS prints numbers the ECMAScript way; Python's repr differs),
* every integer is within ±(2^53 − 1) (I-JSON; ``rfc8785`` refuses others),
* no string contains a character outside the BMP *in an object key* (JCS sorts keys by UTF-16
  code units, Python by code points; the two orders agree inside the BMP), and no lone
  surrogate anywhere (not UTF-8 encodable: JCS refuses it; so do we).

Escaping agrees: both write only ``"``, ``\\`` and control characters escaped, with the short
forms ``\\b \\f \\n \\r \\t`` and lower-case ``\\u00xx`` otherwise.  Anything outside the fast
path goes to ``rfc8785`` itself.  ``tests/archive/test_jcs.py`` checks the equivalence with
hypothesis.  Stdlib + rfc8785 only: the offline verifier imports this module.  When ``msgspec``
is installed, :func:`loads_canonical` uses its C decoder and sorted encoder for the common case
(no ``\\u`` escape, no number of 16 digits or more, no astral characters): same answers, about half the
time; without it the stdlib path runs, so an auditor's verifier needs nothing more.
"""
from __future__ import annotations

import json
import re

import rfc8785

try:  # an optional accelerator (see the module docstring); the stdlib path gives the same answers
    import msgspec
except ImportError:  # pragma: no cover - exercised by tests that hide the module
    msgspec = None

MAX_SAFE_INT = 2**53 - 1
_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xff]")
#: maps digits to ``0``, the bytes a number literal can follow (``: , [ -``) to ``1`` and every other
#: byte to ``x``: :func:`_long_int` finds a 16-digit run *where a number starts* in one C pass (a
#: regex search costs ten times more).  Runs inside strings (hex digests, which hold one in almost
#: every 1 KB of a bundle statement) follow a letter or a quote and so do not count.
_NUMBER_MAP = bytes(0x30 if 0x30 <= i <= 0x39 else 0x31 if i in b":,[-" else 0x78 for i in range(256))
_LONG_NUMBER = b"1" + b"0" * 16


def _long_int(data: bytes) -> bool:
    """Might ``data`` hold an integer literal of 16 or more digits (one that may exceed 2^53 − 1)?

    No false negatives on canonical input: there a number follows ``:``, ``,``, ``[`` or ``-``, or
    starts the text.  A number after whitespace makes the text non-canonical anyway, and the
    re-serialisation (which drops the whitespace) says so whatever the number's size.
    """
    return data[:1] in b"-0123456789" or _LONG_NUMBER in data.translate(_NUMBER_MAP)


class NotCanonical(ValueError):
    """The value cannot be written as JCS (floats are refused upstream, see ``normalise``)."""


def _fast_ok(value) -> bool:
    """True when the stdlib encoder's output is byte-identical to JCS for ``value``.

    Exact ``type`` checks on purpose: subclasses (IntEnum, str subclasses) take the reference path.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                return False
        elif kind is dict:
            for key in item:
                if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                    return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:  # float, Decimal, bytes, subclasses …
            return False
    return True


#: check_circular off: values come from json.loads or are built as trees (``_fast_ok`` assumes so too)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False,
                            check_circular=False)


def _stdlib(value) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def dumps(value) -> bytes:
    """The RFC 8785 canonical bytes of ``value``.

    :raises NotCanonical: lone surrogates, unsupported types, out-of-range numbers
    """
    try:
        if _fast_ok(value):
            return _stdlib(value)
        return rfc8785.dumps(value)
    except (UnicodeEncodeError, rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise NotCanonical(str(exc)) from exc


def dumps_prechecked(value) -> bytes:
    """JCS bytes of a value already known to satisfy the fast-path conditions (module docstring):
    no floats, integers within ±(2^53 − 1), object keys inside the BMP.  The sequencer's payloads
    are built that way by ``archive.services.records.normalise``; tests check the equality."""
    return _stdlib(value)


class _FloatSeen(Exception):
    pass


def _no_float(text: str):
    raise _FloatSeen(text)


def _safe_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        raise _FloatSeen(text)
    return value


#: floats, NaN/Infinity and unsafe integers leave the fast path (``_FloatSeen``)
_STRICT = json.JSONDecoder(parse_float=_no_float, parse_int=_safe_int, parse_constant=_no_float)
#: the same without the per-integer Python call: only where :func:`_long_int` finds no number of 16
#: digits, so every integer of canonical input is within ±(2^53 − 1); a longer one after whitespace
#: may slip through, but whitespace alone makes the re-serialisation differ and the answer False
_QUICK = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)


if msgspec is not None:
    _MS_DECODER = msgspec.json.Decoder(float_hook=_no_float)
    _MS_ENCODER = msgspec.json.Encoder(order="sorted")


def loads_canonical(data: bytes) -> tuple[bool, object]:
    """Parse ``data``: ``(True, value)`` only if ``data`` is the exact JCS form of ``value``.

    Duplicate keys, insignificant whitespace, needless escapes, unsorted keys and non-shortest
    numbers all make the re-serialisation differ, so they are all refused.
    """
    # ``b"\\" not in data`` first: a one-byte search is a memchr, ten times cheaper than the two-byte one
    if msgspec is not None and (b"\\" not in data or b"\\u" not in data) and not _long_int(data) \
            and (data.isascii() or not _ASTRAL_UTF8.search(data)):
        return _loads_msgspec(data)
    return _loads_stdlib(data)


def _loads_msgspec(data: bytes) -> tuple[bool, object]:
    """The common case in C: no ``\\u`` escape (so no lone surrogate can hide), every integer short
    enough to be safe, keys inside the BMP (msgspec sorts by code point, as the stdlib path does)."""
    try:
        value = _MS_DECODER.decode(data)
    except _FloatSeen:
        return _slow_canonical(data.decode("utf-8"), data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False, None
    try:
        return _MS_ENCODER.encode(value) == data, value
    except (UnicodeEncodeError, ValueError, TypeError):
        return False, None


def _loads_stdlib(data: bytes) -> tuple[bool, object]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False, None
    decoder = _STRICT if _long_int(data) else _QUICK
    try:
        value = decoder.decode(text)
    except _FloatSeen:
        return _slow_canonical(text, data)
    except ValueError:
        return False, None
    # astral characters: key order may differ, let rfc8785 decide (ASCII-only data has none)
    if not data.isascii() and _ASTRAL_UTF8.search(data):
        return _slow_canonical(text, data)
    try:
        return _stdlib(value) == data, value
    except (UnicodeEncodeError, ValueError):
        return False, None


def _int_or_double(text: str) -> int | float:
    """JSON numbers are doubles (RFC 8785 §3.2.2.3): a large integer literal is read as one."""
    value = int(text)
    return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else float(value)


def _slow_canonical(text: str, data: bytes) -> tuple[bool, object]:
    try:
        value = json.loads(text, parse_int=_int_or_double)
        return rfc8785.dumps(value) == data, value
    except (ValueError, rfc8785.CanonicalizationError):
        return False, None
