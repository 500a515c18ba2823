"""The cron dispatcher against the real database and the fake Pearl HTTP server.

Nothing is mocked: calls go over HTTP to tests/fake_pearl.py, rows go to the test
database, and the multi-process tests start real `python` processes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

import db
import scheduler_config
from clock import from_db, to_db, utc_now
from despachar_llamadas import (
    DispatchSummary,
    dispatch_due_calls,
    main,
)
from dispatch_place import PlaceCounts, claim_due_calls
from pearl_client import PearlClient
from reprogramar_llamadas_simple import schedule_call
from tests.fake_pearl import DEFAULT_OUTBOUND_ID, CallScript, FakePearl, Fault, Sleeps
from tests.helpers import (
    lead,
    make_lead,
    reset_database,
    run_script,
    schedules,
    set_config,
    sql,
    tables_checksum,
    utc,
)
from working_time import is_working_instant

pytestmark = pytest.mark.usefixtures("clean_db")

ROOT = Path(__file__).resolve().parent.parent
OUTBOUND = DEFAULT_OUTBOUND_ID
TUESDAY_MORNING = utc(2026, 11, 24, 10, 0)  # 11:00 in Madrid
TO = "+34612345678"
WRONG_KEY = "6655269800000000000fa4e1:wrongSecretKey9876543210zyxwv"
SUMMARY_KEYS = {f.name for f in dataclasses.fields(DispatchSummary)}


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def clock():
    """Time frozen at Tuesday 11:00 Madrid; move it with clock.move_to(...)."""
    with time_machine.travel(TUESDAY_MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def pearl(fake_pearl: FakePearl, sleeps: Sleeps):
    """Factory of PearlClients talking to the fake (short timeouts, recorded sleeps)."""
    clients: list[PearlClient] = []

    def make(**overrides: Any) -> PearlClient:
        client = PearlClient(fake_pearl.settings(**overrides), sleep=sleeps)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def run(client: PearlClient, **kwargs: Any) -> DispatchSummary:
    """One dispatcher run placing real calls through `client`."""
    return dispatch_due_calls(client=client, outbound_id=OUTBOUND, **kwargs)


def phone(n: int) -> str:
    return f"+34612{n:06d}"


def due_lead(telefono: str = TO, **fields: Any) -> int:
    """An open lead whose first call is due now (the frozen clock must be in working time)."""
    lead_id = make_lead(telefono=telefono, **fields)
    schedule_call(lead_id)
    return lead_id


def add_schedule(
    lead_id: int, at: datetime, attempt_number: int = 1, last_outcome: str | None = None
) -> int:
    """A pending call at `at` (aware), written as is (no working-time adjustment)."""
    with db.transaction("add schedule") as cur:
        cur.execute(
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status, "
            "last_outcome) VALUES (%s, %s, %s, 'pending', %s)",
            (lead_id, to_db(at), attempt_number, last_outcome),
        )
        return cur.lastrowid


def bulk_due_leads(count: int, at: datetime) -> list[int]:
    """`count` open leads (phones phone(0..count-1)), each with one call due at `at`."""
    with db.transaction("bulk leads") as cur:
        cur.executemany(
            "INSERT INTO leads (nombre, apellidos, telefono) VALUES ('Bulk', %s, %s)",
            [(str(i), phone(i)) for i in range(count)],
        )
        cur.execute(
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
            "SELECT id, %s, 1, 'pending' FROM leads WHERE nombre = 'Bulk'",
            (to_db(at),),
        )
        cur.execute("SELECT id FROM leads WHERE nombre = 'Bulk' ORDER BY id")
        return [row["id"] for row in cur.fetchall()]


def pearl_calls(lead_id: int | None = None) -> list[dict]:
    if lead_id is None:
        return sql("SELECT * FROM pearl_calls ORDER BY id")
    return sql("SELECT * FROM pearl_calls WHERE lead_id = %s ORDER BY id", (lead_id,))


def pending(lead_id: int) -> dict:
    [row] = schedules(lead_id, "pending")
    return row


def unaccounted_leads() -> list[int]:
    """Open leads (not under manual management) with no pending call, no call in flight
    and no completed call: the dispatcher must never leave a lead like that."""
    rows = sql(
        """
        SELECT l.id FROM leads l
        WHERE (l.lead_status IS NULL OR l.lead_status = 'open')
          AND NOT (l.manual_management <=> TRUE)
          AND NOT (l.call_status <=> 'completed')
          AND NOT EXISTS (SELECT 1 FROM call_schedule cs
                          WHERE cs.lead_id = l.id AND cs.status = 'pending')
          AND NOT EXISTS (SELECT 1 FROM pearl_calls pc
                          WHERE pc.lead_id = l.id
                            AND pc.state IN ('claimed', 'placing', 'placed', 'uncertain'))
        """
    )
    return [row["id"] for row in rows]


def snapshot(lead_ids: list[int]) -> dict:
    """What 'put back exactly as it was' compares: schedules, lead call state, pearl_calls."""
    return {
        lead_id: (
            [
                (s["id"], s["scheduled_at"], s["attempt_number"], s["status"], s["last_outcome"])
                for s in schedules(lead_id)
            ],
            {
                k: lead(lead_id)[k]
                for k in (
                    "call_status",
                    "call_attempts_count",
                    "call_error_message",
                    "lead_status",
                    "last_call_attempt",
                )
            },
            pearl_calls(lead_id),
        )
        for lead_id in lead_ids
    }


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def in_working_time(moment: datetime) -> bool:
    return is_working_instant(moment, scheduler_config.get_config().working_time)


# --- the success path ----------------------------------------------------------------------

APPOINTMENT = CallScript(
    status=4,
    conversation_status=100,
    collected_info=[
        {"id": "fechaDeseada", "name": "Fecha deseada", "value": "03/12/2026"},
        {"id": "horaDeseada", "name": "Hora deseada", "value": "17:30"},
        {"id": "callResult", "name": "Resultado", "value": "Cita reservada"},
    ],
    queued_polls=1,
    in_progress_polls=1,
)
BUSY = CallScript(status=5, conversation_status=10, duration=0, queued_polls=1)


@pytest.mark.parametrize("script", [APPOINTMENT, BUSY], ids=["appointment", "busy"])
def test_call_is_claimed_placed_once_polled_and_processed(clock, fake_pearl, pearl, script):
    fake_pearl.script(TO, script)
    lead_id = due_lead(nombre="Ana", apellidos="García")
    [schedule] = schedules(lead_id)
    client = pearl()

    placed = run(client)
    assert (placed.claimed, placed.placed, placed.failed, placed.error) == (1, 1, 0, None)
    [request] = fake_pearl.placed_calls(TO)
    assert request["callData"] == {
        "callRef": request["callData"]["callRef"],
        "firstName": "Ana",
        "lastName": "García",
        "nombre": "Ana",
        "apellidos": "García",
        "lead_id": lead_id,
        "attempt": 1,
    }
    assert isinstance(request["callData"]["callRef"], int)
    [row] = pearl_calls(lead_id)
    assert row["state"] == "placed" and row["request_id"] == request["id"]
    assert row["schedule_id"] == schedule["id"] and row["outcome"] is None
    assert schedules(lead_id)[0]["status"] == "completed"
    assert lead(lead_id)["call_status"] == "calling"
    assert lead(lead_id)["call_attempts_count"] == 0

    clock.move_to(utc(2026, 11, 24, 10, 1))
    queued = run(client)  # Pearl still has the call in its queue
    assert (queued.collected, queued.claimed, queued.timed_out) == (0, 0, 0)
    assert pearl_calls(lead_id)[0]["state"] == "placed"

    clock.move_to(utc(2026, 11, 24, 10, 5))
    done = run(client)
    assert (done.collected, done.claimed, done.placed) == (1, 0, 0)

    [row] = pearl_calls(lead_id)  # still one row: the in-flight row was completed
    assert row["state"] == "completed" and row["request_id"] == request["id"]
    assert row["call_id"] == fake_pearl.placed_calls(TO)[0]["callId"]
    assert row["pearl_status"] == script.status
    assert fake_pearl.count("make_call") == 1
    assert fake_pearl.count("get_call_request") == 2 and fake_pearl.count("get_call") == 1
    row_lead = lead(lead_id)
    assert row_lead["call_attempts_count"] == 1
    if script is APPOINTMENT:
        assert row["outcome"] == "appointment"
        assert row_lead["lead_status"] == "closed"
        assert row_lead["closure_reason"] == "Cita agendada"
        assert str(row_lead["cita"]) == "2026-12-03"
        assert schedules(lead_id, "pending") == []
    else:
        assert row["outcome"] == "busy"
        assert row_lead["lead_status"] == "open" and row_lead["call_status"] == "busy"
        again = pending(lead_id)
        assert again["scheduled_at"] == datetime(2026, 11, 24, 14, 5)  # 4 h later
        assert again["attempt_number"] == 2 and again["last_outcome"] == "busy"

    clock.move_to(utc(2026, 11, 24, 10, 10))
    idle = run(client)
    assert (idle.collected, idle.claimed, idle.timed_out) == (0, 0, 0)
    assert fake_pearl.count("make_call") == 1
    assert len(pearl_calls(lead_id)) == 1
    assert unaccounted_leads() == []


def test_main_places_due_calls_with_settings_from_the_environment(
    clock, fake_pearl, monkeypatch, capsys
):
    for name, value in fake_pearl.env().items():
        monkeypatch.setenv(name, value)
    lead_ids = [due_lead(phone(n)) for n in range(3)]
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert "claimed 3, placed 3" in out and err == ""
    assert sorted(c["to"] for c in fake_pearl.placed_calls()) == [phone(n) for n in range(3)]
    assert [pearl_calls(i)[0]["state"] for i in lead_ids] == ["placed"] * 3


def test_rate_limited_post_waits_retry_after_then_places_once(clock, fake_pearl, pearl, sleeps):
    fake_pearl.rate_limit("make_call", times=2, retry_after="1")
    lead_id = due_lead()
    summary = run(pearl())
    assert (summary.placed, summary.failed, summary.uncertain) == (1, 0, 0)
    assert sleeps == [1.0, 1.0]
    assert fake_pearl.count("make_call") == 3
    [request] = fake_pearl.placed_calls(TO)
    [row] = pearl_calls(lead_id)
    assert row["state"] == "placed" and row["request_id"] == request["id"]


def test_server_errors_on_polls_are_retried(clock, fake_pearl, pearl, sleeps):
    lead_id = due_lead()
    client = pearl()
    run(client)
    fake_pearl.fail("get_call_request", 500)
    fake_pearl.fail("get_call", 503, times=2)
    clock.move_to(utc(2026, 11, 24, 10, 2))
    summary = run(client)
    assert summary.collected == 1
    assert fake_pearl.count("get_call_request") == 2 and fake_pearl.count("get_call") == 3
    assert len(sleeps) == 3
    [row] = pearl_calls(lead_id)
    assert row["state"] == "completed" and row["outcome"] == "success"
    assert lead(lead_id)["call_status"] == "completed"
    assert unaccounted_leads() == []


# --- a POST whose answer never came ------------------------------------------------------


def test_post_read_timeout_is_uncertain_and_never_resent(clock, fake_pearl, pearl):
    fake_pearl.slow("make_call", 0.6)
    lead_id = due_lead()
    client = pearl(read_timeout=0.2)

    summary = run(client)
    assert (summary.claimed, summary.placed, summary.uncertain, summary.failed) == (1, 0, 1, 0)
    assert fake_pearl.count("make_call") == 1
    assert len(fake_pearl.placed_calls(TO)) == 1  # Pearl did act on it
    row_lead = lead(lead_id)
    assert row_lead["call_attempts_count"] == 0 and row_lead["call_status"] == "calling"
    [row] = pearl_calls(lead_id)
    assert row["state"] == "uncertain" and "may have been placed" in row["error_message"]
    assert schedules(lead_id, "pending") == []

    clock.move_to(utc(2026, 11, 24, 10, 30))
    later = run(client)
    assert (later.claimed, later.reconciled) == (0, 1)
    assert fake_pearl.count("make_call") == 1
    assert unaccounted_leads() == []


def test_malformed_answer_to_a_poll_leaves_the_call_in_flight(clock, fake_pearl, pearl):
    lead_id = due_lead()
    client = pearl()
    run(client)
    fake_pearl.malformed("get_call_request", body="<html>gateway</html>")
    clock.move_to(utc(2026, 11, 24, 10, 2))
    broken = run(client)
    assert broken.collected == 0 and pearl_calls(lead_id)[0]["state"] == "placed"
    clock.move_to(utc(2026, 11, 24, 10, 3))
    assert run(client).collected == 1
    [row] = pearl_calls(lead_id)
    assert row["state"] == "completed" and row["outcome"] == "success"
    assert fake_pearl.count("make_call") == 1


# --- calls that were not placed ----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "delay", "expected"),
    [
        (TUESDAY_MORNING, None, datetime(2026, 11, 24, 10, 30)),
        (TUESDAY_MORNING, "90", datetime(2026, 11, 24, 11, 30)),
        # 19:45 in Madrid + 30 min is past 20:00: Wednesday 10:00 Madrid.
        (utc(2026, 11, 24, 18, 45), None, datetime(2026, 11, 25, 9, 0)),
    ],
)
def test_refused_post_counts_no_attempt_and_retries_later(fake_pearl, pearl, now, delay, expected):
    if delay is not None:
        set_config("place_failure_delay_minutes", delay)
    fake_pearl.fail("make_call", 400, message="Number not allowed for this outbound")
    with time_machine.travel(now, tick=False):
        lead_id = due_lead()
        summary = run(pearl())
    assert (summary.claimed, summary.placed, summary.failed, summary.uncertain) == (1, 0, 1, 0)
    assert fake_pearl.count("make_call") == 1 and fake_pearl.placed_calls() == []
    row_lead = lead(lead_id)
    assert row_lead["call_attempts_count"] == 0 and row_lead["last_call_attempt"] is None
    assert row_lead["call_status"] == "error" and row_lead["lead_status"] == "open"
    assert "400" in row_lead["call_error_message"]
    assert "Number not allowed for this outbound" in row_lead["call_error_message"]
    again = pending(lead_id)
    assert again["scheduled_at"] == expected and again["attempt_number"] == 1
    minutes = float(delay or 30)
    assert from_db(again["scheduled_at"]) >= now + timedelta(minutes=minutes)
    assert in_working_time(from_db(again["scheduled_at"]))
    [row] = pearl_calls(lead_id)
    assert row["state"] == "not_placed" and row["outcome"] is None
    assert row["error_message"].startswith("not placed:")
    assert unaccounted_leads() == []


def test_refused_post_keeps_the_attempt_number_and_last_outcome(clock, fake_pearl, pearl):
    fake_pearl.fail("make_call", 422, message="Outbound paused")
    lead_id = make_lead(telefono=TO, call_attempts_count=1, call_status="busy")
    add_schedule(lead_id, TUESDAY_MORNING, attempt_number=2, last_outcome="busy")
    assert run(pearl()).failed == 1
    again = pending(lead_id)
    assert again["attempt_number"] == 2 and again["last_outcome"] == "busy"
    assert again["scheduled_at"] == datetime(2026, 11, 24, 10, 30)
    assert lead(lead_id)["call_attempts_count"] == 1


def test_unreachable_pearl_is_like_a_refusal(clock, pearl, sleeps):
    lead_id = due_lead()
    client = pearl(base_url=f"http://127.0.0.1:{closed_port()}", connect_timeout=0.5)
    summary = run(client)
    assert (summary.placed, summary.failed, summary.uncertain) == (0, 1, 0)
    assert len(sleeps) == 6  # the account check and the POST, each retried 3 times
    row_lead = lead(lead_id)
    assert row_lead["call_attempts_count"] == 0
    assert "unreachable" in row_lead["call_error_message"]
    assert pending(lead_id)["scheduled_at"] == datetime(2026, 11, 24, 10, 30)
    [row] = pearl_calls(lead_id)
    assert row["state"] == "not_placed"
    assert unaccounted_leads() == []


# --- credentials refused -----------------------------------------------------------------


def three_due_leads_in_various_states() -> list[int]:
    first = due_lead(phone(1))
    second = make_lead(telefono=phone(2), call_attempts_count=1, call_status="busy")
    add_schedule(second, utc(2026, 11, 24, 9, 30), attempt_number=2, last_outcome="busy")
    third = make_lead(telefono=phone(3), call_status="selected", call_error_message="old error")
    add_schedule(third, utc(2026, 11, 24, 9, 45))
    return [first, second, third]


@pytest.mark.parametrize("max_concurrent", [1, 5])
def test_rejected_credentials_stop_the_run_and_put_every_claim_back(
    clock, fake_pearl, pearl, max_concurrent
):
    lead_ids = three_due_leads_in_various_states()
    before = snapshot(lead_ids)
    fake_pearl.fail("make_call", 401, times=10)  # the account answers; the POST refuses
    summary = run(pearl(), max_concurrent=max_concurrent)
    assert summary.error and "credentials" in summary.error
    assert (summary.claimed, summary.placed, summary.released) == (3, 0, 3)
    assert (summary.failed, summary.uncertain) == (0, 0)
    assert snapshot(lead_ids) == before
    assert pearl_calls() == [] and fake_pearl.placed_calls() == []
    if max_concurrent == 1:
        assert fake_pearl.count("make_call") == 1  # nothing sent after the first 401


def test_a_key_the_account_check_refuses_claims_nothing(clock, fake_pearl, pearl):
    lead_ids = three_due_leads_in_various_states()
    before = snapshot(lead_ids)
    summary = run(pearl(api_key=WRONG_KEY))
    assert summary.error and "credentials" in summary.error
    assert (summary.claimed, summary.released) == (0, 0)
    assert snapshot(lead_ids) == before and fake_pearl.count("make_call") == 0


@pytest.mark.parametrize("status", [3, 4, 5])
def test_an_account_without_credit_stops_the_run(clock, fake_pearl, pearl, status):
    lead_id = due_lead()
    fake_pearl.set_account(status=status)
    summary = run(pearl())
    assert summary.error and "account" in summary.error
    assert summary.claimed == 0 and fake_pearl.count("make_call") == 0
    assert pending(lead_id)


def test_403_midway_keeps_the_placed_call_and_gives_back_the_rest(clock, fake_pearl, pearl):
    lead_ids = three_due_leads_in_various_states()  # claimed in order: second, third, first
    order = [lead_ids[1], lead_ids[2], lead_ids[0]]
    before = snapshot(order[1:])
    fake_pearl.inject("make_call", Fault(status=None, process=True))  # answered normally
    fake_pearl.fail("make_call", 403, message="Outbound not allowed for this key")
    summary = run(pearl(), max_concurrent=1)
    assert (summary.claimed, summary.placed, summary.released) == (3, 1, 2)
    assert summary.error and "403" in summary.error
    assert fake_pearl.count("make_call") == 2
    [placed] = pearl_calls(order[0])
    assert placed["state"] == "placed" and placed["request_id"]
    assert snapshot(order[1:]) == before


def test_main_exits_2_when_pearl_refuses_the_key(clock, fake_pearl, monkeypatch, capsys):
    for name, value in {**fake_pearl.env(), "PEARL_API_KEY": WRONG_KEY}.items():
        monkeypatch.setenv(name, value)
    lead_ids = three_due_leads_in_various_states()
    before = snapshot(lead_ids)
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert "claimed 0" in out
    assert err.startswith("error: Pearl refused the credentials")
    assert snapshot(lead_ids) == before
    assert WRONG_KEY.split(":")[1] not in out + err


# --- results collected from Pearl --------------------------------------------------------


def test_blacklisted_call_request_closes_the_lead(clock, fake_pearl, pearl):
    fake_pearl.script(TO, request_status=20, request_errors=["Number is blacklisted"])
    lead_id = due_lead()
    client = pearl()
    run(client)
    clock.move_to(utc(2026, 11, 24, 10, 2))
    assert run(client).collected == 1
    assert fake_pearl.count("get_call") == 0
    row_lead = lead(lead_id)
    assert row_lead["lead_status"] == "closed" and row_lead["closure_reason"] == "Lista negra"
    assert row_lead["call_attempts_count"] == 1
    [row] = pearl_calls(lead_id)
    assert row["state"] == "completed" and row["outcome"] == "blacklisted"
    assert schedules(lead_id, "pending") == []


def test_errored_call_request_is_retried_after_the_error_delay(clock, fake_pearl, pearl):
    set_config("error_delay_hours", "2")
    fake_pearl.script(TO, request_status=100, request_errors=["Caller id not verified"])
    lead_id = due_lead()
    client = pearl()
    run(client)
    clock.move_to(utc(2026, 11, 24, 10, 2))
    assert run(client).collected == 1
    row_lead = lead(lead_id)
    assert row_lead["lead_status"] == "open" and row_lead["call_status"] == "error"
    assert row_lead["call_attempts_count"] == 1
    assert "Caller id not verified" in row_lead["call_error_message"]
    [row] = pearl_calls(lead_id)
    assert row["outcome"] == "error" and "Caller id not verified" in row["error_message"]
    assert pending(lead_id)["scheduled_at"] == datetime(2026, 11, 24, 12, 2)


# --- calls in flight for too long --------------------------------------------------------


def test_claim_whose_lease_expired_goes_back_to_pending_as_it_was(fake_pearl, pearl):
    # Claimed at 19:30 Madrid by a dispatcher that then stopped before any pre-flight.
    with time_machine.travel(utc(2026, 11, 24, 18, 30), tick=False) as clock:
        lead_id = due_lead()
        [schedule] = schedules(lead_id)
        [claim] = claim_due_calls("dead-run", 10, "ES", PlaceCounts())
        client = pearl()

        clock.move_to(utc(2026, 11, 24, 18, 34))  # lease (5 minutes) alive: untouched
        early = run(client)
        assert (early.released, early.claimed) == (0, 0)
        assert pearl_calls(lead_id)[0]["state"] == "claimed"

        clock.move_to(utc(2026, 11, 24, 19, 31))  # 20:31 in Madrid: closed
        late = run(client)
    assert (late.released, late.claimed, late.placed, late.deferred) == (1, 0, 0, 1)
    assert fake_pearl.count("make_call") == 0
    row_lead = lead(lead_id)
    assert row_lead["call_attempts_count"] == 0 and row_lead["lead_status"] == "open"
    again = pending(lead_id)
    assert again["id"] == schedule["id"]  # the same schedule, given back
    assert again["scheduled_at"] == datetime(2026, 11, 25, 9, 0)  # next working instant
    assert again["attempt_number"] == 1
    assert pearl_calls(lead_id) == []  # it never existed for Pearl
    assert claim.row_id > 0
    assert unaccounted_leads() == []


@pytest.mark.parametrize("timeout", [None, "15"])
def test_placed_call_without_result_is_an_error_after_the_timeout(
    clock, fake_pearl, pearl, timeout
):
    if timeout is not None:
        set_config("call_result_timeout_minutes", timeout)
    minutes = int(timeout or 60)
    fake_pearl.script(TO, in_progress_polls=10_000)
    lead_id = due_lead()
    client = pearl()
    run(client)
    clock.move_to(TUESDAY_MORNING + timedelta(minutes=minutes - 1))
    assert run(client).timed_out == 0
    assert pearl_calls(lead_id)[0]["state"] == "placed"

    clock.move_to(TUESDAY_MORNING + timedelta(minutes=minutes + 1))
    summary = run(client)
    assert (summary.timed_out, summary.collected, summary.claimed) == (1, 0, 0)
    [row] = pearl_calls(lead_id)
    assert row["state"] == "completed" and row["outcome"] == "error" and row["request_id"]
    assert f"after {minutes} minutes" in row["error_message"]
    row_lead = lead(lead_id)
    assert row_lead["call_attempts_count"] == 1 and row_lead["call_status"] == "error"
    assert pending(lead_id)["attempt_number"] == 2
    assert fake_pearl.count("make_call") == 1
    assert unaccounted_leads() == []


@pytest.mark.parametrize("status", [404, 503])
def test_placed_call_pearl_cannot_report_is_given_up_after_the_timeout(
    clock, fake_pearl, pearl, status
):
    lead_id = due_lead()
    client = pearl()
    run(client)
    fake_pearl.fail("get_call_request", status, times=1000)
    clock.move_to(utc(2026, 11, 24, 10, 30))
    assert run(client).timed_out == 0
    assert pearl_calls(lead_id)[0]["state"] == "placed"
    clock.move_to(utc(2026, 11, 24, 11, 1))
    summary = run(client)
    assert summary.timed_out == 1
    [row] = pearl_calls(lead_id)
    assert row["state"] == "completed" and row["outcome"] == "error"
    assert lead(lead_id)["call_attempts_count"] == 1
    assert unaccounted_leads() == []


def test_request_id_the_client_cannot_poll_does_not_block_other_calls(clock, fake_pearl, pearl):
    # Pearl answered the POST with an id the client refuses to put in a URL.
    fake_pearl.inject("make_call", Fault(status=200, body={"id": " 0123abcd "}))
    odd = due_lead(phone(1))
    client = pearl()
    assert run(client).placed == 1
    assert pearl_calls(odd)[0]["request_id"] == " 0123abcd "
    clock.move_to(utc(2026, 11, 24, 10, 30))
    other = due_lead(phone(2))
    assert run(client).placed == 1  # the odd row does not stop the run
    assert pearl_calls(other)[0]["state"] == "placed"
    clock.move_to(utc(2026, 11, 24, 11, 1))
    assert run(client).timed_out == 1
    [row] = pearl_calls(odd)
    assert row["state"] == "completed" and row["outcome"] == "error"
    assert unaccounted_leads() == []


HANG_AFTER_CLAIM = """
import sys, time
from datetime import datetime
from clock import rehearsal_at
from dispatch_place import PlaceCounts, claim_due_calls
with rehearsal_at(datetime.fromisoformat(sys.argv[1])):
    claims = claim_due_calls("killed-run", 50, "ES", PlaceCounts())
