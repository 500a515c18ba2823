"""The agent's variables: build_call_data and the pearl_call_data mapping (pure)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from call_data import (
    DEFAULT_CALL_DATA_MAPPING,
    build_call_data,
    call_ref_of,
    lead_call_data,
    parse_call_data_mapping,
)

LEAD: dict[str, Any] = {
    "id": 41,
    "nombre": "María José",
    "apellidos": "Núñez Pérez",
    "telefono": "+34600111222",
    "call_data": json.dumps(
        {
            "nombreClinica": "Clínica Dental Sol",
            "direccionClinica": "C/ Mayor 1, Madrid",
            "fechaNacimiento": "1970-05-01",
            "poliza": 123456,
        }
    ),
}


def test_default_mapping() -> None:
    data = build_call_data(LEAD, None, 41)
    assert data == {
        "callRef": "41",
        "firstName": "María José",
        "lastName": "Núñez Pérez",
        "nombre": "María José",
        "apellidos": "Núñez Pérez",
        "nombreClinica": "Clínica Dental Sol",
        "direccionClinica": "C/ Mayor 1, Madrid",
        "fechaNacimiento": "1970-05-01",
        "poliza": "123456",
    }
    assert next(iter(data)) == "callRef"
    assert DEFAULT_CALL_DATA_MAPPING == {
        "firstName": "nombre",
        "lastName": "apellidos",
        "nombre": "nombre",
        "apellidos": "apellidos",
    }


def test_configured_mapping_columns_and_call_data_keys() -> None:
    mapping = parse_call_data_mapping(
        '{"firstName": "nombre", "clinic": "nombreClinica", "missing": "nada", "id": "id"}'
    )
    data = build_call_data(LEAD, mapping, 7)
    assert data["callRef"] == "7"
    assert data["firstName"] == "María José"
    assert data["clinic"] == "Clínica Dental Sol"
    assert data["id"] == "41"
    assert "missing" not in data
    assert "lastName" not in data  # not in the configured mapping
    assert data["nombreClinica"] == "Clínica Dental Sol"  # call_data keys always go too


@pytest.mark.parametrize(
    "call_data",
    [
        {"poliza": "P-1"},
        '{"poliza": "P-1"}',
        b'{"poliza": "P-1"}',
    ],
)
def test_call_data_shapes(call_data: Any) -> None:
    lead = {"nombre": "Ana", "call_data": call_data}
    assert build_call_data(lead, None, 1) == {
        "callRef": "1",
        "firstName": "Ana",
        "nombre": "Ana",
        "poliza": "P-1",
    }


@pytest.mark.parametrize("call_data", [None, "not json", "[1, 2]", 5, "{" * 10_000])
def test_bad_call_data_is_ignored(call_data: Any) -> None:
    assert lead_call_data({"call_data": call_data}) == {}
    assert build_call_data({"nombre": "Ana", "call_data": call_data}, None, 1) == {
        "callRef": "1",
        "firstName": "Ana",
        "nombre": "Ana",
    }


def test_call_ref_cannot_be_overridden() -> None:
    lead = {"nombre": "Ana", "callRef": "999", "call_data": {"callRef": "666"}}
    assert build_call_data(lead, {"firstName": "nombre"}, 5)["callRef"] == "5"
    with pytest.raises(ValueError, match="reserved"):
        parse_call_data_mapping('{"callRef": "id"}')


@pytest.mark.parametrize("call_ref", [0, -1, True, "5", 5.0, None])
def test_call_ref_must_be_a_positive_int(call_ref: Any) -> None:
    with pytest.raises(ValueError, match="call_ref"):
        build_call_data(LEAD, None, call_ref)


def test_lead_must_be_a_mapping() -> None:
    with pytest.raises(TypeError):
        build_call_data([("nombre", "Ana")], None, 1)  # type: ignore[arg-type]


def test_values_are_sanitised() -> None:
    lead = {
        "nombre": "Ana\x00\x07 \ud800Mar\x1bía\n",
        "apellidos": "   ",
        "call_data": {
            "nota": "línea 1\nlínea 2\ttab",
            "activo": True,
            "importe": Decimal("12.50"),
            "ratio": float("nan"),
            "alta": date(2025, 9, 1),
            "anidado": {"a": 1},
            "lista": [1, 2],
            "nulo": None,
            "enorme": 10**100,
            "bytes": b"x",
            "bad\x00key": "v",
        },
    }
    data = build_call_data(lead, None, 3)
    assert data["firstName"] == "Ana \ufffdMaría"
    assert "lastName" not in data  # blank
    assert data["nota"] == "línea 1\nlínea 2\ttab"
    assert data["activo"] == "true"
    assert data["importe"] == "12.50"
    assert data["alta"] == "2025-09-01"
    assert data["badkey"] == "v"
    for left_out in ("ratio", "anidado", "lista", "nulo", "enorme", "bytes"):
        assert left_out not in data
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # never fails


def test_values_and_total_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    lead = {"nombre": "x" * 5000, "call_data": {f"v{i}": "y" * 900 for i in range(40)}}
    data = build_call_data(lead, None, 1, max_value_chars=1000, max_total_chars=16_000)
    assert len(data["firstName"]) == 1000
    assert len(json.dumps(data, ensure_ascii=False)) <= 16_000
    assert "v0" in data and "v39" not in data
    assert any("left out" in r.getMessage() for r in caplog.records)


_JUNK = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(),
        st.binary(max_size=20),
        st.dates(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    lead=st.dictionaries(
        st.one_of(st.sampled_from(["nombre", "apellidos", "call_data"]), st.text(max_size=8)),
        st.one_of(_JUNK, _JUNK.map(lambda v: json.dumps(v, default=str))),
        max_size=6,
    ),
    mapping=st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
        st.text(min_size=1, max_size=10),
        max_size=4,
    ),
    call_ref=st.integers(min_value=1, max_value=2**40),
)
def test_property_any_lead_gives_bounded_strings(
    lead: dict[str, Any], mapping: dict[str, str], call_ref: int
) -> None:
    data = build_call_data(lead, mapping, call_ref, max_value_chars=50, max_total_chars=2000)
    assert data["callRef"] == str(call_ref)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in data.items())
    assert all(len(v) <= 50 for v in data.values())
    text = json.dumps(data, ensure_ascii=False)
    assert len(text) <= 2000
    text.encode("utf-8")


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"callData": {"callRef": "41"}}, 41),
        ({"callData": {"callRef": 41}}, 41),
        ({"CallData": {"CallRef": " 41 "}}, 41),
        ({"calldata": {"callref": "7"}}, 7),
        ({"callData": {"callRef": "0"}}, None),
        ({"callData": {"callRef": "-3"}}, None),
        ({"callData": {"callRef": "4.0"}}, None),
        ({"callData": {"callRef": True}}, None),
        ({"callData": {"callRef": "9" * 40}}, None),
        ({"callData": {"callRef": "٤١"}}, None),  # Arabic-Indic digits are not ours
        ({"callData": "callRef=41"}, None),
        ({"callData": None}, None),
        ({}, None),
        (None, None),
        ([("callData", {"callRef": "1"})], None),
    ],
)
def test_call_ref_of(response: Any, expected: int | None) -> None:
    assert call_ref_of(response) == expected


def test_call_ref_round_trip() -> None:
    sent = build_call_data(LEAD, None, 12345)
    assert call_ref_of({"id": "call-1", "callData": sent}) == 12345
