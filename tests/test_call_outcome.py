"""Tests for call_outcome: call classification and appointment extraction."""

from __future__ import annotations

from datetime import date, time
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from call_outcome import (
    MAX_FIELD_CHARS,
    OUTCOMES,
    Appointment,
    Outcome,
    classify_call_result,
    collected_info,
    extract_appointment,
    normalize_text,
)

SEED_CALL_RESULT = {"callResult": "no_answer", "status": "failed", "outcome": "no_answer"}
MEGABYTE = "x" * 1_000_000


def pearl(status: Any = None, conv: Any = None, **extra: Any) -> dict[str, Any]:
    """A minimal Pearl call object; None codes are left out."""
    response: dict[str, Any] = {"id": "call-1", **extra}
    if status is not None:
        response["status"] = status
    if conv is not None:
        response["conversationStatus"] = conv
    return response


def info(**values: Any) -> list[dict[str, Any]]:
    """A collectedInfo list in Pearl's {id, name, value} shape."""
    return [{"id": k, "name": k, "value": v} for k, v in values.items()]


REALISTIC_WEBHOOK: dict[str, Any] = {
    "id": "66f2a1c9e4b0a7d3c1e5f901",
    "relatedId": "lead-8812",
    "startTime": "2026-03-02T10:15:04.000Z",
    "conversationStatus": 100,
    "status": 4,
    "from": "+34910000000",
    "to": "+34600111222",
    "name": "María José Núñez",
    "duration": 187,
    "recording": "https://example.invalid/recordings/66f2a1c9.mp3",
    "summary": "El cliente estaba ocupado al principio pero aceptó una cita. No colgó.",
    "transcript": [
        {"role": 2, "content": "Hola, ¿hablo con María José?"},
        {"role": 1, "content": "Sí, dígame. Ahora estoy ocupada, sea breve."},
    ],
    "collectedInfo": [
        {"id": "nombre", "name": "Nombre", "value": "María José Núñez"},
        {"id": "fechaDeseada", "name": "Fecha deseada", "value": "15-03-2026"},
        {"id": "horaDeseada", "name": "Hora deseada", "value": "10:30"},
        {"id": "callResult", "name": "Resultado", "value": "Cita reservada"},
        {"id": "comentarios", "name": "Comentarios", "value": None},
    ],
    "tags": ["cita", "interesado"],
}


# --------------------------------------------------------------------------- normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Número no válido", "numero no valido"),
        ("numero no valido", "numero no valido"),
        ("NO_ANSWER", "no answer"),
        ("no-answer", "no answer"),
        ("  no \t\n answer  ", "no answer"),
        ("Línea  OCUPADA", "linea ocupada"),
        ("Colgó", "colgo"),
        ("BUZÓN", "buzon"),
        ("Straße", "strasse"),
        ("ﬁne", "fine"),  # NFKD compatibility ligature
        ("no\u2013answer", "no answer"),  # en dash
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("junk", [None, 5, b"busy", ["busy"]])
def test_normalize_text_rejects_non_strings(junk: Any) -> None:
    with pytest.raises(TypeError):
        normalize_text(junk)


def test_outcomes_set() -> None:
    assert {
        "busy",
        "no_answer",
        "hang_up",
        "voicemail",
        "failed",
        "unreachable",
        "invalid_phone",
        "blacklisted",
        "not_interested",
        "not_successful",
        "appointment",
        "callback",
        "review",
        "unknown",
        "success",
        "error",
        "not_placed",
    } == OUTCOMES
    assert "in_progress" not in OUTCOMES
    assert Outcome.NOT_INTERESTED == "not_interested"
    assert type(Outcome.SUCCESS) is str


# --------------------------------------------------------------------------- Pearl codes


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (3, "in_progress"),  # InProgress: not a result
        (4, "unknown"),  # Completed without a conversationStatus: reviewed, never success
        (5, "busy"),
        (6, "failed"),  # Failed: a carrier glitch the first time
        (7, "no_answer"),
        (8, "not_placed"),  # Canceled: never reached the person
        (1, "error"),  # unknown
        (999, "error"),
    ],
)
def test_each_pearl_status_alone(status: int, expected: str) -> None:
    assert classify_call_result({}, pearl(status=status)) == expected


