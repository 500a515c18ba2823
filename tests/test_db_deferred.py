"""db.defer: writes queued on the transaction and sent in one round trip with the next
statement or with the COMMIT. Exactly the guarantees of running them at once: in order,
visible to later reads, an error rolls everything back (nothing after the failed statement
runs, the COMMIT included), a deadlock re-runs the transaction with a fresh queue, and a
connection lost while the COMMIT is in flight is a CommitUnknownError. Real database."""

from __future__ import annotations

import threading
import time
from contextlib import suppress

import pymysql
import pytest

import db
from queries import Query
from tests.helpers import make_lead, sql

pytestmark = pytest.mark.usefixtures("clean_db")

ADD_ATTEMPT = Query(
    "test: one more attempt on a lead",
    "UPDATE leads SET call_attempts_count = call_attempts_count + 1 WHERE id = %s",
)
SET_ATTEMPTS = Query(
    "test: set a lead's attempts",
    "UPDATE leads SET call_attempts_count = %(n)s WHERE id = %(lead_id)s",
)
READ_ATTEMPTS = Query(
    "test: a lead's attempts", "SELECT call_attempts_count AS n FROM leads WHERE id = %s"
)
LOCK = Query("test: lock a lead", "SELECT id FROM leads WHERE id = %s FOR UPDATE")
# A pearl_calls row of a lead that does not exist: a foreign key error (1452).
ORPHAN_CALL = Query(
    "test: a call row of a missing lead",
    "INSERT INTO pearl_calls (lead_id, state) VALUES (%s, 'claimed')",
)


def attempts(lead_id: int) -> int:
    return sql("SELECT call_attempts_count AS n FROM leads WHERE id = %s", (lead_id,))[0]["n"]


def test_deferred_writes_are_committed_in_order():
    lead_id = make_lead()

    def work(cur) -> None:
        db.defer(cur, SET_ATTEMPTS, {"n": 5, "lead_id": lead_id})
        db.defer(cur, ADD_ATTEMPT, (lead_id,))
        assert attempts_seen_elsewhere() == 0  # nothing sent yet: not even uncommitted

    def attempts_seen_elsewhere() -> int:
        conn = db.connect()
        try:
            with conn.cursor() as other:
                other.execute(READ_ATTEMPTS.sql, (lead_id,))
                return other.fetchone()["n"]
        finally:
            conn.close()

    db.run_in_transaction(work)
    assert attempts(lead_id) == 6


def test_a_read_after_deferred_writes_sees_them():
    lead_id = make_lead()

    def work(cur) -> int:
        db.defer(cur, SET_ATTEMPTS, {"n": 5, "lead_id": lead_id})
        db.defer(cur, ADD_ATTEMPT, (lead_id,))
        seen = db.fetch_one(cur, READ_ATTEMPTS, (lead_id,))["n"]
        db.defer(cur, ADD_ATTEMPT, (lead_id,))
        return seen

    assert db.run_in_transaction(work) == 6
    assert attempts(lead_id) == 7


def test_the_batch_travels_with_the_commit_in_one_round_trip(monkeypatch):
    lead_id = make_lead()
    batches = []
    send = db._send_batch

    def counting(conn, statements, *, commit):
        batches.append(([s.query for s in statements], commit))
        return send(conn, statements, commit=commit)

    monkeypatch.setattr(db, "_send_batch", counting)

    def work(cur) -> None:
        db.fetch_one(cur, LOCK, (lead_id,))
        db.defer(cur, ADD_ATTEMPT, (lead_id,))
        db.defer(cur, ADD_ATTEMPT, (lead_id,))

    db.run_in_transaction(work)
    assert batches == [([ADD_ATTEMPT, ADD_ATTEMPT], True)]
    assert attempts(lead_id) == 2


def test_an_error_in_a_deferred_statement_rolls_everything_back():
    lead_id = make_lead()
    calls = []

    def work(cur) -> None:
        calls.append(1)
        db.execute(cur, SET_ATTEMPTS, {"n": 3, "lead_id": lead_id})  # sent at once
        db.defer(cur, ADD_ATTEMPT, (lead_id,))  # before the failing one
        db.defer(cur, ORPHAN_CALL, (999_999,))  # fails: no such lead
        db.defer(cur, ADD_ATTEMPT, (lead_id,))  # after it: never runs

    with pytest.raises(pymysql.err.IntegrityError):
        db.run_in_transaction(work)
    assert calls == [1]  # not a retryable error
    assert attempts(lead_id) == 0
    assert sql("SELECT COUNT(*) AS n FROM pearl_calls") == [{"n": 0}]
    # The connection is clean afterwards: the next transaction works and commits.
    db.run_in_transaction(lambda cur: db.defer(cur, ADD_ATTEMPT, (lead_id,)))
    assert attempts(lead_id) == 1


