"""The fast canonicaliser is byte-identical to the rfc8785 package, and the parser refuses non-JCS."""
from __future__ import annotations

import json

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import jcs

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | texts | st.floats(allow_nan=False, allow_infinity=False)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(values)
def test_dumps_equals_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return
    assert jcs.dumps(value) == expected
    ok, parsed = jcs.loads_canonical(expected)
    assert ok and rfc8785.dumps(parsed) == expected


@settings(max_examples=200, deadline=None)
@given(values)
def test_reformatted_json_is_not_canonical(value):
    try:
        canonical = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return
    pretty = json.dumps(json.loads(canonical), indent=1, ensure_ascii=True).encode()
    assert jcs.loads_canonical(pretty)[0] == (pretty == canonical)


def test_known_differences_are_handled():
    # UTF-16 key order differs from code-point order for astral vs high-BMP keys
    value = {"\U0001f600": 1, "\ufb01": 2}
    assert jcs.dumps(value) == rfc8785.dumps(value)
    assert jcs.dumps({"a": 1e21, "b": 0.1}) == rfc8785.dumps({"a": 1e21, "b": 0.1})
    for bad in (b'{"a":1,"a":1}', b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":"\\u0041"}', b'{"a":1.0}',
                b'{"a":-0}', b'{"a":NaN}', b'{"a":9007199254740993}', b'\xff', b'{"a":"\\ud800"}'):
        assert not jcs.loads_canonical(bad)[0], bad
    assert jcs.loads_canonical(b'{"a":"\\u001f\\n","b":[1,true,null]}') == (True, {"a": "\x1f\n", "b": [1, True, None]})


@settings(max_examples=300, deadline=None)
@given(values)
def test_the_msgspec_path_gives_the_stdlib_answers(value):
    """``loads_canonical`` with its optional accelerator answers exactly as without it, on canonical
    and on reformatted input."""
    try:
        canonical = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return
    pretty = json.dumps(value, indent=1, ensure_ascii=True).encode()
    for data in (canonical, pretty, canonical + b" "):
        fast = jcs.loads_canonical(data)
        assert fast == jcs._loads_stdlib(data)


def test_long_integers_are_found_wherever_a_number_can_start():
    """The gate to the quick decoders sees every integer literal that may exceed 2^53 − 1."""
    big = 2**53 + 1
    for text in (f"{big}", f"-{big}", f"[{big}]", f"[1,{big}]", f'{{"a":{big}}}', f'{{"a":-{big}}}'):
        assert jcs._long_int(text.encode()), text
        assert not jcs.loads_canonical(text.encode())[0], text
    assert jcs.loads_canonical(b'{"a":9007199254740991}') == (True, {"a": 2**53 - 1})


def test_digit_runs_inside_strings_keep_the_quick_path():
    """Hex digests often hold 16 digits in a row; they are strings, not numbers."""
    data = b'{"h":"ab12345678901234567890cd","t":"x1234567890123456789"}'
    assert not jcs._long_int(data)
    assert jcs.loads_canonical(data) == (True, json.loads(data))


big_ints = st.integers(2**53 - 3, 2**70) | st.integers(-(2**70), -(2**53) + 3)


@settings(max_examples=300, deadline=None)
@given(values, big_ints, st.integers(0, 3))
def test_the_quick_paths_answer_as_the_exact_one_for_long_integers(value, big, where):
    """Wherever an integer of 16 or more digits sits, the answer is the exact path's (JSON numbers
    are doubles: 2^53 written out is canonical, 2^53 + 1 is not).  The msgspec test above cannot
    see a gate that lets such a number through: both of its paths share the gate."""
    placed = [big, [value, big], {"a": value, "k": big}, {"z": [big]}][where]
    text = json.dumps(placed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert jcs.loads_canonical(text)[0] == jcs._slow_canonical(text.decode(), text)[0]
    assert jcs._loads_stdlib(text)[0] == jcs._slow_canonical(text.decode(), text)[0]