@pytest.mark.parametrize(
    ("conv", "expected"),
    [
        (10, "hang_up"),  # NeedRetry
        (1, "in_progress"),  # New
        (20, "in_progress"),  # InCallQueue
        (30, "invalid_phone"),  # WrongCountryCode
        (40, "in_progress"),  # OnCall
        (70, "voicemail"),  # VoiceMailLeft
        (100, "success"),
        (110, "not_successful"),  # Pearl's own success criteria not met, not a refusal
        (130, "success"),
        (150, "unreachable"),  # Unreachable is not a wrong number
        (220, "blacklisted"),
        (300, "no_answer"),  # QueueAbandon
        (500, "error"),
        (0, "error"),  # unknown
        (42, "error"),
    ],
)
def test_each_conversation_status_alone(conv: int, expected: str) -> None:
    assert classify_call_result({}, pearl(conv=conv)) == expected


@pytest.mark.parametrize(
    ("status", "conv", "expected"),
    [
        ("5", None, "busy"),
        (" 7 ", None, "no_answer"),
        ("6\n", None, "failed"),
        ("4", None, "unknown"),
        (None, "220", "blacklisted"),
        (None, " 150 ", "unreachable"),
        (None, "100", "success"),
        (None, "110", "not_successful"),
        # Not integer strings / not numbers: ignored.
        (None, "100.0", "error"),
        (None, 100.0, "error"),
        ("5.0", None, "error"),
        ("five", None, "error"),
        ("+5", None, "error"),
        ("5 5", None, "error"),
        ("٥", None, "error"),  # Arabic-Indic digit five
        ("9" * 5000, None, "error"),  # would trip int()'s digit limit
        ("", "", "error"),
        ([5], {"v": 100}, "error"),
    ],
)
def test_codes_as_strings_and_junk(status: Any, conv: Any, expected: str) -> None:
    assert classify_call_result({}, pearl(status=status, conv=conv)) == expected


@pytest.mark.parametrize(
    ("status", "conv"),
    [(True, None), (False, None), (None, True), (True, True)],
)
def test_bools_are_not_codes(status: Any, conv: Any) -> None:
    # True == 1 and False == 0 are not Pearl codes anyway; make sure 'status': True does not act
    # like a number by pairing it with caller data that would otherwise be overridden.
    response = pearl(status=status, conv=conv)
    assert classify_call_result({"outcome": "busy"}, response) == "busy"
    assert classify_call_result({}, response) == "error"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, 5),
        ("5", 5),
        (" 7 ", 7),
        ("100\n", 100),
        (True, None),
        (False, None),
        ("True", None),
        (100.0, None),
        ("100.0", None),
        ("", None),
        (None, None),
        ("1_0", None),
        ("9" * 5000, None),
    ],
)
def test_code_parsing(raw: Any, expected: int | None) -> None:
    from call_outcome import _as_int

    assert _as_int(raw) == expected


