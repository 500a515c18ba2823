"""Database faults in the middle of real operations: killed connections, lock waits,
deadlocks. Each operation completes after a bounded retry or fails with a clear error,
with nothing half-written."""

from __future__ import annotations

import threading
import time

import pytest

import db
from call_manager_scheduler_integration import enhanced_process_call_result
from reprogramar_llamadas_simple import schedule_call, simple_reschedule_failed_call
from tests.helpers import lead, make_lead, schedules, sql, tables_checksum

pytestmark = pytest.mark.usefixtures("clean_db")


class Blocker:
    """A separate connection that holds row locks until released."""

    def __init__(self) -> None:
        self.conn = db.connect(db.DbSettings.from_env())
        self.cur = self.conn.cursor()
        self.open = True

    def lock(self, statement: str, params: tuple) -> None:
        self.cur.execute(statement, params)

    def release(self) -> None:
        if self.open:
            self.open = False
            self.conn.rollback()
            self.conn.close()


@pytest.fixture
def blocker():
    holder = Blocker()
    yield holder
    holder.release()


def _waiting_connection_id(fragment: str, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = sql(
            "SELECT ID AS id FROM information_schema.PROCESSLIST "
            "WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
            (f"%{fragment}%",),
        )
        if rows:
            return rows[0]["id"]
        time.sleep(0.02)
    raise AssertionError("the operation never started waiting")


def _in_thread(target) -> tuple[threading.Thread, list, list]:
    results, errors = [], []

    def run() -> None:
        try:
            results.append(target())
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close_connection()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results, errors


def test_connection_killed_mid_transaction_is_retried_once_counted(blocker):
    lead_id = make_lead()
    blocker.lock("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
    thread, results, errors = _in_thread(lambda: simple_reschedule_failed_call(lead_id, "busy"))
    victim = _waiting_connection_id("FROM leads l WHERE l.id")
    killer = db.connect(db.DbSettings.from_env())
    with killer.cursor() as cur:
        cur.execute("KILL %s", (victim,))
    killer.close()
    time.sleep(0.2)
    blocker.release()
    thread.join(30)
    assert errors == [] and results == [True]
    assert lead(lead_id)["call_attempts_count"] == 1
    assert len(schedules(lead_id, "pending")) == 1


def test_lock_wait_timeout_fails_clearly_and_writes_nothing(monkeypatch, blocker):
    monkeypatch.setenv("DB_LOCK_WAIT_TIMEOUT", "1")
    db.close_connection()
    lead_id = make_lead()
    before = tables_checksum()
    blocker.lock("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
    try:
        with pytest.raises(db.TransactionFailedError, match="1205"):
            simple_reschedule_failed_call(lead_id, "busy")  # 1 + 3 retries, ~4 s
    finally:
        blocker.release()
        db.close_connection()
    assert tables_checksum() == before


def test_deadlock_with_another_transaction_is_retried(caplog, blocker):
    lead_id = make_lead()
    schedule_call(lead_id)
    [pending] = schedules(lead_id, "pending")
    # The other transaction takes the schedule row first, the processor the lead row...
    blocker.lock("SELECT id FROM call_schedule WHERE id = %s FOR UPDATE", (pending["id"],))
    thread, results, errors = _in_thread(
        lambda: enhanced_process_call_result(lead_id, {"outcome": "no_answer", "call_id": "c-1"})
    )
    _waiting_connection_id("UPDATE call_schedule SET status = 'cancelled'")
    # ...then each waits for the other's row: InnoDB picks a victim.
    try:
        blocker.lock("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
        blocker_won = True
    except Exception as exc:  # the blocker was the victim
        assert exc.args[0] == 1213
        blocker_won = False
    blocker.release()
    thread.join(30)
    assert errors == [], errors
    assert [r.action for r in results] == ["rescheduled"]
    if blocker_won:
        assert "MySQL error 1213, retrying" in caplog.text
    assert lead(lead_id)["call_attempts_count"] == 1
    assert len(sql("SELECT id FROM pearl_calls WHERE lead_id = %s", (lead_id,))) == 1
    assert len(schedules(lead_id, "pending")) == 1
