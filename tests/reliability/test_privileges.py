"""The minimum privileges the README documents are enough to run the system."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from clock import to_db, utc_now
from tests.helpers import run_script, sql

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("leads", "call_schedule", "scheduler_config", "pearl_calls", "do_not_call",
          "dispatcher_runs", "schema_migrations", "panel_users", "panel_audit")  # fmt: skip


@pytest.fixture
def restricted_user(clean_db):
    user, password = f"llam_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    sql("INSERT INTO scheduler_config (config_key, config_value) VALUES ('demo_database', 'true')")
    # A dispatcher run a minute ago: monitoring then has no alert to report (exit 1) at any
    # hour, so only a privilege problem can fail the scripts.
    now = utc_now()
    sql(
        "INSERT INTO dispatcher_runs (run_id, started_at, finished_at, exit_code, due, placed) "
        "VALUES (%s, %s, %s, 0, 0, 0)",
        (uuid.uuid4().hex, to_db(now - timedelta(minutes=1)), to_db(now - timedelta(seconds=50))),
    )
    sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
    try:
        for table in TABLES:
            target = f"`{clean_db.database}`.`{table}`"
            sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {target} TO '{user}'@'%%'")
        yield user, password
    finally:
        sql(f"DROP USER '{user}'@'%%'")


@pytest.mark.parametrize(
    "command",
    [
        ["probar_llamadas_programadas.py"],
        ["despachar_llamadas.py", "--simulate"],
        ["mantenimiento.py", "cleanup-closed"],
        ["mantenimiento.py", "check-config"],
        ["db.py", "check"],
    ],
)
def test_scripts_run_with_dml_privileges_only(restricted_user, command):
    user, password = restricted_user
    result = run_script(*command, env={"DB_USER": user, "DB_PASSWORD": password})
    assert result.returncode == 0, result.stdout + result.stderr