# --------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("call_result", "response", "expected"),
    [
        # Pearl facts before any conversation.
        ({}, pearl(status=6, conv=220), "blacklisted"),
        ({}, pearl(status=5, conv=220), "blacklisted"),
        ({}, pearl(status=8, conv=100), "not_placed"),
        ({"outcome": "busy"}, pearl(status=8), "not_placed"),
        (
            {},
            pearl(status=8, collectedInfo=info(nuevaCita="14-10-2025")),
            "not_placed",
        ),
        # No-contact codes, internal order.
        ({}, pearl(status=6, conv=150), "failed"),
        ({}, pearl(status=5, conv=150), "unreachable"),
        ({}, pearl(status=7, conv=150), "unreachable"),
        ({}, pearl(status=7, conv=70), "voicemail"),
        ({}, pearl(status=5, conv=70), "voicemail"),
        ({}, pearl(status=7, conv=10), "no_answer"),
        ({}, pearl(status=4, conv=10), "hang_up"),
        ({}, pearl(status=4, conv=70), "voicemail"),
        ({}, pearl(status=4, conv=300), "no_answer"),
        ({}, pearl(status=4, conv=150), "unreachable"),
        ({"success": True}, pearl(status=5), "busy"),
        ({"outcome": "success"}, pearl(status=5, conv=100), "busy"),
        ({"outcome": "no interesado"}, pearl(status=7), "no_answer"),
        ({}, pearl(status=6, conv=110), "failed"),
        # Declined wording beats the conversation codes.
        (
            {},
            pearl(status=4, conv=100, collectedInfo=info(motivo="No interesado")),
            "not_interested",
        ),
        ({}, pearl(conv=100, collectedInfo=info(callResult="not_interested")), "not_interested"),
        ({"outcome": "Not interested"}, pearl(status=4, conv=110), "not_interested"),
        ({"outcome": "Not interested"}, pearl(status=4, conv=130), "not_interested"),
        ({"success": True, "callResult": "rechaza la oferta"}, pearl(status=4), "not_interested"),
        ({"outcome": "busy", "callResult": "no le interesa"}, None, "not_interested"),
        # 110 with no other signal is only Pearl's own criteria not met.
        ({"outcome": "success"}, pearl(status=4, conv=110), "not_successful"),
        # Conversation codes beat the caller's fields.
        ({"outcome": "busy"}, pearl(conv=130), "success"),
        ({"outcome": "error"}, pearl(conv=100), "success"),
        ({"outcome": "success"}, pearl(conv=500), "error"),
        ({"outcome": "success"}, pearl(status=4, conv=500), "error"),
        # A completed call without a known conversationStatus beats the caller's keywords.
        ({"outcome": "busy"}, pearl(status=4), "unknown"),
        ({"outcome": "no_answer"}, pearl(status=4), "unknown"),
        ({"outcome": "voicemail"}, pearl(status=4, conv=999), "unknown"),
        ({"outcome": "voicemail"}, pearl(conv=999), "voicemail"),
        ({"callResult": "hang_up", "success": True}, None, "hang_up"),
        ({"status": "timeout", "error_message": "wrong number"}, None, "no_answer"),
        # Caller field order: outcome, callResult, collectedInfo callResult, status.
        ({"outcome": "busy", "callResult": "no_answer", "status": "error"}, None, "busy"),
        ({"outcome": "weird", "callResult": "no_answer", "status": "error"}, None, "no_answer"),
        ({"outcome": "weird", "status": "error"}, None, "error"),
        ({"status": "completed"}, None, "success"),
        ({"callResult": "rejected"}, pearl(collectedInfo=info(callResult="busy")), "hang_up"),
        ({"callResult": "???"}, pearl(collectedInfo=info(callResult="busy")), "busy"),
        ({"status": "error"}, pearl(collectedInfo=info(callResult="busy")), "busy"),
        # A completed call with an unknown conversationStatus is never success.
        ({"success": True}, pearl(status=4), "unknown"),
        ({"success": True}, pearl(status=4, conv=42), "unknown"),
        ({"status": "failed", "error_message": "line busy"}, pearl(status=4), "unknown"),
        # The success flag beats text.
        ({"success": True, "error_message": "busy"}, None, "success"),
        ({"success": "TRUE "}, None, "success"),
        # Text phrases only when nothing else matched.
        ({"status": "failed", "error_message": "Line busy"}, None, "busy"),
        ({"status": "failed", "error_message": "Buzón lleno"}, None, "voicemail"),
        # Otherwise error.
        ({"status": "failed"}, None, "error"),
        ({}, None, "error"),
        ({}, pearl(status=1), "error"),
        ({}, pearl(conv=42), "error"),
    ],
)
def test_precedence(call_result: dict[str, Any], response: Any, expected: str) -> None:
    assert classify_call_result(call_result, response) == expected


def test_seed_example_payload() -> None:
    assert classify_call_result(SEED_CALL_RESULT) == "no_answer"
    assert classify_call_result(SEED_CALL_RESULT, None) == "no_answer"
    assert classify_call_result(SEED_CALL_RESULT, pearl(status=7)) == "no_answer"


@pytest.mark.parametrize(
    ("success", "expected"),
    [
        (True, "success"),
        ("true", "success"),
        (" True ", "success"),
        (False, "error"),
        ("false", "error"),
        (1, "error"),  # not a real bool
        ("1", "error"),
        ("yes", "error"),
        (None, "error"),
    ],
)
def test_success_flag(success: Any, expected: str) -> None:
    assert classify_call_result({"success": success, "status": "failed"}) == expected


