"""enhanced_process_call_result and friends against the real database."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

import db
from call_manager_scheduler_integration import (
    close_lead_with_reason,
    enhanced_process_call_result,
    get_scheduler_integration_stats,
    process_call_result,
)
from reprogramar_llamadas_simple import LeadNotFoundError, schedule_call
from tests.helpers import lead, make_lead, schedules, set_config, sql, tables_checksum, utc

pytestmark = pytest.mark.usefixtures("clean_db")

TUESDAY_MORNING = utc(2026, 11, 24, 10, 0)  # 11:00 in Madrid
SEED_PAYLOAD = {"callResult": "no_answer", "status": "failed", "outcome": "no_answer"}


@pytest.fixture(autouse=True)
def at_tuesday_morning():
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        yield


def pearl_call(call_id: str = "6650f1a2b3c4d5e6f7a8b9c0", **fields) -> dict:
    """A Pearl call object as the Get Call endpoint and the webhook send it."""
    return {
        "id": call_id,
        "relatedId": "lead-ext-1",
        "startTime": "2026-11-24T10:00:05Z",
        "conversationStatus": 100,
        "status": 4,
        "from": "+34910000000",
        "to": "+34612345678",
        "name": "Ana",
        "duration": 93,
        "summary": "The customer agreed to a visit.",
        "transcript": [{"role": 2, "content": "Hola", "startTime": 0, "endTime": 1}],
        "collectedInfo": [],
        "tags": [],
        **fields,
    }


def pearl_calls(lead_id: int) -> list[dict]:
    return sql("SELECT * FROM pearl_calls WHERE lead_id = %s ORDER BY id", (lead_id,))


def test_seed_example_payload_reschedules():
    lead_id = make_lead()
    result = enhanced_process_call_result(lead_id, SEED_PAYLOAD)
    assert (result.outcome, result.action, result.attempts) == ("no_answer", "rescheduled", 1)
    assert result.scheduled_at == utc(2026, 11, 24, 14, 0)
    assert lead(lead_id)["call_attempts_count"] == 1
    [pending] = schedules(lead_id, "pending")
    assert pending["attempt_number"] == 2
    [call] = pearl_calls(lead_id)
    assert call["state"] == "completed" and call["outcome"] == "no_answer"


@pytest.mark.parametrize(
    ("pearl", "outcome"),
    [
        ({"status": 5}, "busy"),
        ({"status": 7}, "no_answer"),
        ({"conversationStatus": 10}, "hang_up"),
    ],
)
def test_retry_outcomes_reschedule(pearl, outcome):
    lead_id = make_lead()
    result = enhanced_process_call_result(
        lead_id, {}, pearl_call(**{"conversationStatus": None, "status": None, **pearl})
    )
    assert result.outcome == outcome and result.action == "rescheduled"


def test_error_is_retried_with_its_own_keys_and_keeps_the_message():
    set_config("error_delay_hours", "1")
    set_config("error_max_attempts", "5")
    lead_id = make_lead(call_attempts_count=3)  # past default_max_attempts, within error's 5
    result = enhanced_process_call_result(
        lead_id, {"outcome": "error", "error_message": "SIP 503 from carrier"}
    )
    assert (result.outcome, result.action) == ("error", "rescheduled")
    assert result.scheduled_at == utc(2026, 11, 24, 11, 0)
    row = lead(lead_id)
    assert row["call_error_message"] == "SIP 503 from carrier" and row["call_status"] == "error"
    assert row["lead_status"] == "open"


@pytest.mark.parametrize(
    ("call_result", "pearl", "reason", "call_status"),
    [
        ({"callResult": "Número no válido"}, None, "Teléfono erróneo", "error"),
        ({}, {"conversationStatus": 220}, "Lista negra", "error"),
        (
            {},
            {"collectedInfo": [{"id": "noInteresado", "value": True}]},
            "No interesado",
            "completed",
        ),
        (
            {"callResult": "El cliente no está interesado, no le interesa"},
            None,
            "No interesado",
            "completed",
        ),
    ],
)
def test_closing_outcomes(call_result, pearl, reason, call_status):
    lead_id = make_lead(selected_for_calling=True)
    schedule_call(lead_id)
    result = enhanced_process_call_result(lead_id, call_result, pearl)
    assert result.action == "closed" and result.closure_reason == reason
    row = lead(lead_id)
    assert row["lead_status"] == "closed" and row["closure_reason"] == reason
    assert row["call_status"] == call_status and row["call_attempts_count"] == 1
    assert row["closed_at"] == TUESDAY_MORNING.replace(tzinfo=None)
    assert row["selected_for_calling"] == 0
    assert schedules(lead_id, "pending") == []


def test_full_webhook_with_appointment_closes_with_cita():
    lead_id = make_lead()
    payload = pearl_call(
        collectedInfo=[
            {"id": "fechaDeseada", "name": "Fecha deseada", "value": "03/12/2026"},
            {"id": "horaDeseada", "name": "Hora deseada", "value": "17:30"},
            {"id": "callResult", "name": "Resultado", "value": "Cita reservada"},
        ]
    )
    result = enhanced_process_call_result(lead_id, {"success": True}, payload)
    assert result.outcome == "appointment" and result.action == "closed"
    assert result.closure_reason == "Cita agendada"
    row = lead(lead_id)
    assert row["cita"] == date(2026, 12, 3) and row["hora_cita"] == timedelta(hours=17, minutes=30)
    assert row["status_level_1"] == "Cita Agendada"
    assert row["resultado_llamada"] == "Cita confirmada"
    assert row["call_status"] == "completed" and row["lead_status"] == "closed"
    assert row["closure_reason"] == "Cita agendada"
    [call] = pearl_calls(lead_id)
    assert call["call_id"] == payload["id"] and call["pearl_status"] == 4
    assert call["conversation_status"] == 100 and "fechaDeseada" in call["raw_response"]


def test_unreadable_appointment_date_goes_to_review_never_closed(caplog):
    lead_id = make_lead()
    payload = pearl_call(
        collectedInfo=[
            {"id": "fechaDeseada", "value": "31-02-2026"},
            {"id": "horaDeseada", "value": "09:15:00"},
        ]
    )
    result = enhanced_process_call_result(lead_id, {}, payload)
    assert (result.outcome, result.action, result.closure_reason) == ("review", "review", None)
    row = lead(lead_id)
    assert row["lead_status"] == "open" and row["manual_management"] == 1
    assert row["status_level_1"] == "Cita Manual" and row["cita"] is None
    assert row["call_attempts_count"] == 1 and schedules(lead_id, "pending") == []
    assert "fechaDeseada" in caplog.text


def test_pearl_failed_once_is_retried_twice_is_a_wrong_number():
    lead_id = make_lead()
    first = enhanced_process_call_result(lead_id, {}, pearl_call("f-1", status=6))
    assert (first.outcome, first.action) == ("failed", "rescheduled")
    second = enhanced_process_call_result(lead_id, {}, pearl_call("f-2", status=6))
    assert (second.outcome, second.closure_reason) == ("invalid_phone", "Teléfono erróneo")


@pytest.mark.parametrize(
    ("pearl", "outcome"),
    [({"conversationStatus": 150}, "unreachable"), ({"conversationStatus": 70}, "voicemail")],
)
def test_unreachable_and_voicemail_are_retried(pearl, outcome):
    lead_id = make_lead()
    result = enhanced_process_call_result(lead_id, {}, pearl_call(**pearl))
    assert (result.outcome, result.action) == (outcome, "rescheduled")
    assert lead(lead_id)["lead_status"] == "open"


def test_not_successful_goes_to_review_not_closed():
    lead_id = make_lead()
    result = enhanced_process_call_result(lead_id, {}, pearl_call(conversationStatus=110))
    assert (result.outcome, result.action) == ("not_successful", "review")
    row = lead(lead_id)
    assert row["lead_status"] == "open" and row["manual_management"] == 1


def test_canceled_call_counts_no_attempt_and_returns_to_pending():
    lead_id = make_lead()
    result = enhanced_process_call_result(lead_id, {}, pearl_call(status=8))
    assert (result.outcome, result.action) == ("not_placed", "not_placed")
    assert lead(lead_id)["call_attempts_count"] == 0
    [call] = pearl_calls(lead_id)
    assert call["state"] == "not_placed"
    assert schedules(lead_id, "pending")[0]["scheduled_at"] == datetime(2026, 11, 24, 10, 30)


def test_callback_at_the_time_the_person_asked_for():
    set_config("default_max_attempts", "1")  # honoured even at the maximum, once
    lead_id = make_lead()
    asked = [{"id": "volverALlamar", "value": True}, {"id": "horaRellamada", "value": "17:30"}]
    result = enhanced_process_call_result(lead_id, {}, pearl_call("cb-1", collectedInfo=asked))
    assert (result.outcome, result.action) == ("callback", "callback")
    assert result.scheduled_at == utc(2026, 11, 24, 16, 30)  # 17:30 Madrid today
    again = enhanced_process_call_result(lead_id, {}, pearl_call("cb-2", collectedInfo=asked))
    assert again.closure_reason == "Máximo intentos alcanzado"  # not twice beyond the maximum


def test_a_refusal_with_do_not_call_reason_lists_the_number():
    lead_id = make_lead(telefono="+34612000777")
    info = [{"id": "noInteresado", "value": True},
            {"id": "codigoNoInteres", "value": "no_quiere_ser_molestado"}]  # fmt: skip
    result = enhanced_process_call_result(lead_id, {}, pearl_call(collectedInfo=info))
    assert result.closure_reason == "No interesado"
    assert sql("SELECT telefono FROM do_not_call") == [{"telefono": "+34612000777"}]


def test_time_of_day_preference_is_kept_and_honoured():
    lead_id = make_lead()
    info = [{"id": "preferenciaMT", "value": "AFTERNOON"}]
    result = enhanced_process_call_result(lead_id, {}, pearl_call(status=7, collectedInfo=info))
    assert lead(lead_id)["preferencia_horario"] == "afternoon"
    local = result.scheduled_at.astimezone(ZoneInfo("Europe/Madrid"))
    assert local.hour >= 15


def test_success_without_appointment_goes_to_review_with_nothing_scheduled():
    lead_id = make_lead()
    schedule_call(lead_id)
    result = enhanced_process_call_result(lead_id, {}, pearl_call())
    assert (result.outcome, result.action, result.cancelled) == ("success", "review", 1)
    row = lead(lead_id)
    assert row["lead_status"] == "open" and row["call_status"] == "completed"
    assert row["manual_management"] == 1  # never stranded: a person decides
    assert row["call_attempts_count"] == 1
    assert schedules(lead_id, "pending") == []
    assert schedules(lead_id, "cancelled")[0]["cancel_reason"] == "Call result processed: success"


def test_declined_wording_beats_success_code():
    lead_id = make_lead()
    payload = pearl_call(collectedInfo=[{"id": "callResult", "value": "No interesado"}])
    assert enhanced_process_call_result(lead_id, {}, payload).closure_reason == "No interesado"


def test_pending_schedules_are_cancelled_before_processing():
    lead_id = make_lead()
    schedule_call(lead_id, datetime(2026, 11, 30, 12, 0))
    first = schedules(lead_id, "pending")[0]
    result = enhanced_process_call_result(lead_id, {"outcome": "busy"})
    assert result.cancelled == 1
    assert schedules(lead_id)[0]["id"] == first["id"]
    assert schedules(lead_id)[0]["status"] == "cancelled"
    [pending] = schedules(lead_id, "pending")
    assert pending["id"] != first["id"] and pending["last_outcome"] == "busy"


def test_max_attempts_reached_through_results_closes():
    lead_id = make_lead()
    actions = [enhanced_process_call_result(lead_id, {"outcome": "busy"}).action for _ in range(3)]
    assert actions == ["rescheduled", "rescheduled", "closed"]
    assert lead(lead_id)["closure_reason"] == "Máximo intentos alcanzado"


def test_duplicate_delivery_counts_once():
    lead_id = make_lead()
    payload = pearl_call(status=5, conversationStatus=None)
    results = [enhanced_process_call_result(lead_id, {}, payload) for _ in range(5)]
    assert [r.action for r in results] == ["rescheduled"] + ["duplicate"] * 4
    assert all(r.outcome == "busy" for r in results)
    assert lead(lead_id)["call_attempts_count"] == 1
    assert len(pearl_calls(lead_id)) == 1
    assert len(schedules(lead_id)) == 1


def test_result_completes_the_dispatchers_in_flight_row():
    lead_id = make_lead()
    sql(
        "INSERT INTO pearl_calls (lead_id, request_id, state, claimed_at) "
        "VALUES (%s, %s, 'placed', %s)",
        (lead_id, "req-42", datetime(2026, 11, 24, 9, 55)),
    )
    payload = pearl_call("call-42", status=7, conversationStatus=None)
    first = enhanced_process_call_result(lead_id, {"request_id": "req-42"}, payload)
    [row] = pearl_calls(lead_id)
    assert first.pearl_call_row_id == row["id"]
    assert (row["state"], row["call_id"], row["request_id"], row["outcome"]) == (
        "completed", "call-42", "req-42", "no_answer",
    )  # fmt: skip
    # The webhook for the same call arrives later, with the call id only.
    again = enhanced_process_call_result(lead_id, {}, payload)
    assert again.action == "duplicate"
    assert len(pearl_calls(lead_id)) == 1 and lead(lead_id)["call_attempts_count"] == 1


def test_row_id_matches_a_call_without_ids():
    lead_id = make_lead()
    sql("INSERT INTO pearl_calls (lead_id, state) VALUES (%s, 'claimed')", (lead_id,))
    [row] = pearl_calls(lead_id)
    result = process_call_result(lead_id, {"outcome": "error"}, row_id=row["id"])
    assert result.pearl_call_row_id == row["id"]
    assert len(pearl_calls(lead_id)) == 1


def test_call_of_another_lead_is_refused_and_writes_nothing():
    owner, other = make_lead(), make_lead()
    enhanced_process_call_result(owner, {}, pearl_call("call-x", status=5))
    before = tables_checksum()
    with pytest.raises(ValueError, match="belongs to lead"):
        enhanced_process_call_result(other, {}, pearl_call("call-x", status=5))
    assert tables_checksum() == before


def test_closed_lead_result_is_recorded_and_ignored():
    lead_id = make_lead(lead_status="closed", closure_reason="No interesado", call_attempts_count=2)
    result = enhanced_process_call_result(
        lead_id, {}, pearl_call(status=5, conversationStatus=None)
    )
    assert result.action == "ignored" and result.outcome == "busy"
    row = lead(lead_id)
    assert row["call_attempts_count"] == 3  # the call happened: it counts, nothing else
    assert row["closure_reason"] == "No interesado" and row["call_status"] == "no_selected"
    assert len(pearl_calls(lead_id)) == 1


def test_manual_management_records_the_attempt_only():
    lead_id = make_lead(manual_management=True)
    result = enhanced_process_call_result(lead_id, {"outcome": "no_answer"})
    assert result.action == "recorded" and result.attempts == 1
    assert schedules(lead_id, "pending") == [] and lead(lead_id)["lead_status"] == "open"


def test_two_results_for_one_lead_at_once_serialise():
    set_config("default_max_attempts", "1000")
    lead_id = make_lead()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def deliver(outcome: str) -> None:
        try:
            barrier.wait()
            for i in range(15):
                results.append(
                    enhanced_process_call_result(
                        lead_id, {"outcome": outcome, "call_id": f"{outcome}-{i}"}
                    )
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close_connection()

    threads = [threading.Thread(target=deliver, args=(o,)) for o in ("busy", "no_answer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.attempts for r in results) == list(range(1, 31))
    assert lead(lead_id)["call_attempts_count"] == 30
    assert len(schedules(lead_id, "pending")) == 1
    assert len(pearl_calls(lead_id)) == 30


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((0, {}), ValueError),
        ((True, {}), ValueError),
        (("12", {}), ValueError),
        ((None, {}), ValueError),
        ((1, None), TypeError),
        ((1, "no_answer"), TypeError),
        ((1, [("outcome", "busy")]), TypeError),
        ((1, {}, ["status", 5]), TypeError),
        ((1, {}, "{'status': 5}"), TypeError),
    ],
)
def test_bad_arguments_write_nothing(args, error):
    make_lead()
    before = tables_checksum()
    with pytest.raises(error):
        enhanced_process_call_result(*args)
    assert tables_checksum() == before


def test_unknown_lead_writes_nothing():
    before = tables_checksum()
    with pytest.raises(LeadNotFoundError):
        enhanced_process_call_result(999_999, SEED_PAYLOAD)
    assert tables_checksum() == before


def test_junk_payload_is_handled_and_cut_to_column_sizes():
    lead_id = make_lead()
    circular: dict = {"a": 1}
    circular["self"] = circular
    junk = {
        "callResult": "ocupado " + "x" * 2_000_000,
        "error_message": "é" * 5000,
        "call_id": "c" * 500,
        "nested": [{"deep": [[[None, float("nan"), float("inf")]]]}],
        "circular": circular,
        "success": "maybe",
    }
    result = enhanced_process_call_result(
        lead_id, junk, {"status": "5", "conversationStatus": 10**30}
    )
    assert result.outcome == "busy"
    [call] = pearl_calls(lead_id)
    assert call["call_id"] == "c" * 64
    assert call["pearl_status"] == 5 and call["conversation_status"] is None
    assert len(call["error_message"]) == 500
    assert len(call["raw_response"]) <= 1_000_000


def test_sql_text_in_payload_is_stored_as_data():
    lead_id = make_lead()
    evil = "x'); DROP TABLE leads; --"
    enhanced_process_call_result(
        lead_id, {"outcome": "busy", "call_id": evil, "error_message": evil}
    )
    assert pearl_calls(lead_id)[0]["call_id"] == evil
    assert lead(lead_id)["id"] == lead_id


# --- close_lead_with_reason and stats -----------------------------------------------------


def test_close_lead_with_reason_is_idempotent():
    lead_id = make_lead()
    schedule_call(lead_id)
    assert close_lead_with_reason(lead_id, "Cliente pidió no llamar") is True
    assert close_lead_with_reason(lead_id, "otra razón") is False
    row = lead(lead_id)
    assert row["closure_reason"] == "Cliente pidió no llamar" and row["lead_status"] == "closed"
    assert schedules(lead_id, "pending") == []
    with pytest.raises(ValueError):
        close_lead_with_reason(lead_id, "")
    with pytest.raises(LeadNotFoundError):
        close_lead_with_reason(123_456, "x")


def test_integration_stats():
    a, b, c = make_lead(), make_lead(), make_lead()
    schedule_call(a)  # now: due
    schedule_call(b, datetime(2026, 11, 24, 18, 0))  # later today (local)
    schedule_call(c, datetime(2026, 11, 26, 12, 0))  # another day
    closed = make_lead()
    close_lead_with_reason(closed, "x")
    sql("UPDATE leads SET closed_at = %s WHERE id = %s", (datetime(2026, 11, 20), make_lead()))
    stats = get_scheduler_integration_stats()
    assert stats == {"scheduled_today": 2, "due_now": 1, "closed_last_24h": 1}


def test_appointment_without_time_keeps_hora_cita_empty():
    lead_id = make_lead()
    payload = pearl_call(collectedInfo=[{"id": "fechaDeseada", "value": "2026-12-01"}])
    enhanced_process_call_result(lead_id, {}, payload)
    row = lead(lead_id)
    assert row["cita"] == date(2026, 12, 1) and row["hora_cita"] is None
    assert row["resultado_llamada"] is None and row["closure_reason"] == "Cita agendada"


def test_webhook_before_dispatcher_poll_leaves_one_row_and_one_attempt():
    lead_id = make_lead()
    sql(
        "INSERT INTO pearl_calls (lead_id, request_id, state) VALUES (%s, 'req-7', 'placed')",
        (lead_id,),
    )
    in_flight = pearl_calls(lead_id)[0]["id"]
    payload = pearl_call("call-7", status=5, conversationStatus=None)
    assert enhanced_process_call_result(lead_id, {}, payload).action == "rescheduled"
    polled = process_call_result(lead_id, {"request_id": "req-7"}, payload, row_id=in_flight)
    assert polled.action == "duplicate"
    [row] = pearl_calls(lead_id)
    assert row["call_id"] == "call-7" and row["outcome"] == "busy"
    assert lead(lead_id)["call_attempts_count"] == 1


def placed_rows(lead_id: int, *request_ids: str) -> list[int]:
    """pearl_calls rows of calls placed in this order (call order = row id order)."""
    for request_id in request_ids:
        sql(
            "INSERT INTO pearl_calls (lead_id, request_id, state) VALUES (%s, %s, 'placed')",
            (lead_id, request_id),
        )
    return [r["id"] for r in pearl_calls(lead_id)]


def test_older_result_arriving_late_is_counted_but_the_newer_state_wins():
    lead_id = make_lead()
    older_row, newer_row = placed_rows(lead_id, "req-old", "req-new")
    # The older call's clock says it started later: call order decides, never clocks.
    older = pearl_call("call-old", status=7, conversationStatus=None,
                       startTime="2026-11-24T11:00:00Z",
                       callData={"callRef": older_row})  # fmt: skip
    newer = pearl_call("call-new", status=5, conversationStatus=None,
                       startTime="2026-11-24T09:30:00Z",
                       callData={"callRef": newer_row})  # fmt: skip
    assert enhanced_process_call_result(lead_id, {}, newer).action == "rescheduled"
    [pending] = schedules(lead_id, "pending")
    results = [enhanced_process_call_result(lead_id, {}, older) for _ in range(5)]
    assert [r.action for r in results] == ["stale"] + ["duplicate"] * 4
    row = lead(lead_id)
    assert row["call_attempts_count"] == 2  # both calls happened, each counted once
    assert row["call_status"] == "busy"  # the newer call's state
    assert schedules(lead_id, "pending") == [pending]
    assert {c["call_id"]: c["outcome"] for c in pearl_calls(lead_id)} == {
        "call-new": "busy",
        "call-old": "no_answer",
    }


def test_older_result_for_a_lead_the_newer_call_closed_changes_nothing():
    lead_id = make_lead()
    older_row, newer_row = placed_rows(lead_id, "req-old", "req-new")
    newer = pearl_call("call-new", callData={"callRef": newer_row},
                       collectedInfo=[{"id": "fechaDeseada", "value": "2026-12-01"}])  # fmt: skip
    older = pearl_call(
        "call-old", status=5, conversationStatus=None, callData={"callRef": older_row}
    )
    assert enhanced_process_call_result(lead_id, {}, newer).closure_reason == "Cita agendada"
    assert enhanced_process_call_result(lead_id, {}, older).action == "stale"
    row = lead(lead_id)
    assert row["closure_reason"] == "Cita agendada"
    assert row["call_attempts_count"] == 2  # both calls happened; the newer one decided
    assert row["call_status"] == "completed"
