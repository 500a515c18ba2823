"""process_call_result with the call's row named (row_id: the webhook's callRef match, the
dispatcher's own calls), read with the lead in one statement (queries.LOCK_LEAD_WITH_CALL_ROW):
its locks (the lead first, then the call row, as every other writer takes them: queries.py),
a row of another lead refused or passed over as before, and the decisions that read the lead's
latest result (a late older call is stale, the previous outcome) and the rows holding the
call's ids. Real database, separate connections for the locks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
import pytest

import db
import queries
from call_manager_scheduler_integration import process_call_result
from tests.helpers import lead, make_lead, schedules, sql

pytestmark = pytest.mark.usefixtures("clean_db")

LOCKED = 1205  # ER_LOCK_WAIT_TIMEOUT, what NOWAIT answers for a row another session holds


def _in_flight_row(lead_id: int) -> int:
    with db.transaction("test in-flight row") as cur:
        cur.execute(
            "INSERT INTO pearl_calls (lead_id, state, claimed_at) VALUES (%s, 'placed', NOW())",
            (lead_id,),
        )
        return cur.lastrowid


@contextmanager
def _session() -> Iterator[Any]:
    """A connection of its own (autocommit off), rolled back and closed at the end."""
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.rollback()
        conn.close()


def _free(cur, table: str, row_id: int) -> bool:
    """Whether `row_id` of `table` can be locked right now (NOWAIT), released at once."""
    try:
        cur.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", (row_id,))
    except pymysql.err.OperationalError as exc:
        assert exc.args[0] == LOCKED, exc
        return False
    finally:
        cur.connection.rollback()
    return True


def _combined_in_thread(lead_id: int, row_id: int) -> tuple[threading.Thread, threading.Event]:
    """Run LOCK_LEAD_WITH_CALL_ROW in another thread; the event is set once it returned."""
    done = threading.Event()

    def run() -> None:
        try:
            with db.transaction("test combined lock") as cur:
                db.fetch_one(
                    cur,
                    queries.LOCK_LEAD_WITH_CALL_ROW,
                    {"lead_id": lead_id, "row_id": row_id, "call_id": None, "request_id": None},
                )
                done.set()
        finally:
            db.close_connection()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done


def _wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_waiting_for_the_call_row_it_already_holds_the_lead():
    lead_id = make_lead()
    row_id = _in_flight_row(lead_id)
    with _session() as holder, _session() as probe:
        holder.execute("SELECT id FROM pearl_calls WHERE id = %s FOR UPDATE", (row_id,))
        thread, done = _combined_in_thread(lead_id, row_id)
        # It blocks on the call row, holding the lead: nobody else can take the lead now.
        assert _wait_until(lambda: not _free(probe, "leads", lead_id))
        assert not done.is_set()
        holder.connection.rollback()
        thread.join(10)
    assert done.is_set()


def test_waiting_for_the_lead_it_holds_no_call_row():
    lead_id = make_lead()
    row_id = _in_flight_row(lead_id)
    with _session() as holder, _session() as probe:
        holder.execute("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
        thread, done = _combined_in_thread(lead_id, row_id)
        time.sleep(0.3)
        assert not done.is_set()
        assert _free(probe, "pearl_calls", row_id)  # the lead comes first
        holder.connection.rollback()
        thread.join(10)
    assert done.is_set()


def test_a_callref_echo_of_another_leads_row_is_matched_by_call_id():
    lead_id, other = make_lead(), make_lead(telefono="+34600000001")
    own_row, foreign_row = _in_flight_row(lead_id), _in_flight_row(other)
    sql("UPDATE pearl_calls SET call_id = 'c-own' WHERE id = %s", (own_row,))
    pearl = {"id": "c-own", "status": 7, "callData": {"callRef": foreign_row}}
    done = process_call_result(lead_id, {"call_id": "c-own"}, pearl)
    assert done.pearl_call_row_id == own_row
    rows = sql("SELECT id, outcome FROM pearl_calls ORDER BY id")
    assert rows == [{"id": own_row, "outcome": "no_answer"}, {"id": foreign_row, "outcome": None}]


def test_a_given_row_of_another_lead_is_refused_and_nothing_changes():
    lead_id, other = make_lead(), make_lead(telefono="+34600000001")
    foreign_row = _in_flight_row(other)
    pearl = {"id": "c-x", "status": 7}
    with pytest.raises(ValueError, match="belongs to lead"):
        process_call_result(lead_id, {"call_id": "c-x"}, pearl, row_id=foreign_row)
    assert sql("SELECT outcome FROM pearl_calls") == [{"outcome": None}]
    assert sql("SELECT call_attempts_count FROM leads WHERE id = %s", (lead_id,)) == [
        {"call_attempts_count": 0}
    ]


def _placed_rows(lead_id: int, count: int) -> list[int]:
    """In-flight rows of calls placed in this order (call order = row id order)."""
    return [_in_flight_row(lead_id) for _ in range(count)]


def test_an_older_result_arriving_late_with_its_row_named_is_stale():
    lead_id = make_lead()
    older_row, newer_row = _placed_rows(lead_id, 2)
    newer = {"id": "call-new", "status": 5}
    older = {"id": "call-old", "status": 7}
    done = process_call_result(lead_id, {}, newer, row_id=newer_row)
    assert done.action == "rescheduled"
    [pending] = schedules(lead_id, "pending")
    results = [process_call_result(lead_id, {}, older, row_id=older_row) for _ in range(3)]
    assert [r.action for r in results] == ["stale", "duplicate", "duplicate"]
    row = lead(lead_id)
    assert row["call_attempts_count"] == 2 and row["call_status"] == "busy"
    assert schedules(lead_id, "pending") == [pending]
    assert sql("SELECT id, outcome FROM pearl_calls ORDER BY id") == [
        {"id": older_row, "outcome": "no_answer"},
        {"id": newer_row, "outcome": "busy"},
    ]


def test_the_previous_outcome_is_read_with_the_named_row():
    lead_id = make_lead()
    first_row, second_row = _placed_rows(lead_id, 2)
    first = process_call_result(lead_id, {}, {"id": "f-1", "status": 6}, row_id=first_row)
    assert (first.outcome, first.action) == ("failed", "rescheduled")
    second = process_call_result(lead_id, {}, {"id": "f-2", "status": 6}, row_id=second_row)
    assert (second.outcome, second.closure_reason) == ("invalid_phone", "Teléfono erróneo")


def test_a_call_already_recorded_on_another_row_keeps_it_and_drops_the_named_one():
    lead_id = make_lead()
    in_flight = _in_flight_row(lead_id)
    pearl = {"id": "c-early", "status": 7}
    first = process_call_result(lead_id, {"call_id": "c-early"}, pearl)  # no row: a new one
    assert first.pearl_call_row_id != in_flight
    again = process_call_result(lead_id, {"call_id": "c-early"}, pearl, row_id=in_flight)
    assert (again.action, again.pearl_call_row_id) == ("duplicate", first.pearl_call_row_id)
    assert sql("SELECT id FROM pearl_calls") == [{"id": first.pearl_call_row_id}]
    assert lead(lead_id)["call_attempts_count"] == 1