# --------------------------------------------------------------------------- caller keywords


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("busy", "busy"),
        ("no_answer", "no_answer"),
        ("timeout", "no_answer"),
        ("hang_up", "hang_up"),
        ("rejected", "hang_up"),
        ("invalid_phone", "invalid_phone"),
        ("blacklisted", "blacklisted"),
        ("not_interested", "not_interested"),
        ("success", "success"),
        ("error", "error"),
        ("completed", "success"),
        ("successful", "success"),
    ],
)
@pytest.mark.parametrize("field", ["outcome", "callResult", "status", "collectedInfo"])
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.title, lambda s: f"  {s}\t"])
def test_caller_keywords(keyword: str, expected: str, field: str, spelling: Any) -> None:
    value = spelling(keyword)
    if field == "collectedInfo":
        result = classify_call_result({}, pearl(collectedInfo=info(callResult=value)))
    else:
        result = classify_call_result({field: value})
    assert result == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NO_ANSWER", "no_answer"),
        ("no answer", "no_answer"),
        ("no-answer", "no_answer"),
        ("No-Answer", "no_answer"),
        ("hang-up", "hang_up"),
        ("HANG UP", "hang_up"),
        ("Invalid-Phone", "invalid_phone"),
        ("not interested", "not_interested"),
    ],
)
def test_caller_keyword_separators(value: str, expected: str) -> None:
    assert classify_call_result({"outcome": value}) == expected


@pytest.mark.parametrize("status", ["failed", "FAILED", "unknown", "", "  ", "pending"])
def test_status_failed_alone_says_nothing(status: str) -> None:
    assert classify_call_result({"status": status}) == "error"
    assert classify_call_result({"status": status}, pearl(status=4)) == "unknown"


# --------------------------------------------------------------------------- declined wording


@pytest.mark.parametrize(
    "text",
    [
        "no interesado",
        "No Interesado",
        "NO INTERESADO",
        "Cliente no interesado en la oferta",
        "not interested",
        "Customer is NOT interested.",
        "not_interested",
        "NOT-INTERESTED",
        "no le interesa",
        "Dice que no le interesa, gracias",
        "rechaza",
        "Rechaza la cita",
        "RECHAZA",
    ],
)
@pytest.mark.parametrize("where", ["error_message", "callResult", "collected_callResult", "other"])
def test_declined_wording(text: str, where: str) -> None:
    if where == "collected_callResult":
        response = pearl(conv=100, collectedInfo=info(callResult=text))
        call_result: dict[str, Any] = {}
    elif where == "other":
        response = pearl(status=4, collectedInfo=info(motivo=text))
        call_result = {}
    else:
        response = pearl(status=4, conv=130)
        call_result = {where: text}
    assert classify_call_result(call_result, response) == "not_interested"


@pytest.mark.parametrize(
    "text",
    [
        "interesado",
        "muy interesado",
        "interested",
        "rechazar",  # word boundary: not the listed word
        "no interesados",
    ],
)
def test_declined_wording_needs_whole_phrase(text: str) -> None:
    assert classify_call_result({"note": text}, pearl(conv=100)) == "success"


def test_declined_wording_ignores_summary_and_transcript() -> None:
    response = pearl(
        status=4,
        conv=100,
        summary="El cliente no interesado",
        transcript="not interested, rechaza",
        tags=["not_interested"],
    )
    assert classify_call_result({}, response) == "success"


# --------------------------------------------------------------------------- text phrases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # invalid_phone
        ("invalid number", "invalid_phone"),
        ("Invalid Number dialled", "invalid_phone"),
        ("invalid_number", "invalid_phone"),
        ("número no válido", "invalid_phone"),
        ("Número no válido", "invalid_phone"),
        ("NUMERO NO VALIDO", "invalid_phone"),
        ("número incorrecto", "invalid_phone"),
        ("Numero Incorrecto", "invalid_phone"),
        ("wrong number", "invalid_phone"),
        ("WRONG-NUMBER", "invalid_phone"),
        ("fuera de servicio", "invalid_phone"),
        ("El número está FUERA DE SERVICIO", "invalid_phone"),
        ("number not in service", "invalid_phone"),
        ("Number_Not_In_Service", "invalid_phone"),
        # busy
        ("busy", "busy"),
        ("Line BUSY", "busy"),
        ("busy signal", "busy"),
        ("ocupado", "busy"),
        ("OCUPADO", "busy"),
        ("línea ocupada", "busy"),
        ("Linea Ocupada", "busy"),
        ("LÍNEA OCUPADA", "busy"),
        # no_answer
        ("no answer", "no_answer"),
        ("No Answer after 30s", "no_answer"),
        ("no contesta", "no_answer"),
        ("NO CONTESTA", "no_answer"),
        ("sin respuesta", "no_answer"),
        ("Sin Respuesta", "no_answer"),
        ("buzón", "voicemail"),
        ("Buzon de voz", "voicemail"),
        ("BUZÓN", "voicemail"),
        ("voicemail", "voicemail"),
        ("Reached VoiceMail", "voicemail"),
        ("salta el contestador", "voicemail"),
        # hang_up
        ("colgó", "hang_up"),
        ("Colgo", "hang_up"),
        ("el cliente COLGÓ", "hang_up"),
        ("hang up", "hang_up"),
        ("Hang-Up", "hang_up"),
        ("disconnect", "hang_up"),
        ("Disconnected by remote", "hang_up"),
        ("DISCONNECTED", "hang_up"),
        # Word boundaries: no match.
        ("business hours", "error"),
        ("busybox", "error"),
        ("nobusy", "error"),
        ("desocupado", "error"),
        ("disconnection", "error"),
        ("voicemails", "error"),
        ("colgone", "error"),
        ("everything fine", "error"),
    ],
)
def test_text_phrases(text: str, expected: str) -> None:
    assert classify_call_result({"status": "failed", "error_message": text}) == expected


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["busy", "invalid number"], "invalid_phone"),
        (["voicemail", "line busy"], "busy"),
        (["colgó", "sin respuesta"], "no_answer"),
        (["disconnected"], "hang_up"),
    ],
)
def test_text_phrase_order(texts: list[str], expected: str) -> None:
    call_result = {f"field{i}": t for i, t in enumerate(texts)}
    assert classify_call_result(call_result) == expected


