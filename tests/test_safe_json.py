"""safe_json: any payload from Pearl becomes bounded, valid, encodable JSON text."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safe_json import clean_text, safe_json


def _ok(text: str, max_total: int = 1_000_000) -> Any:
    assert isinstance(text, str)
    assert len(text) <= max_total
    text.encode("utf-8")  # no lone surrogates left
    return json.loads(text)


def test_plain_json_round_trips() -> None:
    payload = {
        "id": "abc",
        "status": 4,
        "conversationStatus": 100,
        "duration": 99.5,
        "collectedInfo": [{"id": "fechaDeseada", "name": "Fecha", "value": "25-09-2025"}],
        "flags": [True, False, None],
        "name": "María José Núñez 🙂",
    }
    assert _ok(safe_json(payload)) == payload


def test_lone_surrogates() -> None:
    payload = {"summary": "a\ud800b", "\udfffkey": ["\ud83d", "ok"]}
    assert _ok(safe_json(payload)) == {"summary": "a\ufffdb", "\ufffdkey": ["\ufffd", "ok"]}


def test_absurd_nesting() -> None:
    deep: Any = "bottom"
    for _ in range(100_000):
        deep = {"x": [deep]}
    result = _ok(safe_json(deep, max_depth=32))
    text = json.dumps(result)
    assert "<nested too deep>" in text
    assert "bottom" not in text


def test_circular_references() -> None:
    loop: list[Any] = []
    loop.append(loop)
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert "<nested too deep>" in json.dumps(_ok(safe_json(loop)))
    assert "<nested too deep>" in json.dumps(_ok(safe_json(cyclic)))


def test_huge_strings_and_totals() -> None:
    huge = "x" * 5_000_000
    assert _ok(safe_json({"s": huge}, max_str=10_000))["s"] == "x" * 10_000 + "…"
    many = {f"k{i}": "y" * 9_000 for i in range(500)}
    result = _ok(safe_json(many, max_total=100_000), 100_000)
    assert len(json.dumps(result, ensure_ascii=False)) <= 100_000
    big_list = list(range(2_000_000))
    _ok(safe_json(big_list, max_total=10_000), 10_000)


def test_non_json_types() -> None:
    class Exploding:
        def __repr__(self) -> str:
            raise RuntimeError("repr must not be called")

        __str__ = __repr__

    payload = {
        "nan": math.nan,
        "inf": -math.inf,
        "huge_int": 10**5000,
        "decimal": Decimal("1.5"),
        "bad_decimal": Decimal("NaN"),
        "when": datetime(2025, 9, 24, 8, 15, tzinfo=UTC),
        "bytes": b"\xff\xfeabc",
        "set": {1},
        "tuple": (1, 2),
        "obj": Exploding(),
        1: "int key",
        None: "none key",
        (1, 2): "tuple key",
    }
    result = _ok(safe_json(payload))
    assert result["nan"] is None and result["inf"] is None
    assert result["huge_int"].startswith("<int of")
    assert result["decimal"] == "1.5" and result["bad_decimal"] is None
    assert result["when"] == "2025-09-24T08:15:00+00:00"
    assert result["bytes"] == "\ufffd\ufffdabc"
    assert result["set"] == [1] and result["tuple"] == [1, 2]
    assert result["obj"] == "<Exploding>"
    assert result["1"] == "int key" and result["null"] == "none key"


@pytest.mark.parametrize("kwargs", [{"max_depth": 0}, {"max_str": 0}, {"max_total": 10}])
def test_bad_bounds(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        safe_json({}, **kwargs)


def test_clean_text() -> None:
    assert clean_text("a\x00b\x1b[31mc\u0085d\ne\tf\ud800", 100) == "ab[31mcd\ne\tf\ufffd"
    assert clean_text("x" * 50, 10) == "x" * 10
    with pytest.raises(TypeError):
        clean_text(5, 10)  # type: ignore[arg-type]


_ANY = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(alphabet=st.characters(), max_size=50),
        st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=5),
        st.binary(max_size=20),
        st.decimals(),
        st.datetimes(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.integers(), st.none(), st.booleans()),
            children,
            max_size=5,
        ),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(obj=_ANY, max_total=st.integers(min_value=64, max_value=5000))
def test_property_never_raises_and_is_bounded(obj: Any, max_total: int) -> None:
    _ok(safe_json(obj, max_depth=4, max_str=100, max_total=max_total), max_total)


@settings(max_examples=200, deadline=None)
@given(obj=_ANY)
def test_property_json_values_round_trip_when_small(obj: Any) -> None:
    """Plain JSON data (str keys, finite floats, no surrogates) comes back unchanged."""
    try:
        text = json.dumps(obj, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
        plain = json.loads(text)
    except (TypeError, ValueError, UnicodeEncodeError):
        return
    if len(text) > 10_000 or any(isinstance(v, int) and abs(v) >= 2**63 for v in _ints(plain)):
        return
    if not _str_keys_only(obj):
        return
    assert json.loads(safe_json(obj, max_depth=100)) == plain


def _ints(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [i for v in value for i in _ints(v)]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ints(v)]
    return []


def _str_keys_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) for k in value) and all(
            _str_keys_only(v) for v in value.values()
        )
    if isinstance(value, list | tuple):
        return all(_str_keys_only(v) for v in value)
    return True
