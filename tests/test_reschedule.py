"""The rescheduling core against the real database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pymysql
import pytest
import time_machine

import reprogramar_llamadas_simple as core
from reprogramar_llamadas_simple import (
    CLOSURE_MAX_ATTEMPTS,
    LeadNotCallableError,
    LeadNotFoundError,
    cancel_scheduled_calls_for_lead,
    cleanup_closed_leads_schedules,
    reschedule_failed_call,
    schedule_call,
    simple_reschedule_failed_call,
)
from tests.helpers import lead, make_lead, schedules, set_config, sql, tables_checksum, utc

pytestmark = pytest.mark.usefixtures("clean_db")

# Tuesday 2026-11-24 11:00 in Madrid (10:00 UTC): inside working time.
TUESDAY_MORNING = utc(2026, 11, 24, 10, 0)


@pytest.fixture
def at_tuesday_morning():
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        yield


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


# --- the documented flow --------------------------------------------------------------


def test_seed_usage_example(at_tuesday_morning):
    lead_id = make_lead()
    assert simple_reschedule_failed_call(lead_id, "no_answer") is True
    row = lead(lead_id)
    assert row["call_attempts_count"] == 1
    assert row["call_status"] == "no_answer"
    assert row["last_call_attempt"] == naive_utc(TUESDAY_MORNING)
    [pending] = schedules(lead_id, "pending")
    # 11:00 Madrid + 4 h = 15:00 Madrid = 14:00 UTC.
    assert pending["scheduled_at"] == datetime(2026, 11, 24, 14, 0)
    assert pending["attempt_number"] == 2
    assert pending["last_outcome"] == "no_answer"


def test_result_object_describes_the_schedule(at_tuesday_morning):
    lead_id = make_lead()
    result = reschedule_failed_call(lead_id, "busy")
    assert result.rescheduled and result.reason == "rescheduled"
    assert result.attempts == 1 and result.attempt_number == 2
    assert result.scheduled_at == utc(2026, 11, 24, 14, 0)
    assert result.closure_reason is None


def test_delay_past_working_hours_moves_to_next_working_morning():
    lead_id = make_lead()
    with time_machine.travel(utc(2026, 11, 27, 17, 0), tick=False):  # Friday 18:00 Madrid
        assert simple_reschedule_failed_call(lead_id, "busy")
    # Monday 10:00 Madrid = 09:00 UTC.
    assert schedules(lead_id, "pending")[0]["scheduled_at"] == datetime(2026, 11, 30, 9, 0)


def test_max_attempts_closes_the_lead(at_tuesday_morning):
    lead_id = make_lead(selected_for_calling=True)
    assert simple_reschedule_failed_call(lead_id, "no_answer")
    assert simple_reschedule_failed_call(lead_id, "no_answer")
    result = reschedule_failed_call(lead_id, "no_answer")  # third call of max 3
    assert not result.rescheduled and result.reason == "max_attempts"
    assert result.closure_reason == CLOSURE_MAX_ATTEMPTS == "Máximo intentos alcanzado"
    assert result.cancelled == 1
    row = lead(lead_id)
    assert row["lead_status"] == "closed"
    assert row["closure_reason"] == "Máximo intentos alcanzado"
    assert row["selected_for_calling"] == 0
    assert row["closed_at"] == naive_utc(TUESDAY_MORNING)
    assert row["call_attempts_count"] == 3
    assert schedules(lead_id, "pending") == []
    assert [s["cancel_reason"] for s in schedules(lead_id, "cancelled")] == [CLOSURE_MAX_ATTEMPTS]


def test_per_outcome_max_attempts(at_tuesday_morning):
    set_config("busy_max_attempts", "1")
    lead_id = make_lead()
    assert simple_reschedule_failed_call(lead_id, "busy") is False
    assert lead(lead_id)["lead_status"] == "closed"
    other = make_lead()
    assert simple_reschedule_failed_call(other, "no_answer") is True


def test_per_outcome_delay(at_tuesday_morning):
    set_config("hang_up_delay_hours", "0.5")
    lead_id = make_lead()
    assert reschedule_failed_call(lead_id, "hang_up").scheduled_at == utc(2026, 11, 24, 10, 30)
    assert lead(lead_id)["call_status"] == "error"  # the enum has no hang_up value


def test_closed_lead_is_never_rescheduled(at_tuesday_morning):
    lead_id = make_lead(lead_status="closed", closure_reason="No interesado", call_attempts_count=1)
    sql(
        "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, 'pending')",
        (lead_id, datetime(2026, 11, 25, 9, 0)),
    )
    result = reschedule_failed_call(lead_id, "no_answer")
    assert not result.rescheduled and result.reason == "lead_closed" and result.cancelled == 1
    row = lead(lead_id)
    assert row["lead_status"] == "closed" and row["closure_reason"] == "No interesado"
    assert row["call_attempts_count"] == 1  # a closed lead counts no attempt
    assert schedules(lead_id, "pending") == []


def test_null_lead_status_counts_as_open(at_tuesday_morning):
    lead_id = make_lead(lead_status=None)
    assert simple_reschedule_failed_call(lead_id, "no_answer") is True


def test_manual_management_records_attempt_and_schedules_nothing(at_tuesday_morning):
    lead_id = make_lead(manual_management=True)
    result = reschedule_failed_call(lead_id, "busy")
    assert not result.rescheduled and result.reason == "manual_management"
    row = lead(lead_id)
    assert row["call_attempts_count"] == 1 and row["call_status"] == "busy"
    assert row["lead_status"] == "open"
    assert schedules(lead_id) == []


def test_existing_pending_row_is_replaced_not_duplicated(at_tuesday_morning):
    lead_id = make_lead()
    schedule_call(lead_id)
    first = schedules(lead_id, "pending")
    assert len(first) == 1
    simple_reschedule_failed_call(lead_id, "busy")
    [pending] = schedules(lead_id, "pending")
    assert pending["id"] == first[0]["id"]
    assert pending["attempt_number"] == 2 and pending["last_outcome"] == "busy"
    assert len(schedules(lead_id)) == 1


def test_database_refuses_a_second_pending_row():
    lead_id = make_lead()
    insert = "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, %s)"
    sql(insert, (lead_id, datetime(2026, 11, 25), "pending"))
    sql(insert, (lead_id, datetime(2026, 11, 25), "completed"))
    with pytest.raises(pymysql.err.IntegrityError):
        sql(insert, (lead_id, datetime(2026, 11, 26), "pending"))


def test_lead_time_zone_is_used(at_tuesday_morning):
    set_config("default_delay_hours", "10")  # 20:00 UTC: closed in Madrid, open in Mexico City
    mexico = make_lead(timezone="America/Mexico_City")
    madrid = make_lead()
    garbage = make_lead(timezone="Not/AZone")
    assert reschedule_failed_call(mexico, "busy").scheduled_at == utc(2026, 11, 24, 20, 0)
    assert reschedule_failed_call(madrid, "busy").scheduled_at == utc(2026, 11, 25, 9, 0)
    assert reschedule_failed_call(garbage, "busy").scheduled_at == utc(2026, 11, 25, 9, 0)


def test_working_time_config_from_database(at_tuesday_morning):
    set_config("working_hours_end", "13:30")
    set_config("working_days", "[1, 3]")
    set_config("holidays", "2026-11-25")
    lead_id = make_lead()
    # 11:00 + 4 h is past 13:30; Wednesday is a holiday; Thursday not worked -> Monday.
    assert reschedule_failed_call(lead_id, "busy").scheduled_at == utc(2026, 11, 30, 9, 0)


def test_dst_change_between_failure_and_retry():
    lead_id = make_lead()
    # Friday 2026-03-27 19:00 Madrid (CET); next window Monday 10:00 CEST = 08:00 UTC.
    with time_machine.travel(utc(2026, 3, 27, 18, 0), tick=False):
        assert reschedule_failed_call(lead_id, "busy").scheduled_at == utc(2026, 3, 30, 8, 0)


def test_any_outcome_name_works_with_its_own_keys(at_tuesday_morning):
    set_config("voicemail_delay_hours", "1")
    lead_id = make_lead()
    result = reschedule_failed_call(lead_id, "voicemail")
    assert result.scheduled_at == utc(2026, 11, 24, 11, 0)
    assert lead(lead_id)["call_status"] == "error"


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", [0, -1, True, False, "1", 1.0, None, 2**40, [1]])
def test_bad_lead_id_writes_nothing(bad_id):
    make_lead()
    before = tables_checksum()
    with pytest.raises(ValueError):
        simple_reschedule_failed_call(bad_id, "no_answer")
    assert tables_checksum() == before


@pytest.mark.parametrize(
    "bad_outcome",
    [
        "",
        "No_Answer",
        "no answer",
        "busy\n",
        "a" * 33,
        "1busy",
        "busy'; DROP TABLE leads; --",
        "busy' OR '1'='1",
        "ñ",
        None,
        5,
        b"busy",
    ],
)
def test_bad_outcome_writes_nothing(bad_outcome):
    lead_id = make_lead()
    before = tables_checksum()
    with pytest.raises(ValueError):
        simple_reschedule_failed_call(lead_id, bad_outcome)
    assert tables_checksum() == before


def test_unknown_lead_raises_lookup_error_and_writes_nothing():
    make_lead()
    before = tables_checksum()
    with pytest.raises(LeadNotFoundError) as info:
        simple_reschedule_failed_call(999_999, "busy")
    assert isinstance(info.value, LookupError)
    assert tables_checksum() == before


def test_database_error_rolls_back_and_propagates(at_tuesday_morning):
    """A failure after the attempt was counted leaves no trace and is not reported as False."""
    lead_id = make_lead()
    sql(
        "CREATE TRIGGER fail_schedule_insert BEFORE INSERT ON call_schedule FOR EACH ROW "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"
    )
    try:
        before = tables_checksum()
        with pytest.raises(pymysql.err.MySQLError, match="injected failure"):
            simple_reschedule_failed_call(lead_id, "busy")
        assert tables_checksum() == before
        assert lead(lead_id)["call_attempts_count"] == 0
    finally:
        sql("DROP TRIGGER fail_schedule_insert")


# --- concurrency -------------------------------------------------------------------------


def test_eight_threads_on_one_lead_count_every_attempt_once():
    set_config("default_max_attempts", "1000")
    lead_id = make_lead()
    rounds = 10
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                results.append(reschedule_failed_call(lead_id, "no_answer"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            core.db.close_connection()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(r.rescheduled for r in results)
    # Each call saw the count left by the one before it: 1..80, no repeats, no gaps.
    assert sorted(r.attempts for r in results) == list(range(1, 8 * rounds + 1))
    assert lead(lead_id)["call_attempts_count"] == 8 * rounds
    [pending] = schedules(lead_id, "pending")
    assert pending["attempt_number"] == 8 * rounds + 1


# --- cancel, cleanup, schedule_call ------------------------------------------------------


def test_cancel_scheduled_calls_for_lead():
    lead_id = make_lead()
    other = make_lead()
    schedule_call(lead_id)
    schedule_call(other)
    assert cancel_scheduled_calls_for_lead(lead_id, "Cita agendada") == 1
    assert cancel_scheduled_calls_for_lead(lead_id, "again") == 0
    [cancelled] = schedules(lead_id, "cancelled")
    assert cancelled["cancel_reason"] == "Cita agendada"
    assert len(schedules(other, "pending")) == 1


@pytest.mark.parametrize("reason", ["", "   ", None, 7])
def test_cancel_rejects_bad_reason(reason):
    lead_id = make_lead()
    schedule_call(lead_id)
    before = tables_checksum()
    with pytest.raises(ValueError):
        cancel_scheduled_calls_for_lead(lead_id, reason)
    assert tables_checksum() == before


def test_cancel_unknown_lead():
    with pytest.raises(LeadNotFoundError):
        cancel_scheduled_calls_for_lead(424242, "x")


def test_cancel_reason_is_cut_to_column_size_and_stored_verbatim():
    lead_id = make_lead()
    schedule_call(lead_id)
    reason = "'; DELETE FROM leads; -- " + "x" * 400
    assert cancel_scheduled_calls_for_lead(lead_id, reason) == 1
    assert schedules(lead_id)[0]["cancel_reason"] == reason[:255]
    assert lead(lead_id)["id"] == lead_id


def test_cleanup_closed_leads_in_batches():
    open_ids = [make_lead() for _ in range(5)]
    closed_ids = [make_lead() for _ in range(23)]
    for lead_id in open_ids + closed_ids:
        schedule_call(lead_id)
    sql(
        "UPDATE leads SET lead_status = 'closed' WHERE id IN %s",
        (tuple(closed_ids),),
    )
    assert cleanup_closed_leads_schedules(batch_size=4) == 23
    assert cleanup_closed_leads_schedules(batch_size=4) == 0
    for lead_id in open_ids:
        assert len(schedules(lead_id, "pending")) == 1
    for lead_id in closed_ids:
        assert schedules(lead_id, "pending") == []
        assert schedules(lead_id, "cancelled")[0]["cancel_reason"] == "Lead closed"


def test_cleanup_rejects_bad_batch_size():
    with pytest.raises(ValueError):
        cleanup_closed_leads_schedules(batch_size=0)


def test_schedule_call_first_call_at_next_working_instant():
    lead_id = make_lead()
    with time_machine.travel(utc(2026, 11, 28, 12, 0), tick=False):  # Saturday
        when = schedule_call(lead_id)
    assert when == utc(2026, 11, 30, 9, 0)
    [pending] = schedules(lead_id, "pending")
    assert pending["attempt_number"] == 1 and pending["last_outcome"] is None


def test_schedule_call_at_a_given_local_time_moves_existing(at_tuesday_morning):
    lead_id = make_lead()
    schedule_call(lead_id)
    assert schedule_call(lead_id, datetime(2026, 11, 26, 12, 0)) == utc(2026, 11, 26, 11, 0)
    assert len(schedules(lead_id)) == 1
    # A time in the past means "as soon as possible".
    assert schedule_call(lead_id, utc(2020, 1, 1)) == TUESDAY_MORNING


def test_schedule_call_refuses_closed_and_manual_leads():
    closed = make_lead(lead_status="closed")
    manual = make_lead(manual_management=True)
    for lead_id in (closed, manual):
        with pytest.raises(LeadNotCallableError):
            schedule_call(lead_id)
        assert schedules(lead_id) == []
    with pytest.raises(ValueError):
        schedule_call(closed, "tomorrow")
    with pytest.raises(LeadNotFoundError):
        schedule_call(777_777)