def test_text_phrases_in_collected_info() -> None:
    response = pearl(collectedInfo=info(nota="Número fuera de servicio"))
    assert classify_call_result({}, response) == "invalid_phone"
    flat = pearl(collectedInfo={"nota": "Buzón de voz"})
    assert classify_call_result({}, flat) == "voicemail"


def test_text_phrases_ignore_summary_transcript_and_tags() -> None:
    response = pearl(
        summary="Line busy, no answer, wrong number",
        transcript=[{"content": "colgó"}],
        tags=["busy"],
        to="busy",
    )
    assert classify_call_result({}, response) == "error"


def test_text_only_examines_first_chars_of_a_field() -> None:
    late = "x " * MAX_FIELD_CHARS + "busy"
    assert classify_call_result({"error_message": late}) == "error"
    early = "busy " + MEGABYTE
    assert classify_call_result({"error_message": early}) == "busy"


def test_non_string_values_are_not_text() -> None:
    call_result = {
        "error_message": ["busy"],
        "details": {"reason": "wrong number"},
        "n": 5,
        "b": True,
    }
    assert classify_call_result(call_result) == "error"


# --------------------------------------------------------------------------- junk inputs


@pytest.mark.parametrize(
    "call_result",
    [None, [], "busy", 5, ("outcome", "busy"), b"{}"],
)
def test_call_result_must_be_mapping(call_result: Any) -> None:
    with pytest.raises(TypeError):
        classify_call_result(call_result)
    with pytest.raises(TypeError):
        extract_appointment(call_result, None)


@pytest.mark.parametrize("response", [[], "resp", 5, False, [("status", 5)]])
def test_pearl_response_must_be_mapping_or_none(response: Any) -> None:
    with pytest.raises(TypeError):
        classify_call_result({}, response)
    with pytest.raises(TypeError):
        extract_appointment({}, response)
    with pytest.raises(TypeError):
        collected_info(response)


def test_other_mapping_types_accepted() -> None:
    call_result = MappingProxyType({"outcome": "busy"})
    response = MappingProxyType({"id": "call-1", "status": "2"})
    assert classify_call_result(call_result, response) == "busy"
    assert classify_call_result(call_result, MappingProxyType({"status": "4"})) == "unknown"


@pytest.mark.parametrize(
    "collected",
    [
        None,
        "busy",
        5,
        True,
        [None, 5, "busy", ["busy"], {"no": "id"}],
        [{"id": None, "name": None, "value": "busy"}],
        [{"id": ["x"], "value": "busy"}],
        {},
        [],
    ],
)
def test_junk_collected_info(collected: Any) -> None:
    response = pearl(collectedInfo=collected)
    assert classify_call_result({}, response) == "error"
    assert extract_appointment({}, response) is None


