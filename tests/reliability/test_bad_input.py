"""Fuzzed bad input through the public entry points: only the documented exceptions,
and the database unchanged whenever input is rejected."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import scheduler_config
from call_manager_scheduler_integration import (
    CallResultProcessed,
    close_lead_with_reason,
    enhanced_process_call_result,
    is_final_call,
)
from reprogramar_llamadas_simple import (
    LeadNotFoundError,
    calculate_next_working_datetime,
    cancel_scheduled_calls_for_lead,
    get_retry_config_from_db,
    schedule_call,
    simple_reschedule_failed_call,
)
from tests.helpers import (
    lead,
    make_lead,
    reset_database,
    schedules,
    set_config,
    sql,
    tables_checksum,
)
from working_time import WorkingTime, is_working_instant

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SQL_FRAGMENTS = [
    "'; DROP TABLE leads; --",
    "1 OR 1=1",
    "busy' OR '1'='1",
    "\\'; DELETE FROM call_schedule; #",
    "0x27",
    "\x00",
    "🙂" * 50,
    "x" * 100_000,
]
OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,31}")

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    st.binary(max_size=50),
    st.sampled_from(SQL_FRAGMENTS),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
json_like = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=300),
        st.sampled_from([*SQL_FRAGMENTS, "5", "7", "100", "150", "Número no válido", "ocupado"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)
pearl_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_like,
        "status": st.one_of(st.sampled_from([3, 4, 5, 6, 7, 8, "5", " 7 "]), json_like),
        "conversationStatus": st.one_of(
            st.sampled_from([10, 20, 70, 100, 110, 130, 150, 220, 300, 500]), json_like
        ),
        "collectedInfo": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"id": st.sampled_from(["fechaDeseada", "horaDeseada", "callResult", "x"])},
                    optional={"value": json_like, "name": json_like},
                ),
                max_size=4,
            ),
            json_like,
        ),
        "startTime": st.one_of(st.just("2026-11-24T09:00:00Z"), json_like),
        "summary": json_like,
    },
)


@pytest.fixture(scope="module")
def fuzz_db(test_database):
    reset_database()
    yield test_database
    reset_database()


@pytest.fixture
def one_lead(fuzz_db):
    reset_database()
    lead_id = make_lead()
    schedule_call(lead_id)
    return lead_id


@FUZZ
@given(bad=anything)
def test_lead_id_fuzz(one_lead, bad):
    assume(bad != one_lead or isinstance(bad, bool))
    before = tables_checksum()
    for call in (
        lambda: simple_reschedule_failed_call(bad, "busy"),
        lambda: enhanced_process_call_result(bad, {"outcome": "busy"}),
        lambda: cancel_scheduled_calls_for_lead(bad, "reason"),
        lambda: close_lead_with_reason(bad, "reason"),
        lambda: schedule_call(bad),
    ):
        with pytest.raises((ValueError, LeadNotFoundError)):
            call()
    assert tables_checksum() == before


@FUZZ
@given(bad=anything)
def test_outcome_fuzz(one_lead, bad):
    assume(not (isinstance(bad, str) and OUTCOME.fullmatch(bad)))
    before = tables_checksum()
    with pytest.raises(ValueError):
        simple_reschedule_failed_call(one_lead, bad)
    with pytest.raises(ValueError):
        get_retry_config_from_db(bad)
    assert tables_checksum() == before


@FUZZ
@given(bad=st.one_of(anything.filter(lambda v: not isinstance(v, dict)), st.text()))
def test_non_mapping_payload_is_refused_without_writing(one_lead, bad):
    before = tables_checksum()
    with pytest.raises(TypeError):
        enhanced_process_call_result(one_lead, bad)
    with pytest.raises(TypeError):
        enhanced_process_call_result(one_lead, {}, bad if bad is not None else [])
    assert tables_checksum() == before


@FUZZ
@given(call_result=st.dictionaries(st.text(max_size=20), json_like, max_size=6), pearl=pearl_like)
def test_payload_fuzz_always_processes_one_attempt(fuzz_db, call_result, pearl):
    reset_database()
    set_config("default_max_attempts", "1000")
    lead_id = make_lead()
    result = enhanced_process_call_result(lead_id, call_result, pearl)
    assert isinstance(result, CallResultProcessed)
    row = lead(lead_id)
    final = is_final_call(call_result, pearl)
    reached = final and result.action != "not_placed"  # Pearl status 8: never reached anyone
    assert row["call_attempts_count"] == (1 if reached else 0)
    assert (result.action == "not_placed") == (result.outcome == "not_placed")
    assert (result.action == "in_progress") == (not final)
    assert len(schedules(lead_id, "pending")) <= 1
    assert row["lead_status"] in ("open", "closed")
    if row["lead_status"] == "closed":
        assert row["closure_reason"] and row["closed_at"] is not None


garbage = st.one_of(
    st.text(max_size=80), st.sampled_from([*SQL_FRAGMENTS[:5], "nan", "inf", "-0", "1e309"])
)
CONFIG_KEYS = [
    "default_delay_hours",
    "default_max_attempts",
    "busy_delay_hours",
    "busy_max_attempts",
    "working_hours_start",
    "working_hours_end",
    "working_hours_6",
    "working_days",
    "timezone",
    "holidays",
    "holidays_country",
    "holidays_subdivision",
]


@FUZZ
@given(values=st.dictionaries(st.sampled_from(CONFIG_KEYS), garbage, min_size=1))
def test_garbage_config_never_breaks_rescheduling(fuzz_db, values):
    reset_database()
    for key, value in values.items():
        set_config(key, value[:2000])
    lead_id = make_lead()
    retry = get_retry_config_from_db("busy")
    assert retry["delay_hours"] > 0 and math.isfinite(retry["delay_hours"])
    assert 1 <= retry["max_attempts"] <= 1000
    result = simple_reschedule_failed_call(lead_id, "busy")
    assert isinstance(result, bool)
    pending = schedules(lead_id, "pending")
    if result:
        [row] = pending
        when = row["scheduled_at"].replace(tzinfo=UTC)
        assert is_working_instant(when, scheduler_config.get_config().working_time)
    else:
        assert pending == []


@given(
    base=st.datetimes(min_value=datetime(2000, 1, 1),
                      max_value=datetime(2090, 1, 1)),
    delay=st.one_of(st.floats(min_value=0, max_value=24 * 366), st.integers(0, 24 * 366)),
)  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_next_working_datetime_is_inside_working_time(base, delay):
    wt = WorkingTime()
    result = calculate_next_working_datetime(base, delay, config=wt)
    aware = result.replace(tzinfo=wt.timezone)
    assert is_working_instant(aware, wt)
    assert result >= base or delay == 0


def test_sql_in_every_text_field_is_stored_as_data(fuzz_db):
    reset_database()
    set_config("default_max_attempts", "1000")
    lead_id = make_lead()
    for text in SQL_FRAGMENTS:
        enhanced_process_call_result(
            lead_id,
            {"outcome": "busy", "error_message": text, "call_id": text[:60] + str(len(text))},
        )
    cancel_scheduled_calls_for_lead(lead_id, SQL_FRAGMENTS[0])
    close_lead_with_reason(lead_id, SQL_FRAGMENTS[2])
    tables = {
        r["t"]
        for r in sql(
            "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
    }
    assert tables == {
        "leads", "call_schedule", "scheduler_config", "pearl_calls",
        "do_not_call", "dispatcher_runs", "schema_migrations",  # round 2 and db.py init
        "panel_users", "panel_audit",  # the dashboard (issue 15)
    }  # fmt: skip
    assert lead(lead_id)["closure_reason"] == SQL_FRAGMENTS[2]
    assert len(sql("SELECT id FROM pearl_calls WHERE lead_id = %s", (lead_id,))) == len(
        SQL_FRAGMENTS
    )