def test_an_error_in_a_batch_sent_before_a_read_is_raised_there():
    lead_id = make_lead()
    reached = []

    def work(cur) -> None:
        db.defer(cur, ADD_ATTEMPT, (lead_id,))
        db.defer(cur, ORPHAN_CALL, (999_999,))
        db.fetch_one(cur, READ_ATTEMPTS, (lead_id,))
        reached.append(1)

    with pytest.raises(pymysql.err.IntegrityError), db.transaction() as cur:
        work(cur)
    assert reached == []
    assert attempts(lead_id) == 0


def test_a_caught_error_of_a_deferred_batch_still_prevents_the_commit():
    lead_id = make_lead()

    def work(cur) -> None:
        db.defer(cur, ORPHAN_CALL, (999_999,))
        db.defer(cur, ADD_ATTEMPT, (lead_id,))  # never ran: the batch stopped before it
        with suppress(pymysql.err.IntegrityError):  # carrying on must not commit without
            db.fetch_one(cur, READ_ATTEMPTS, (lead_id,))  # the writes after the failed one
        with suppress(pymysql.err.IntegrityError):
            db.execute(cur, SET_ATTEMPTS, {"n": 9, "lead_id": lead_id})  # refused as well

    with pytest.raises(pymysql.err.IntegrityError):
        db.run_in_transaction(work)
    assert attempts(lead_id) == 0


def test_a_deadlock_in_the_commit_batch_reruns_the_transaction_with_a_fresh_queue():
    lead_a, lead_b = make_lead(), make_lead(telefono="+34600000001")
    heavy = [make_lead(telefono=f"+3460000010{i}") for i in range(8)]
    blocker_has_b, go = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def blocker() -> None:
        # Holds lead B (and many rows, so InnoDB picks the other side as the victim), then,
        # once the transaction below waits for B inside its COMMIT batch, asks for lead A.
        conn = db.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("UPDATE leads SET nombre = 'heavy' WHERE id IN %s", (heavy,))
                cur.execute(LOCK.sql, (lead_b,))
                blocker_has_b.set()
                go.wait(10)
                time.sleep(0.5)
                cur.execute(LOCK.sql, (lead_a,))
                outcome["blocker"] = "got A"
            conn.rollback()
        except pymysql.err.MySQLError as exc:
            outcome["blocker"] = exc.args[0]
            conn.rollback()
        finally:
            conn.close()

    thread = threading.Thread(target=blocker)
    thread.start()
    assert blocker_has_b.wait(10)
    runs = []
    db.reset_retry_stats()

    def work(cur) -> None:
        runs.append(1)
        db.fetch_one(cur, LOCK, (lead_a,))
        db.defer(cur, ADD_ATTEMPT, (lead_b,))
        db.defer(cur, ADD_ATTEMPT, (lead_a,))
        go.set()

    db.run_in_transaction(work, name="deadlock test")
    thread.join(10)
    assert outcome["blocker"] == "got A"
    assert len(runs) == 2 and db.retry_stats[1213] == 1
    # Each run queued its own writes; only the second run's were committed, once.
    assert attempts(lead_a) == 1 and attempts(lead_b) == 1


def test_a_connection_lost_while_the_commit_batch_is_in_flight_is_commit_unknown():
    lead_id = make_lead()
    holder = db.connect()
    killer = db.connect()
    try:
        with holder.cursor() as cur:
            cur.execute(LOCK.sql, (lead_id,))
        thread_ids = []

        def kill_when_waiting() -> None:
            time.sleep(0.5)  # the batch below waits for the lead's lock by now
            with killer.cursor() as cur:
                cur.execute("KILL %s", (thread_ids[0],))

        def work(cur) -> None:
            thread_ids.append(cur.connection.thread_id())
            db.defer(cur, ADD_ATTEMPT, (lead_id,))
            threading.Thread(target=kill_when_waiting).start()

        with pytest.raises(db.CommitUnknownError):
            db.run_in_transaction(work, name="lost commit test")
    finally:
        holder.rollback()
        holder.close()
        killer.close()
    assert attempts(lead_id) == 0
    db.run_in_transaction(lambda cur: db.defer(cur, ADD_ATTEMPT, (lead_id,)))  # reconnects
    assert attempts(lead_id) == 1


def test_outside_a_managed_transaction_defer_runs_at_once():
    lead_id = make_lead()
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            db.defer(cur, ADD_ATTEMPT, (lead_id,))
            assert cur.rowcount == 1
        conn.commit()
    finally:
        conn.close()
    assert attempts(lead_id) == 1