def test_junk_everywhere_never_crashes() -> None:
    call_result = {
        "outcome": None,
        "callResult": {"nested": ["busy"]},
        "status": ["failed"],
        "success": None,
        "error_message": MEGABYTE,
        "duration": "∞",
        "call_id": None,
        None: "key is None",
        5: "int key",
        "emoji": "📞🙅\u0000\u202e",
    }
    response = {
        "id": None,
        "status": None,
        "conversationStatus": {"x": 1},
        "collectedInfo": [{"id": "a", "value": MEGABYTE}, {"id": "b", "value": [[[{}]]]}],
        "summary": MEGABYTE,
    }
    assert classify_call_result(call_result, response) == "error"
    assert extract_appointment(call_result, response) is None


def test_one_megabyte_string_fields() -> None:
    assert classify_call_result({"outcome": MEGABYTE, "error_message": MEGABYTE}) == "error"
    response = pearl(collectedInfo=info(fechaDeseada=MEGABYTE, horaDeseada=MEGABYTE))
    appt = extract_appointment({}, response)
    assert appt is not None
    assert appt.fecha is None and appt.hora is None
    assert len(appt.problems) == 2
    assert all(len(p) < 120 for p in appt.problems)


# --------------------------------------------------------------------------- collected_info


@pytest.mark.parametrize(
    ("collected", "expected"),
    [
        (info(a=1, b="x"), {"a": 1, "b": "x"}),
        ([{"name": "Nombre", "value": "Ana"}], {"Nombre": "Ana"}),
        ([{"id": "", "name": "Nombre", "value": "Ana"}], {"Nombre": "Ana"}),
        ([{"id": "nombre", "name": "Nombre", "value": "Ana"}], {"nombre": "Ana"}),
        ([{"id": " fecha ", "value": "x"}], {"fecha": "x"}),
        ([{"id": 7, "value": "x"}], {"7": "x"}),
        ([{"id": True, "value": "x"}], {}),
        ([{"id": "a"}], {"a": None}),
        ([{"id": "a", "value": 1}, {"id": "a", "value": 2}], {"a": 1}),
        ({"a": 1, "b": None}, {"a": 1, "b": None}),
        ({"a": 1, None: 2, ("t",): 3}, {"a": 1}),
        (("tuple", "junk"), {}),
        ([1, "x", None, {"value": "no key"}], {}),
        (None, {}),
        ("string", {}),
    ],
)
def test_collected_info(collected: Any, expected: dict[str, Any]) -> None:
    assert collected_info(pearl(collectedInfo=collected)) == expected


def test_collected_info_missing_or_none() -> None:
    assert collected_info(None) == {}
    assert collected_info({}) == {}


# --------------------------------------------------------------------------- appointments


def test_realistic_webhook() -> None:
    call_result = {"callResult": "completed", "status": "completed", "call_id": "66f2a1c9"}
    assert classify_call_result(call_result, REALISTIC_WEBHOOK) == "appointment"
    assert classify_call_result({}, REALISTIC_WEBHOOK) == "appointment"
    appt = extract_appointment(call_result, REALISTIC_WEBHOOK)
    assert appt == Appointment(
        fecha=date(2026, 3, 15), hora=time(10, 30), confirmed=True, problems=()
    )


def test_appointment_is_frozen() -> None:
    appt = Appointment(fecha=None, hora=None, confirmed=False, problems=())
    with pytest.raises(AttributeError):
        appt.confirmed = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15-03-2026", date(2026, 3, 15)),
        ("15/03/2026", date(2026, 3, 15)),
        ("2026-03-15", date(2026, 3, 15)),
        ("5-3-2026", date(2026, 3, 5)),
        ("05/3/2026", date(2026, 3, 5)),
        ("2026-3-5", date(2026, 3, 5)),
        (" 29-02-2028 ", date(2028, 2, 29)),  # leap year
        ("31-12-2026", date(2026, 12, 31)),
        ("01-01-2027", date(2027, 1, 1)),
    ],
)
def test_valid_dates(raw: str, expected: date) -> None:
    appt = extract_appointment({}, pearl(collectedInfo=info(fechaDeseada=raw)))
    assert appt is not None
    assert appt.fecha == expected
    assert appt.problems == ()


