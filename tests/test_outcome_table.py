"""Every row of the corrected outcome table and its default disposition, with call objects
shaped like Pearl's (Get Call / webhook v2 camelCase, webhook v1 PascalCase, flat dicts)."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from call_outcome import (
    OUTCOMES,
    Callback,
    Classification,
    classify,
    is_final_call,
    mask_digits,
)
from collected_info import parse_collected_info_rules
from dispositions import ALLOWED_ACTIONS, DEFAULT_DISPOSITIONS, decide

SEED = {"callResult": "no_answer", "status": "failed", "outcome": "no_answer"}


def call_object(
    status: int | None = 4,
    conv: int | None = None,
    collected: dict[str, Any] | None = None,
    *,
    shape: str = "camel",
) -> dict[str, Any]:
    """A Pearl call object like the real ones: non-E.164 `from`, callData, collectedInfo as a
    list of {id, name, value} (shape 'camel'), {Id, Name, Value} with PascalCase top-level keys
    (shape 'pascal'), or a flat dict (shape 'flat')."""
    obj: dict[str, Any] = {
        "id": "68d2a1c9e4b0a7d3c1e5f901",
        "startTime": "2025-09-24T08:15:04.000Z",
        "from": "339900",
        "to": "+34600111222",
        "name": "María José Núñez",
        "duration": 99,
        "callData": {"callRef": "41", "firstName": "María José"},
        "summary": "El cliente pidió que le llamen a las 17:30. Dijo que no estaba interesado.",
        "transcript": [{"role": 2, "content": "¿Le llamo mañana? No me interesa."}],
        "recording": "https://example.invalid/rec.mp3",
    }
    if status is not None:
        obj["status"] = status
    if conv is not None:
        obj["conversationStatus"] = conv
    items = collected or {}
    if shape == "flat":
        obj["collectedInfo"] = dict(items)
    elif shape == "pascal":
        obj = {k[:1].upper() + k[1:]: v for k, v in obj.items()}
        obj["CollectedInfo"] = [{"Id": k, "Name": k, "Value": v} for k, v in items.items()]
    else:
        obj["collectedInfo"] = [{"id": k, "name": k, "value": v} for k, v in items.items()]
    return obj


# (id, status, conv, collected, previous_outcome) -> outcome, action, closure, L1, L2
ROWS: list[tuple[str, int | None, int | None, dict[str, Any], str | None, tuple]] = [
    ("busy", 5, None, {}, None, ("busy", "retry", "Volver a llamar", "Ocupado")),
    ("no answer", 7, None, {}, None, ("no_answer", "retry", "Volver a llamar", "No contesta")),
    ("need retry", 4, 10, {}, None, ("hang_up", "retry", "Volver a llamar", "cortado")),
    ("voicemail left", 4, 70, {}, None, ("voicemail", "retry", "Volver a llamar", "buzón")),
    (
        "buzon true",
        4,
        130,
        {"buzon": True},
        None,
        ("voicemail", "retry", "Volver a llamar", "buzón"),
    ),
    ("failed once", 6, None, {}, None, ("failed", "retry", "Volver a llamar", "Fallo centralita")),
    (
        "failed after busy",
        6,
        None,
        {},
        "busy",
        ("failed", "retry", "Volver a llamar", "Fallo centralita"),
    ),
    (
        "failed twice",
        6,
        None,
        {},
        "failed",
        ("invalid_phone", "close", "Teléfono erróneo", "Falló varias veces"),
    ),
    ("unreachable", 4, 150, {}, None, ("unreachable", "retry", "Volver a llamar", "Ilocalizable")),
    ("wrong country code", 4, 30, {}, None, ("invalid_phone", "close", "Teléfono erróneo", None)),
    ("blacklisted", 4, 220, {}, None, ("blacklisted", "close", "Lista negra", None)),
    (
        "declined",
        4,
        110,
        {"noInteresado": True},
        None,
        ("not_interested", "close", "No Interesado", None),
    ),
    (
        "declined as text",
        4,
        110,
        {"noInteresado": "Sí"},
        None,
        ("not_interested", "close", "No Interesado", None),
    ),
    (
        "declined as 1",
        4,
        100,
        {"noInteresado": "1"},
        None,
        ("not_interested", "close", "No Interesado", None),
    ),
    (
        "declined with code",
        4,
        110,
        {"noInteresado": True, "codigoNoInteres": "paciente_con_tratamiento"},
        None,
        ("not_interested", "close", "No Interesado", "Paciente con tratamiento"),
    ),
    (
        "code alone",
        4,
        110,
        {"codigoNoInteres": "bajaProxima"},
        None,
        ("not_interested", "close", "No Interesado", "Próxima baja"),
    ),
    (
        "code as list",
        4,
        110,
        {"codigoNoInteres": ["descontento"]},
        None,
        ("not_interested", "close", "No Interesado", "Descontento con Adeslas"),
    ),
    (
        "not successful",
        4,
        110,
        {},
        None,
        ("not_successful", "review", "Revisar", "Llamada no exitosa"),
    ),
    (
        "appointment range",
        4,
        100,
        {"nuevaCita": "2025-10-14 09:50-10:10"},
        None,
        ("appointment", "appointment", "Cita Agendada", "Sin Pack"),
    ),
    (
        "appointment with pack",
        4,
        100,
        {"fechaDeseada": "25-09-2025", "horaDeseada": "17:00:00", "conPack": True},
        None,
        ("appointment", "appointment", "Cita Agendada", "Con Pack"),
    ),
    (
        "appointment pack false",
        4,
        100,
        {"fechaDeseada": "25/09/2025", "conPack": "false"},
        None,
        ("appointment", "appointment", "Cita Agendada", "Sin Pack"),
    ),
    (
        "appointment unreadable",
        4,
        100,
        {"nuevaCita": "el martes por la tarde"},
        None,
        ("review", "review", "Cita Manual", "Fecha no legible"),
    ),
    (
        "pack without date",
        4,
        100,
        {"conPack": True},
        None,
        ("review", "review", "Cita Manual", "Fecha no legible"),
    ),
    (
        "refusal and appointment",
        4,
        100,
        {"noInteresado": True, "nuevaCita": "14-10-2025"},
        None,
        ("review", "review", "Revisar", "Cita y rechazo a la vez"),
    ),
    (
        "callback",
        4,
        130,
        {"volverALlamar": True, "horaRellamada": "17:30"},
        None,
        ("callback", "callback", "Volver a llamar", "no disponible cliente"),
    ),
    (
        "callback code",
        4,
        130,
        {"volverALlamar": "true", "codigoVolverLlamar": "proble_tecnico"},
        None,
        ("callback", "callback", "Volver a llamar", "Interesado. Problema técnico"),
    ),
    ("success", 4, 100, {}, None, ("success", "review", "Revisar", "Éxito sin cita")),
    ("completed", 4, 130, {}, None, ("success", "review", "Revisar", "Éxito sin cita")),
    (
        "unknown conversation",
        4,
        42,
        {},
        None,
        ("unknown", "review", "Revisar", "Resultado desconocido"),
    ),
    (
        "no conversation status",
        4,
        None,
        {},
        None,
        ("unknown", "review", "Revisar", "Resultado desconocido"),
    ),
    ("pearl error", 4, 500, {}, None, ("error", "retry", "Volver a llamar", "Error técnico")),
    ("canceled", 8, None, {}, None, ("not_placed", "not_placed", None, None)),
    (
        "collected beats no answer",
        7,
        None,
        {"volverALlamar": True},
        None,
        ("callback", "callback", "Volver a llamar", "no disponible cliente"),
    ),
    (
        "false flags are no signal",
        7,
        None,
        {
            "noInteresado": False,
            "volverALlamar": "false",
            "buzon": "no",
            "nuevaCita": "",
            "conPack": False,
        },
        None,
        ("no_answer", "retry", "Volver a llamar", "No contesta"),
    ),
]


@pytest.mark.parametrize("shape", ["camel", "pascal", "flat"])
@pytest.mark.parametrize(
    ("status", "conv", "collected", "previous", "expected"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_outcome_and_disposition_rows(
    status: int | None,
    conv: int | None,
    collected: dict[str, Any],
    previous: str | None,
    expected: tuple,
    shape: str,
) -> None:
    outcome, action, level_1, level_2 = expected
    response = call_object(status, conv, collected, shape=shape)
    result = classify(SEED, response, previous_outcome=previous)
    assert result.final is True
    assert result.outcome == outcome
    disposition = decide(result)
    assert disposition.action == action
    assert disposition.status_level_1 == level_1
    assert disposition.status_level_2 == level_2
    if action in ("close", "appointment"):
        assert disposition.closure_reason
    # The caller's generic summary never decides what Pearl's object says.
    assert classify({}, response, previous_outcome=previous).outcome == outcome


@pytest.mark.parametrize(
    ("outcome", "closure"),
    [
        ("invalid_phone", "Teléfono erróneo"),
        ("blacklisted", "Lista negra"),
        ("not_interested", "No interesado"),
        ("appointment", "Cita agendada"),
    ],
)
def test_closure_reasons(outcome: str, closure: str) -> None:
    assert DEFAULT_DISPOSITIONS[outcome].closure_reason == closure


def test_default_actions_are_the_documented_ones() -> None:
    actions = {outcome: d.action for outcome, d in DEFAULT_DISPOSITIONS.items()}
    assert set(actions) == OUTCOMES
    retry = {"busy", "no_answer", "hang_up", "voicemail", "failed", "unreachable", "error"}
    assert {o for o, a in actions.items() if a == "retry"} == retry
    assert {o for o, a in actions.items() if a == "close"} == {
        "invalid_phone",
        "blacklisted",
        "not_interested",
    }
    assert {o for o, a in actions.items() if a == "review"} == {
        "not_successful",
        "unknown",
        "success",
        "review",
    }
    assert actions["appointment"] == "appointment"
    assert actions["callback"] == "callback"
    assert actions["not_placed"] == "not_placed"
    for outcome, disposition in DEFAULT_DISPOSITIONS.items():
        assert disposition.action in ALLOWED_ACTIONS[outcome]
        assert disposition.add_to_do_not_call is False


# --------------------------------------------------------------------------- not final


@pytest.mark.parametrize(
    ("call_result", "response"),
    [
        ({}, call_object(3, None)),
        ({}, call_object(3, 100)),
        ({}, call_object(None, 40)),  # OnCall
        ({}, call_object(None, 20)),  # InCallQueue
        ({}, {**call_object(None, None), "event": "call.started"}),
        ({"event": "callStarted"}, call_object(None, None)),
        ({}, {**call_object(4, 100, shape="pascal"), "EventType": "Call_Started"}),
        ({}, call_object(3, None, {"nuevaCita": "14-10-2025"})),
    ],
)
def test_not_final(call_result: dict[str, Any], response: dict[str, Any]) -> None:
    result = classify(call_result, response)
    assert result == Classification("in_progress", final=False, rule="not_final")
    assert is_final_call(call_result, response) is False
    with pytest.raises(ValueError, match="not final"):
        decide(result)


@pytest.mark.parametrize(
    "response",
    [
        None,
        call_object(4, 100),
        call_object(5, None),
        call_object(8, 20),  # canceled while queued: final
        {**call_object(4, 100), "event": "call.ended"},
    ],
)
def test_final(response: dict[str, Any] | None) -> None:
    assert is_final_call(SEED, response) is True
    assert classify(SEED, response).final is True


# --------------------------------------------------------------------------- appointments


@pytest.mark.parametrize(
    ("collected", "expected_date", "expected_time"),
    [
        ({"nuevaCita": "14-10-2025"}, date(2025, 10, 14), None),
        ({"nuevaCita": "14/10/2025"}, date(2025, 10, 14), None),
        ({"nuevaCita": "2025-10-14"}, date(2025, 10, 14), None),
        ({"nuevaCita": "2025-10-14 09:50"}, date(2025, 10, 14), time(9, 50)),
        ({"nuevaCita": "14-10-2025 09:50:30"}, date(2025, 10, 14), time(9, 50, 30)),
        ({"nuevaCita": "14/10/2025 9:50-10:10"}, date(2025, 10, 14), time(9, 50)),
        ({"nuevaCita": "2025-10-14 09:50 - 10:10"}, date(2025, 10, 14), time(9, 50)),
        ({"nuevaCita": "2025-10-14T09:50:00"}, date(2025, 10, 14), time(9, 50)),
        ({"fechaDeseada": "25-09-2025", "horaDeseada": "17:00:00"}, date(2025, 9, 25), time(17)),
        ({"fechaDeseada": "25/09/2025", "horaDeseada": "17:00"}, date(2025, 9, 25), time(17)),
        ({"fechaDeseada": "2025-09-25", "horaDeseada": "17:00-17:30"}, date(2025, 9, 25), time(17)),
        ({"fechaDeseada": "2025-09-25"}, date(2025, 9, 25), None),
        # nuevaCita wins over fechaDeseada; an unreadable nuevaCita falls back to it.
        ({"nuevaCita": "2025-10-14", "fechaDeseada": "25-09-2025"}, date(2025, 10, 14), None),
        ({"nuevaCita": "pronto", "fechaDeseada": "25-09-2025"}, date(2025, 9, 25), None),
    ],
)
def test_appointment_formats(
    collected: dict[str, Any], expected_date: date, expected_time: time | None
) -> None:
    result = classify({}, call_object(4, 100, collected))
    assert result.outcome == "appointment"
    assert result.appointment is not None
    assert (result.appointment.fecha, result.appointment.hora) == (expected_date, expected_time)


@pytest.mark.parametrize(
    "value",
    [
        "31-02-2026",
        "14-10-25",
        "martes 14",
        "2025-10-14 25:00",
        "2025-10-14 09:50-10:75",
        "x" * 500,
    ],
)
def test_unreadable_appointment_is_reviewed_never_closed(value: str) -> None:
    result = classify({}, call_object(4, 100, {"nuevaCita": value, "horaDeseada": "10:00"}))
    assert result.outcome == "review"
    assert result.appointment is not None and result.appointment.fecha is None
    assert decide(result).action == "review"
    assert decide(result).status_level_1 == "Cita Manual"
    assert any("nuevaCita" in p for p in result.problems)
    assert all(value not in p for p in result.problems)


# --------------------------------------------------------------------------- callbacks


@pytest.mark.parametrize(
    ("collected", "expected"),
    [
        ({"volverALlamar": True, "horaRellamada": "17:30"}, Callback(None, time(17, 30))),
        ({"volverALlamar": "sí", "horaRellamada": "9:05:00"}, Callback(None, time(9, 5))),
        (
            {"volverALlamar": True, "horaRellamada": "2025-10-14 17:30"},
            Callback(date(2025, 10, 14), time(17, 30)),
        ),
        (
            {"volverALlamar": True, "horaRellamada": "14/10/2025 17:30"},
            Callback(date(2025, 10, 14), time(17, 30)),
        ),
        (
            {"volverALlamar": True, "horaRellamada": "14-10-2025"},
            Callback(date(2025, 10, 14), None),
        ),
        ({"horaRellamada": "17:30"}, Callback(None, time(17, 30))),  # a time asked is a callback
        ({"volverALlamar": True}, None),  # no usable time: retry with the callback_* keys
        ({"volverALlamar": True, "horaRellamada": ""}, None),
        ({"codigoVolverLlamar": "interrupcion"}, None),
    ],
)
def test_callbacks(collected: dict[str, Any], expected: Callback | None) -> None:
    result = classify({}, call_object(4, 130, collected))
    assert result.outcome == "callback"
    assert result.callback == expected
    assert result.problems == ()


def test_unreadable_callback_time_is_a_callback_without_time_and_a_safe_problem() -> None:
    collected = {"volverALlamar": True, "horaRellamada": "llámame al 612 345 678 mañana"}
    result = classify({}, call_object(4, 130, collected))
    assert result.outcome == "callback"
    assert result.callback is None
    (problem,) = result.problems
    assert "horaRellamada" in problem
    assert "612" not in problem and "llámame" not in problem


# --------------------------------------------------------------------------- preferences


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("morning", "morning"),
        ("MORNING", "morning"),
        ("Afternoon", "afternoon"),
        ("AFTERNOON", "afternoon"),
        ("mañana", "morning"),
        ("MAÑANA", "morning"),
        ("manana", "morning"),
        ("Tarde", "afternoon"),
        (" tarde ", "afternoon"),
    ],
)
def test_preferences(value: str, expected: str) -> None:
    for status, conv in ((4, 100), (7, None), (4, 130)):
        collected = {"preferenciaMT": value, "fechaDeseada": "25-09-2025"}
        assert classify({}, call_object(status, conv, collected)).preference == expected


@pytest.mark.parametrize("value", ["evening", "noche", "", None, 1, "morning please"])
def test_unknown_preferences(value: Any) -> None:
    result = classify({}, call_object(4, 100, {"preferenciaMT": value}))
    assert result.preference is None
    assert result.outcome == "success"


def test_preferred_date() -> None:
    result = classify({}, call_object(4, 100, {"preferenciaFecha": "01/10/2025"}))
    assert result.preferred_date == date(2025, 10, 1)
    assert result.outcome == "success"  # a preferred date alone is not an appointment


# --------------------------------------------------------------------------- do-not-call


@pytest.mark.parametrize("code", ["null", "None", "N/A", "-", "ninguno", "", "   ", None, 5.5])
def test_empty_reason_codes_are_no_refusal(code: Any) -> None:
    result = classify({}, call_object(4, 100, {"codigoNoInteres": code}))
    assert result.outcome == "success"


def test_do_not_call_reason() -> None:
    collected = {"noInteresado": True, "codigoNoInteres": "no_quiere_ser_molestado"}
    result = classify({}, call_object(4, 110, collected))
    assert result.outcome == "not_interested"
    assert result.do_not_call is True
    assert decide(result).add_to_do_not_call is True
    other = classify({}, call_object(4, 110, {"codigoNoInteres": "otros"}))
    assert other.do_not_call is False and decide(other).add_to_do_not_call is False


# --------------------------------------------------------------------------- rule overrides


OVERRIDE = parse_collected_info_rules(
    """{
      "decline": ["rechazo"],
      "decline_reason": "motivo",
      "decline_reasons": {"R1": "Precio"},
      "do_not_call_reasons": ["R9"],
      "appointment": "citaNueva",
      "appointment_date": ["dia"],
      "appointment_time": ["hora"],
      "callback": ["llamarDeNuevo"],
      "callback_time": ["cuando"],
      "voicemail": ["contestador"],
      "preference": ["franja"]
    }"""
)


@pytest.mark.parametrize(
    ("collected", "default_outcome", "override_outcome"),
    [
        ({"rechazo": True}, "success", "not_interested"),
        ({"noInteresado": True}, "not_interested", "success"),
        ({"citaNueva": "14-10-2025 10:00"}, "success", "appointment"),
        ({"nuevaCita": "14-10-2025 10:00"}, "appointment", "success"),
        ({"dia": "14-10-2025", "hora": "10:00"}, "success", "appointment"),
        ({"llamarDeNuevo": True, "cuando": "17:30"}, "success", "callback"),
        ({"volverALlamar": True}, "callback", "success"),
        ({"contestador": "true"}, "success", "voicemail"),
    ],
)
def test_rule_override(
    collected: dict[str, Any], default_outcome: str, override_outcome: str
) -> None:
    response = call_object(4, 100, collected)
    assert classify({}, response).outcome == default_outcome
    assert classify({}, response, rules=OVERRIDE).outcome == override_outcome


def test_rule_override_reason_codes_and_preference() -> None:
    response = call_object(4, 110, {"motivo": "R1", "franja": "tarde"})
    result = classify({}, response, rules=OVERRIDE)
    assert (result.outcome, result.status_level_2, result.preference) == (
        "not_interested",
        "Precio",
        "afternoon",
    )
    assert classify({}, call_object(4, 110, {"motivo": "R9"}), rules=OVERRIDE).do_not_call
    # Unmapped code: the code itself is the label (cut to the column size).
    assert (
        classify({}, call_object(4, 110, {"motivo": "R2"}), rules=OVERRIDE).status_level_2 == "R2"
    )
    # Variable names also match in another case.
    assert classify({}, call_object(4, 100, {"RECHAZO": "sí"}), rules=OVERRIDE).outcome == (
        "not_interested"
    )


# --------------------------------------------------------------------------- safe problems


def test_mask_digits() -> None:
    assert mask_digits("call 612 345 678 now") == "call [digits] now"
    assert mask_digits("+34600111222") == "+[digits]"
    assert mask_digits("HH:MM 12345 ok") == "HH:MM 12345 ok"


def test_problems_never_carry_collected_text() -> None:
    collected = {
        "nuevaCita": "cita el 612345678",
        "horaDeseada": "a las 612 345 678",
        "preferenciaMT": "llamar al 600111222",
        "preferenciaFecha": "Juan 600 111 222",
    }
    result = classify({}, call_object(4, 100, collected))
    assert result.outcome == "review"
    assert result.problems
    for problem in result.problems:
        assert "612" not in problem and "600" not in problem
        assert "Juan" not in problem and "cita el" not in problem


# --------------------------------------------------------------------------- properties

_VARIABLES = st.sampled_from(
    [
        "noInteresado",
        "codigoNoInteres",
        "volverALlamar",
        "horaRellamada",
        "codigoVolverLlamar",
        "buzon",
        "nuevaCita",
        "fechaDeseada",
        "horaDeseada",
        "preferenciaMT",
        "preferenciaFecha",
        "conPack",
        "callResult",
    ]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.text(max_size=20).map(lambda text: "ZQX" + text),
    st.from_regex(r"[0-9 ]{6,20}", fullmatch=True),  # phone-like digits
    st.sampled_from(
        ["true", "sí", "1", "2025-10-14 09:50-10:10", "25-09-2025", "17:30", "MORNING", "tarde"]
    ),
    st.lists(st.text(max_size=5), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.one_of(st.none(), st.sampled_from([3, 4, 5, 6, 7, 8, 1, 99])),
    conv=st.one_of(
        st.none(), st.sampled_from([1, 10, 20, 30, 40, 70, 100, 110, 130, 150, 220, 300, 500, 42])
    ),
    collected=st.dictionaries(_VARIABLES, _VALUES, max_size=6),
    shape=st.sampled_from(["camel", "pascal", "flat"]),
    previous=st.one_of(st.none(), st.sampled_from(sorted(OUTCOMES))),
)
def test_property_every_result_has_a_safe_disposition(
    status: int | None,
    conv: int | None,
    collected: dict[str, Any],
    shape: str,
    previous: str | None,
) -> None:
    result = classify(
        SEED, call_object(status, conv, collected, shape=shape), previous_outcome=previous
    )
    if not result.final:
        assert result.outcome == "in_progress"
        return
    assert result.outcome in OUTCOMES
    disposition = decide(result)
    assert disposition.action in ALLOWED_ACTIONS[result.outcome]
    if disposition.action == "appointment":
        assert result.appointment is not None and result.appointment.fecha is not None
    if result.outcome == "review" and result.appointment is not None:
        assert result.appointment.fecha is None
    for problem in result.problems:
        assert not re.search(r"[0-9](?:[\s.\-()/]*[0-9]){5,}", problem)
    assert all("ZQX" not in p for p in result.problems)  # collected text never shows