print(" ".join(str(c.lead_id) for c in claims), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_dispatcher_killed_between_claim_and_place(clock, fake_pearl, pearl):
    lead_ids = [due_lead(phone(n)) for n in range(3)]
    proc = subprocess.Popen(
        [sys.executable, "-c", HANG_AFTER_CLAIM, TUESDAY_MORNING.isoformat()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        claimed = proc.stdout.readline().split()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert sorted(map(int, claimed)) == lead_ids
    assert [pearl_calls(i)[0]["state"] for i in lead_ids] == ["claimed"] * 3
    client = pearl()

    clock.move_to(utc(2026, 11, 24, 10, 4))  # the lease is alive: nobody touches them
    early = run(client)
    assert (early.claimed, early.released, early.placed) == (0, 0, 0)
    assert fake_pearl.count("make_call") == 0
    assert [lead(i)["call_status"] for i in lead_ids] == ["selected"] * 3

    clock.move_to(utc(2026, 11, 24, 10, 6))  # expired: never pre-flighted, so never sent
    late = run(client)
    assert (late.released, late.claimed, late.placed) == (3, 3, 3)
    assert sorted(c["to"] for c in fake_pearl.placed_calls()) == [phone(n) for n in range(3)]
    for lead_id in lead_ids:
        assert [r["state"] for r in pearl_calls(lead_id)] == ["placed"]
        assert lead(lead_id)["call_attempts_count"] == 0
    clock.move_to(utc(2026, 11, 24, 10, 8))
    assert run(client).collected == 3
    assert fake_pearl.count("make_call") == 3
    assert [lead(i)["call_attempts_count"] for i in lead_ids] == [1, 1, 1]
    assert unaccounted_leads() == []


# --- four dispatcher processes at once ---------------------------------------------------


def all_day_working_time() -> None:
    """Every instant is working time (the subprocesses use the real clock): a fixed-offset
    business zone where it is about noon now, hours 00:00-23:59:59, every day."""
    offset = (12 - utc_now().hour + 12) % 24 - 12  # -12..11
    set_config("timezone", "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}")
    set_config("working_days", "1,2,3,4,5,6,7")
    set_config("working_hours_start", "00:00")
    set_config("working_hours_end", "23:59:59")
    set_config("holidays", "")
    set_config("demo_database", "true")  # the subprocesses run --simulate


def dispatch_lane(start: threading.Barrier, limit: int = 50, max_runs: int = 20) -> list[dict]:
    """Run `despachar_llamadas.py --simulate --limit N` until a run claims nothing."""
    start.wait(timeout=30)
    runs = []
    while True:
        proc = run_script("despachar_llamadas.py", "--simulate", "--limit", str(limit), "--json")
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
        if runs[-1]["claimed"] == 0 or len(runs) > max_runs:
            return runs


@pytest.mark.slow
def test_four_dispatcher_processes_dial_every_schedule_exactly_once():
    all_day_working_time()
    lead_ids = bulk_due_leads(400, utc_now() - timedelta(minutes=1))
    originals = {r["id"] for r in sql("SELECT id FROM call_schedule")}
    start = threading.Barrier(4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        lanes = [f.result() for f in [pool.submit(dispatch_lane, start) for _ in range(4)]]

    assert sum(r["claimed"] for lane in lanes for r in lane) == 400
    assert all(r["error"] is None and r["deferred"] == 0 for lane in lanes for r in lane)
    rows = pearl_calls()
    assert len(rows) == 400
    assert Counter(r["schedule_id"] for r in rows) == Counter(originals)  # each once
    assert sorted(r["lead_id"] for r in rows) == lead_ids
    assert all(r["state"] == "completed" and r["outcome"] for r in rows)
    assert sql("SELECT DISTINCT status FROM call_schedule WHERE id IN %s", (originals,)) == [
        {"status": "completed"}
    ]
    attempts = sql("SELECT DISTINCT call_attempts_count AS n FROM leads")
    assert attempts == [{"n": 1}]
    assert dispatch_due_calls(simulate=True).claimed == 0  # nothing due was left behind
    assert unaccounted_leads() == []


# --- what is never dialled ---------------------------------------------------------------


def test_outside_working_time_calls_are_moved_not_dialled(fake_pearl, pearl):
    tuesday_night = utc(2026, 11, 24, 20, 30)  # 21:30 in Madrid, 15:30 in New York
    with time_machine.travel(tuesday_night, tick=False):
        madrid = make_lead(telefono=phone(1))
        add_schedule(madrid, utc(2026, 11, 24, 20, 0))
        new_york = make_lead(telefono="+12125550123", timezone="America/New_York")
        add_schedule(new_york, utc(2026, 11, 24, 20, 0))
        summary = run(pearl())
    assert (summary.deferred, summary.claimed, summary.placed) == (1, 1, 1)
    assert [c["to"] for c in fake_pearl.placed_calls()] == ["+12125550123"]
    moved = pending(madrid)
    assert moved["scheduled_at"] == datetime(2026, 11, 25, 9, 0)  # Wednesday 10:00 Madrid
    assert moved["attempt_number"] == 1
    assert pearl_calls(madrid) == [] and lead(madrid)["call_status"] == "no_selected"
    assert pearl_calls(new_york)[0]["state"] == "placed"


def test_closed_and_manual_leads_are_never_dialled(clock, fake_pearl, pearl):
    closed = make_lead(telefono=phone(1), lead_status="closed", closure_reason="No interesado")
    manual = make_lead(telefono=phone(2), manual_management=True)
    null_status = make_lead(telefono=phone(3), lead_status=None)  # NULL counts as open
    for lead_id in (closed, manual, null_status):
        add_schedule(lead_id, utc(2026, 11, 24, 9, 0))
    before = snapshot([closed, manual])
    summary = run(pearl())
    assert (summary.claimed, summary.placed) == (1, 1)
    assert [c["to"] for c in fake_pearl.placed_calls()] == [phone(3)]
    assert snapshot([closed, manual]) == before


def test_unusable_phone_closes_the_lead_without_any_post(clock, fake_pearl, pearl):
    bad = [due_lead(t) for t in ("12", "llamar a Juan", "+34 612 345 678 ext 9")]
    no_phone = make_lead(telefono=None)
    add_schedule(no_phone, TUESDAY_MORNING)
    national = due_lead("612 345 678")
    summary = run(pearl())
    assert (summary.invalid_phone, summary.claimed, summary.placed) == (4, 1, 1)
    assert [c["to"] for c in fake_pearl.placed_calls()] == [TO]
    assert fake_pearl.count("make_call") == 1
    for lead_id in [*bad, no_phone]:
        row = lead(lead_id)
        assert row["lead_status"] == "closed" and row["closure_reason"] == "Teléfono erróneo"
        assert row["call_attempts_count"] == 0
        assert schedules(lead_id, "pending") == [] and pearl_calls(lead_id) == []
    assert pearl_calls(national)[0]["state"] == "placed"


# --- dry run and configuration errors ----------------------------------------------------


def lead_with_expired_claim() -> int:
    """A lead claimed on Monday by a dispatcher that died: any real run would settle it."""
    lead_id = make_lead(telefono=phone(9))
    add_schedule(lead_id, utc(2026, 11, 23, 10, 0))
    claim_due_calls(utc(2026, 11, 23, 10, 0), 10, "ES", DispatchSummary())
    return lead_id


def test_dry_run_changes_nothing_and_shows_masked_phones(clock, monkeypatch, capsys):
    monkeypatch.delenv("PEARL_API_KEY", raising=False)
    lead_with_expired_claim()
    due = [due_lead(phone(1)), due_lead("612 345 678")]
    far = make_lead(telefono=phone(2), timezone="America/Los_Angeles")  # 02:00 there
    add_schedule(far, TUESDAY_MORNING)
    due_lead("12")  # would be closed, not dialled
    before = tables_checksum()

    assert main(["--dry-run", "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["dry_run"] is True and report["deferred"] == 1
    assert report["invalid_phone"] == 1
    assert [d["lead_id"] for d in report["would_dial"]] == due
    assert [d["telefono"] for d in report["would_dial"]] == ["*********001", "******678"]
    assert phone(1) not in out and "612345678" not in out and "612 345 678" not in out

    assert main(["--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().split(" ", 1)[1] == (
        "would dial 2, would defer 1, would close 1 for an invalid phone (dry run)"
    )
    assert err == ""
    summary = dispatch_due_calls(dry_run=True)
    assert len(summary.would_dial) == 2
    assert tables_checksum() == before


@pytest.mark.parametrize(
    ("unset", "message"),
    [("PEARL_API_KEY", "PEARL_API_KEY"), ("PEARL_OUTBOUND_ID", "PEARL_OUTBOUND_ID")],
)
def test_missing_setting_exits_with_one_line_and_changes_nothing(
    clock, fake_pearl, monkeypatch, capsys, unset, message
):
    for name, value in fake_pearl.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(unset)
    lead_with_expired_claim()
    due_lead()
    before = tables_checksum()
    assert main([]) != 0
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err
    assert tables_checksum() == before
    assert fake_pearl.requests == []


FAILING_RUNS = [("401 on POST", 2), ("401 on poll", 2), ("no outbound id", 2), ("no database", 3)]


@pytest.mark.parametrize(("case", "code"), FAILING_RUNS, ids=[case for case, _ in FAILING_RUNS])
def test_api_key_never_appears_in_the_output_of_a_failing_run(
    clock, fake_pearl, pearl, monkeypatch, capsys, caplog, case, code
):
    key = fake_pearl.api_key
    secret = key.split(":")[1]
    for name, value in fake_pearl.env().items():
        monkeypatch.setenv(name, value)
    lead_id = due_lead()
    if case == "401 on POST":
        fake_pearl.fail("make_call", 401, message=f"Bearer {key} rejected ({secret})")
    elif case == "401 on poll":
        run(pearl())
        clock.move_to(utc(2026, 11, 24, 10, 2))
        fake_pearl.fail("get_call_request", 401, message=f"token {key} expired")
    elif case == "no outbound id":
        monkeypatch.delenv("PEARL_OUTBOUND_ID")
    else:
        db.close_connection()
        monkeypatch.setenv("DB_PORT", str(closed_port()))
    caplog.set_level(logging.DEBUG)
    try:
        assert main(["--verbose"]) == code
    finally:
        monkeypatch.undo()
        db.close_connection()
    out, err = capsys.readouterr()
    assert "error: " in err
    for text in (out, err, caplog.text):
        assert key not in text and secret not in text
    assert lead(lead_id)["call_attempts_count"] == 0


# --- simulation --------------------------------------------------------------------------


def simulate_until_done(seed: int) -> tuple[Counter, Counter, int]:
    runs = 0
    while True:
        runs += 1
        summary = dispatch_due_calls(simulate=True, seed=seed, limit=50)
        assert summary.placed == summary.collected == summary.claimed
        if summary.claimed == 0 or runs > 20:
            break
    outcomes = Counter(r["outcome"] for r in pearl_calls())
    reasons = Counter(r["closure_reason"] for r in sql("SELECT closure_reason FROM leads"))
    return outcomes, reasons, runs


def test_simulation_end_to_end_is_reproducible_with_a_seed(clock):
    results = []
    for _ in range(2):
        reset_database()
        lead_ids = bulk_due_leads(200, TUESDAY_MORNING)
        results.append(simulate_until_done(seed=7))
        rows = pearl_calls()
        assert len(rows) == 200 and sorted(r["lead_id"] for r in rows) == lead_ids
        for row in sql("SELECT * FROM leads"):
            assert row["call_attempts_count"] == 1
            has_pending = bool(schedules(row["id"], "pending"))
            if row["lead_status"] == "closed":
                assert row["closure_reason"] and not has_pending
            elif row["call_status"] == "completed":
                assert not has_pending
            else:
                assert has_pending
                assert from_db(pending(row["id"])["scheduled_at"]) > TUESDAY_MORNING
        assert unaccounted_leads() == []
    assert results[0] == results[1]
    outcomes, reasons, runs = results[0]
    assert sum(outcomes.values()) == 200 and runs == 5
    assert len(outcomes) >= 4  # a mix, not one outcome for everybody
    assert reasons["Cita agendada"] > 0 and reasons[None] > 0


def test_json_summary_of_a_simulated_run(clock, capsys):
    bulk_due_leads(3, TUESDAY_MORNING)
    set_config("demo_database", "true")
    assert main(["--json", "--simulate", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert set(report) == SUMMARY_KEYS
    assert report["simulate"] is True and report["dry_run"] is False
    assert report["claimed"] == report["placed"] == report["collected"] == 3
    assert report["error"] is None and err == ""


def test_simulate_is_refused_on_a_database_of_real_leads(clock):
    lead_id = due_lead()
    before = tables_checksum()
    proc = run_script("despachar_llamadas.py", "--simulate")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "--simulate runs only on a demo database" in line
    assert tables_checksum() == before and lead(lead_id)["call_attempts_count"] == 0


def test_simulated_results_are_marked_on_the_call_record(clock):
    lead_id = due_lead()
    set_config("demo_database", "true")
    dispatch_due_calls(simulate=True, seed=3)
    [call] = pearl_calls(lead_id)
    assert call["simulated"] == 1 and call["state"] == "completed"


def test_paused_dispatch_collects_but_claims_nothing(clock, fake_pearl, pearl):
    first = due_lead(phone(1))
    client = pearl()
    run(client)
    set_config("dispatch_paused", "true")
    second = due_lead(phone(2))
    clock.move_to(utc(2026, 11, 24, 10, 2))
    summary = run(client)
    assert summary.paused and (summary.collected, summary.claimed) == (1, 0)
    assert fake_pearl.count("make_call") == 1 and pending(second)
    assert lead(first)["call_attempts_count"] == 1
    set_config("dispatch_paused", None)
    set_config("daemon_enabled", "false")  # the original system's switch
    assert run(client).claimed == 0


def test_every_run_leaves_a_heartbeat_and_an_outage_exits_1(clock, fake_pearl, monkeypatch):
    for name, value in {**fake_pearl.env(), "PEARL_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(name, value)
    due_lead()
    fake_pearl.fail("make_call", 500)
    assert main([]) == 1
    [beat] = sql("SELECT * FROM dispatcher_runs")
    assert beat["finished_at"] is not None and beat["exit_code"] == 1
    assert (beat["claimed"], beat["placed"]) == (1, 0)


# --- SIGKILL at every step boundary of one call's life ------------------------------------------

KILL_AT_STEP = """
import os, signal, sys
from datetime import datetime
import despachar_llamadas
import dispatch_place
from clock import rehearsal_at

step = sys.argv[2]


def die(*_args, **_kwargs):
    print("dying", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if step == "after-preflight":  # the row is 'placing', the POST never left
    real_preflight = despachar_llamadas.preflight_claims

    def preflight_then_die(*args, **kwargs):
        go = real_preflight(*args, **kwargs)
        if go:
            die()
        return go

    despachar_llamadas.preflight_claims = preflight_then_die
elif step == "after-post":  # Pearl has the call, its request id is not saved
    dispatch_place.save_placed = die
elif step == "after-save":  # Pearl has the call and the row says so
    real_save = dispatch_place.save_placed

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        die()

    dispatch_place.save_placed = save_then_die
with rehearsal_at(datetime.fromisoformat(sys.argv[1])):
    despachar_llamadas.main(["--limit", "5", "--max-concurrent", "1"])
print("survived", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("step", ["after-preflight", "after-post", "after-save"])
def test_dispatcher_killed_at_each_step_boundary_dials_once_and_counts_once(
    step, clock, fake_pearl, pearl
):
    lead_id = due_lead(TO)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_STEP, TUESDAY_MORNING.isoformat(), step],
        cwd=ROOT,
        env={**os.environ, **fake_pearl.env()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.stdout, proc.stderr)
    expected_state = {"after-preflight": "placing", "after-post": "placing", "after-save": "placed"}
    assert [r["state"] for r in pearl_calls(lead_id)] == [expected_state[step]]
    posted_before = 0 if step == "after-preflight" else 1
    assert fake_pearl.count("make_call") == posted_before
    client = pearl()

    # Recovery: later runs, the clock moving on in steps past the lease and the grace period.
    at = TUESDAY_MORNING
    for _ in range(30):
        at += timedelta(minutes=2)
        clock.move_to(at)
        run(client)
        assert fake_pearl.count("make_call") <= 1  # never a second call to this person
        in_flight = [r for r in pearl_calls(lead_id) if r["outcome"] is None
                     and r["state"] not in ("not_placed",)]  # fmt: skip
        if lead(lead_id)["call_attempts_count"] == 1 and not in_flight:
            break
    assert fake_pearl.count("make_call") == 1
    assert [c["to"] for c in fake_pearl.placed_calls()] == [TO]
    assert lead(lead_id)["call_attempts_count"] == 1  # the call that reached Pearl, once
    counted = [r for r in pearl_calls(lead_id) if r["outcome"] is not None]
    assert len(counted) == 1 and counted[0]["state"] == "completed"
    not_placed = [r["state"] for r in pearl_calls(lead_id) if r["state"] == "not_placed"]
    assert not_placed == (["not_placed"] if step == "after-preflight" else [])
    assert unaccounted_leads() == []


def test_agent_variables_follow_the_configured_mapping(clock, fake_pearl, pearl):
    set_config("pearl_call_data", '{"nombreClinica": "clinica", "cliente": "nombre"}')
    lead_id = due_lead(nombre="Ana", call_data='{"clinica": "Sol", "poliza": "P-7"}')
    assert run(pearl()).placed == 1
    [request] = fake_pearl.placed_calls(TO)
    [row] = pearl_calls(lead_id)
    assert request["callData"] == {
        "callRef": row["id"],
        "nombreClinica": "Sol",
        "cliente": "Ana",
        "clinica": "Sol",
        "poliza": "P-7",
        "lead_id": lead_id,
        "attempt": 1,
    }


def test_our_lead_id_and_attempt_are_never_replaced_by_the_leads_own_data(clock, fake_pearl, pearl):
    lead_id = due_lead(nombre="Ana", call_data='{"lead_id": "CRM-99", "attempt": "7"}')
    assert run(pearl()).placed == 1
    [request] = fake_pearl.placed_calls(TO)
    assert (request["callData"]["lead_id"], request["callData"]["attempt"]) == (lead_id, 1)
    assert request["callData"]["firstName"] == "Ana"