@pytest.mark.parametrize(
    "raw",
    [
        "31-02-2026",
        "29-02-2027",
        "00-01-2026",
        "15-13-2026",
        "2026-02-30",
        "32/01/2026",
        "01-01-0000",
        "15.03.2026",
        "2026/03/15",
        "15-03-26",
        "mañana",
        "15 de marzo",
        "١٥-٠٣-٢٠٢٦",  # Arabic-Indic digits
        "15-03-2026" + " " * 80 + "junk",
        20260315,
        15.03,
        True,
        ["15-03-2026"],
        {"d": 15},
    ],
)
def test_invalid_dates_are_problems(raw: Any) -> None:
    """Unreadable dates are problems that never show the collected text."""
    response = pearl(collectedInfo=info(fechaDeseada=raw, horaDeseada="10:00"))
    appt = extract_appointment({"callResult": "Cita reservada"}, response)
    assert appt is not None
    assert appt.fecha is None
    assert appt.hora == time(10, 0)  # the rest still applies
    assert appt.confirmed is True
    assert len(appt.problems) == 1
    assert "fechaDeseada" in appt.problems[0]
    if isinstance(raw, str) and raw.strip():
        assert raw.strip() not in appt.problems[0]


@pytest.mark.parametrize(
    ("raw", "expected_date", "expected_time"),
    [
        ("2026-03-15T10:00:00", date(2026, 3, 15), time(10, 0)),
        ("15-03-2026 10:30", date(2026, 3, 15), time(10, 30)),
        ("15/03/2026 10:30-11:00", date(2026, 3, 15), time(10, 30)),
    ],
)
def test_date_with_time_in_fecha_deseada(
    raw: str, expected_date: date, expected_time: time
) -> None:
    """A time inside fechaDeseada wins over horaDeseada (it came with the date)."""
    response = pearl(collectedInfo=info(fechaDeseada=raw, horaDeseada="18:00"))
    appt = extract_appointment({}, response)
    assert appt is not None
    assert (appt.fecha, appt.hora, appt.problems) == (expected_date, expected_time, ())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10:30", time(10, 30)),
        ("09:05", time(9, 5)),
        ("9:05", time(9, 5)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("23:59:59", time(23, 59, 59)),
        ("10:30:15", time(10, 30, 15)),
        (" 17:45 ", time(17, 45)),
    ],
)
def test_valid_times(raw: str, expected: time) -> None:
    appt = extract_appointment(
        {}, pearl(collectedInfo=info(fechaDeseada="15-03-2026", horaDeseada=raw))
    )
    assert appt is not None
    assert appt.hora == expected
    assert appt.problems == ()


@pytest.mark.parametrize(
    "raw",
    [
        "24:00",
        "25:30",
        "10:60",
        "10:30:60",
        "10:5",
        "10.30",
        "1030",
        "10:30 PM",
        "10h30",
        "por la mañana",
        "10:30-25:00",
        1030,
        10.5,
        False,
        ["10:30"],
    ],
)
def test_invalid_times_are_problems(raw: Any) -> None:
    response = pearl(collectedInfo=info(fechaDeseada="15-03-2026", horaDeseada=raw))
    appt = extract_appointment({}, response)
    assert appt is not None
    assert appt.fecha == date(2026, 3, 15)  # the rest still applies
    assert appt.hora is None
    assert len(appt.problems) == 1
    assert "horaDeseada" in appt.problems[0]


def test_both_invalid() -> None:
    response = pearl(collectedInfo=info(fechaDeseada="31-02-2026", horaDeseada="99:99"))
    appt = extract_appointment({}, response)
    assert appt is not None
    assert (appt.fecha, appt.hora) == (None, None)
    assert len(appt.problems) == 2


def test_problem_text_is_truncated() -> None:
    huge = "31-02-2026" + "z" * 5000
    appt = extract_appointment({}, pearl(collectedInfo=info(fechaDeseada=huge)))
    assert appt is not None
    (problem,) = appt.problems
    assert len(problem) < 120
    assert "z" * 50 not in problem


@pytest.mark.parametrize(
    ("call_result", "collected", "expected_fecha"),
    [
        ({}, {}, None),
        ({}, {"fechaDeseada": None}, None),
        ({}, {"fechaDeseada": "   "}, None),
        ({"fechaDeseada": ""}, {}, None),
        ({}, {"horaDeseada": "10:00"}, None),  # a time alone is no appointment
        ({"fechaDeseada": "15-03-2026"}, {}, date(2026, 3, 15)),
        ({"fechaDeseada": "15-03-2026"}, {"fechaDeseada": None}, date(2026, 3, 15)),
        ({"fechaDeseada": "16-03-2026"}, {"fechaDeseada": "15-03-2026"}, date(2026, 3, 15)),
    ],
)
def test_appointment_presence(
    call_result: dict[str, Any], collected: dict[str, Any], expected_fecha: date | None
) -> None:
    appt = extract_appointment(call_result, pearl(collectedInfo=info(**collected)))
    if expected_fecha is None:
        assert appt is None
    else:
        assert appt is not None
        assert appt.fecha == expected_fecha


