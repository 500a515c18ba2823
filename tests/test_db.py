"""db.py: settings, transactions and retries, schema tools, against the real server."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pymysql
import pytest

import db
import schema_model
from tests.helpers import make_lead, run_script, sql

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def scratch_database(test_database):
    """A database name that does not exist yet; dropped afterwards."""
    name = f"test_scratch_{uuid.uuid4().hex[:10]}"
    yield name
    sql(f"DROP DATABASE IF EXISTS `{name}`")


def test_settings_from_env_and_secret_kept_out_of_repr():
    settings = db.DbSettings.from_env(
        {"DB_HOST": "db.example", "DB_PORT": "3307", "DB_PASSWORD": "s3cret-pw", "DB_DATABASE": "x"}
    )
    assert (settings.host, settings.port, settings.database) == ("db.example", 3307, "x")
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in settings.describe()


@pytest.mark.parametrize(
    "env",
    [{"DB_PORT": "abc"}, {"DB_PORT": "-1"}, {"DB_DATABASE": "x`; DROP"}, {"DB_READ_TIMEOUT": "z"}],
)
def test_bad_settings_are_refused(env):
    with pytest.raises(ValueError):
        db.DbSettings.from_env(env)


def test_connection_failure_is_one_clear_error_without_password():
    settings = db.DbSettings(
        host="127.0.0.1", port=1, password="hunter2-secret", database="nope", connect_timeout=2
    )
    with pytest.raises(db.DatabaseUnavailableError) as info:
        db.connect(settings)
    message = str(info.value)
    assert "127.0.0.1:1" in message and "'nope'" in message and "DB_HOST" in message
    assert "hunter2-secret" not in message + repr(info.value)


def test_wrong_password_is_reported_without_it(test_database):
    settings = db.DbSettings(
        host=test_database.host,
        port=test_database.port,
        user="no_such_user_x",
        password="wrong-pw-123",
        database=test_database.database,
    )
    with pytest.raises(db.DatabaseUnavailableError) as info:
        db.connect(settings)
    assert "wrong-pw-123" not in str(info.value)


def test_session_is_utc_and_read_committed(clean_db):
    [row] = sql(
        "SELECT @@session.time_zone AS tz, TIMESTAMPDIFF(SECOND, NOW(), UTC_TIMESTAMP()) AS d"
    )
    assert row["tz"] == "+00:00" and row["d"] == 0


def test_connection_is_reused_within_a_thread(clean_db):
    [first] = sql("SELECT CONNECTION_ID() AS id")
    [second] = sql("SELECT CONNECTION_ID() AS id")
    assert first["id"] == second["id"]


def test_transaction_rolls_back_on_exception(clean_db):
    with pytest.raises(RuntimeError), db.transaction() as cur:
        cur.execute("INSERT INTO leads (nombre) VALUES ('rolled back')")
        raise RuntimeError("boom")
    assert sql("SELECT COUNT(*) AS n FROM leads")[0]["n"] == 0


def test_nested_transactions_are_refused(clean_db):
    with pytest.raises(RuntimeError, match="nested"), db.transaction():
        db.run_in_transaction(lambda cur: None)


def test_deadlock_is_retried_until_both_complete(clean_db):
    a, b = make_lead(), make_lead()
    barrier = threading.Barrier(2)
    runs = {"first": 0, "second": 0}
    errors = []

    def locker(name: str, order: tuple[int, int]) -> None:
        def work(cur) -> None:
            runs[name] += 1
            cur.execute("SELECT id FROM leads WHERE id = %s FOR UPDATE", (order[0],))
            if runs[name] == 1:
                barrier.wait(timeout=10)  # both hold their first lock: a cycle follows
            cur.execute(
                "UPDATE leads SET call_attempts_count = call_attempts_count + 1 WHERE id = %s",
                (order[1],),
            )

        try:
            db.run_in_transaction(work, name=name)
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close_connection()

    threads = [
        threading.Thread(target=locker, args=("first", (a, b))),
        threading.Thread(target=locker, args=("second", (b, a))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert runs["first"] + runs["second"] == 3  # exactly one victim ran twice
    counts = sql("SELECT SUM(call_attempts_count) AS n FROM leads")[0]["n"]
    assert counts == 2


def _hold_lock(settings: db.DbSettings, lead_id: int, seconds: float) -> threading.Thread:
    locked = threading.Event()

    def hold() -> None:
        conn = db.connect(settings)
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
            locked.set()
            time.sleep(seconds)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(10)
    return thread


def test_lock_wait_timeout_is_retried_then_succeeds(clean_db, monkeypatch):
    monkeypatch.setenv("DB_LOCK_WAIT_TIMEOUT", "1")
    db.close_connection()
    lead_id = make_lead()
    holder = _hold_lock(db.DbSettings.from_env(), lead_id, 1.5)
    runs = []

    def work(cur) -> None:
        runs.append(1)
        cur.execute("UPDATE leads SET nombre = 'after wait' WHERE id = %s", (lead_id,))

    db.run_in_transaction(work, retries=3)
    holder.join()
    db.close_connection()
    assert len(runs) >= 2
    assert sql("SELECT nombre FROM leads WHERE id = %s", (lead_id,))[0]["nombre"] == "after wait"


def test_lock_wait_timeout_gives_up_with_a_clear_error(clean_db, monkeypatch):
    monkeypatch.setenv("DB_LOCK_WAIT_TIMEOUT", "1")
    db.close_connection()
    lead_id = make_lead()
    holder = _hold_lock(db.DbSettings.from_env(), lead_id, 3)

    def work(cur) -> None:
        cur.execute("UPDATE leads SET nombre = 'never' WHERE id = %s", (lead_id,))

    with pytest.raises(db.TransactionFailedError, match="1205"):
        db.run_in_transaction(work, retries=0, name="blocked update")
    holder.join()
    db.close_connection()
    assert sql("SELECT nombre FROM leads WHERE id = %s", (lead_id,))[0]["nombre"] != "never"


def test_killed_connection_is_replaced_and_the_transaction_rerun(clean_db):
    [row] = sql("SELECT CONNECTION_ID() AS id")
    killer = db.connect(db.DbSettings.from_env())
    with killer.cursor() as cur:
        cur.execute("KILL %s", (row["id"],))
    killer.close()
    runs = []

    def work(cur) -> int:
        runs.append(1)
        cur.execute("INSERT INTO leads (nombre) VALUES ('after kill')")
        cur.execute("SELECT CONNECTION_ID() AS id")
        return cur.fetchone()["id"]

    new_id = db.run_in_transaction(work)
    assert new_id != row["id"]
    assert len(runs) == 2
    assert sql("SELECT COUNT(*) AS n FROM leads WHERE nombre = 'after kill'")[0]["n"] == 1


def test_expected_schema_matches_schema_sql(clean_db):
    with db.transaction() as cur:
        assert db.schema_problems(cur, clean_db.database) == []
        live = {
            (r["table_name"], r["column_name"])
            for r in db.fetch_all(cur, db.queries.SCHEMA_COLUMNS, (clean_db.database,))
        }
    target, _ = schema_model.parse_schema(db.schema_statements())
    expected = {(t, c) for t, spec in target.items() for c in spec.columns}
    assert live - {(t, c) for t, c in live if t == "schema_migrations"} == expected
    assert ("pearl_calls", "lease_expires_at") in expected  # parsed, not a hand-kept list


def test_init_twice_on_empty_database_keeps_data_and_config(scratch_database):
    env = {"DB_DATABASE": scratch_database}
    first = run_script("db.py", "init", env=env)
    assert first.returncode == 0, first.stderr
    settings = db.DbSettings.from_env({**os.environ, **env})
    conn = db.connect(settings)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE scheduler_config SET config_value = '2' "
            "WHERE config_key = 'default_delay_hours'"
        )
        cur.execute("INSERT INTO leads (nombre) VALUES ('kept')")
    conn.commit()
    second = run_script("db.py", "init", env=env)
    assert second.returncode == 0, second.stderr
    with conn.cursor() as cur:
        cur.execute(
            "SELECT config_value FROM scheduler_config WHERE config_key = 'default_delay_hours'"
        )
        assert cur.fetchone()["config_value"] == "2"
        cur.execute("SELECT COUNT(*) AS n FROM leads")
        assert cur.fetchone()["n"] == 1
    conn.close()
    check = run_script("db.py", "check", env=env)
    assert check.returncode == 0 and "schema OK" in check.stdout


def test_check_reports_missing_pieces(scratch_database):
    env = {"DB_DATABASE": scratch_database}
    assert run_script("db.py", "init", env=env).returncode == 0
    conn = db.connect(db.DbSettings.from_env({**os.environ, **env}))
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE call_schedule DROP INDEX idx_call_schedule_due")
        cur.execute("ALTER TABLE leads DROP COLUMN timezone")
        cur.execute("DROP TABLE pearl_calls")
    conn.close()
    check = run_script("db.py", "check", env=env)
    assert check.returncode == 1
    assert "missing index call_schedule.idx_call_schedule_due" in check.stdout
    assert "missing column leads.timezone" in check.stdout
    assert "missing table pearl_calls" in check.stdout


def test_cli_unreachable_database_is_one_line_and_nonzero(tmp_path):
    result = run_script(
        str(ROOT / "db.py"), "check",
        env={"DB_HOST": "127.0.0.1", "DB_PORT": "1", "DB_PASSWORD": "pw-should-not-show"},
    )  # fmt: skip
    assert result.returncode == 3  # database errors exit 3 in every script
    assert "Traceback" not in result.stderr
    assert "pw-should-not-show" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_pymysql_errors_other_than_locks_are_not_retried(clean_db):
    runs = []

    def work(cur) -> None:
        runs.append(1)
        cur.execute("SELECT * FROM no_such_table")

    with pytest.raises(pymysql.err.ProgrammingError):
        db.run_in_transaction(work)
    assert runs == [1]
