"""Locks taken by process_call_result's one-statement read of the lead and its call row
(queries.LOCK_LEAD_WITH_CALL_ROW): the lead first, then the call row, as every other writer
does (queries.py: lead, then its call_schedule and pearl_calls rows); a row of another lead
is refused or passed over as before. Real database, separate connections."""

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
from tests.helpers import make_lead, sql

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