def test_appointment_without_pearl_response() -> None:
    appt = extract_appointment({"fechaDeseada": "2026-03-15", "horaDeseada": "10:00:00"}, None)
    assert appt == Appointment(date(2026, 3, 15), time(10, 0), confirmed=False, problems=())
    assert extract_appointment({}, None) is None


def test_missing_time_is_none_without_problem() -> None:
    appt = extract_appointment({}, pearl(collectedInfo=info(fechaDeseada="15-03-2026")))
    assert appt == Appointment(date(2026, 3, 15), None, confirmed=False, problems=())


@pytest.mark.parametrize(
    ("call_result", "collected_call_result", "expected"),
    [
        ({"callResult": "cita reservada"}, None, True),
        ({"callResult": "Cita Reservada"}, None, True),
        ({"callResult": "CITA_RESERVADA"}, None, True),
        ({"callResult": "Cíta  reservadá para el lunes"}, None, True),
        ({}, "Cita reservada", True),
        ({"callResult": "no_answer"}, "cita reservada", True),
        ({"callResult": "cita"}, None, False),
        ({"callResult": "reservada"}, None, False),
        ({"callResult": "cita pendiente"}, None, False),
        ({"callResult": ["cita reservada"]}, None, False),
        ({"outcome": "cita reservada"}, None, False),  # only callResult counts
        ({}, None, False),
    ],
)
def test_confirmed(
    call_result: dict[str, Any], collected_call_result: str | None, expected: bool
) -> None:
    values: dict[str, Any] = {"fechaDeseada": "15-03-2026"}
    if collected_call_result is not None:
        values["callResult"] = collected_call_result
    appt = extract_appointment(call_result, pearl(collectedInfo=info(**values)))
    assert appt is not None
    assert appt.confirmed is expected


def test_appointment_from_flat_collected_info() -> None:
    response = pearl(
        collectedInfo={"fechaDeseada": "15/03/2026", "horaDeseada": "18:00", "callResult": "x"}
    )
    appt = extract_appointment({}, response)
    assert appt == Appointment(date(2026, 3, 15), time(18, 0), confirmed=False, problems=())


# --------------------------------------------------------------------------- properties

_KEYS = st.sampled_from(
    [
        "outcome",
        "callResult",
        "status",
        "success",
        "error_message",
        "duration",
        "call_id",
        "fechaDeseada",
        "horaDeseada",
        "conversationStatus",
        "collectedInfo",
        "id",
        "name",
        "value",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([3, 4, 5, 6, 7, 8, 10, 20, 70, 100, 110, 130, 150, 220, 300, 500]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        ["busy", "no_answer", "Cita reservada", "15-03-2026", "10:30", " 5 ", "true", "rechaza"]
    ),
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=10)), children, max_size=5),
    ),
    max_leaves=20,
)
_MAPPINGS = st.dictionaries(st.one_of(_KEYS, st.text(max_size=10)), _JSON, max_size=8)
_COLLECTED = st.lists(
    st.one_of(
        st.fixed_dictionaries({"id": _JSON, "name": _JSON, "value": _JSON}),
        _JSON,
    ),
    max_size=5,
)
_PEARL = st.one_of(
    st.none(),
    _MAPPINGS,
    st.builds(
        lambda base, status, conv, collected: {
            **base,
            "status": status,
            "conversationStatus": conv,
            "collectedInfo": collected,
        },
        _MAPPINGS,
        _SCALARS,
        _SCALARS,
        st.one_of(_COLLECTED, _JSON),
    ),
)


@settings(max_examples=300, deadline=None)
@given(call_result=_MAPPINGS, pearl_response=_PEARL)
def test_property_never_raises(call_result: dict[Any, Any], pearl_response: Any) -> None:
    assert classify_call_result(call_result, pearl_response) in OUTCOMES | {"in_progress"}
    appt = extract_appointment(call_result, pearl_response)
    assert appt is None or isinstance(appt, Appointment)
    if appt is not None:
        assert all(isinstance(p, str) and len(p) < 200 for p in appt.problems)
    assert isinstance(collected_info(pearl_response), dict)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_property_normalize_text_idempotent(s: str) -> None:
    once = normalize_text(s)
    assert normalize_text(once) == once
    assert once == once.strip()
    assert "_" not in once and "-" not in once and "  " not in once
