"""Small helpers for tests that talk to the test database."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import db
import scheduler_config

TABLES = ("leads", "call_schedule", "scheduler_config", "pearl_calls")
ROOT = Path(__file__).resolve().parent.parent


def run_script(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run one of the project's scripts with this interpreter; DB_* point at the test DB."""
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def sql(statement: str, params: Any = ()) -> list[dict]:
    """Run one statement in its own committed transaction; return its rows."""
    with db.transaction("test sql") as cur:
        cur.execute(statement, params)
        return list(cur.fetchall())


def reset_database() -> None:
    """Delete every row and restore the default configuration rows."""
    with db.transaction("reset test database") as cur:
        for table in (
            "pearl_calls", "call_schedule", "leads", "scheduler_config", "do_not_call",
            "dispatcher_runs", "panel_audit", "panel_users",
        ):  # fmt: skip
            cur.execute(f"DELETE FROM {table}")
        db.apply_schema(cur)
    scheduler_config.clear_config_cache()


def set_config(key: str, value: str | None) -> None:
    """Set (or with None delete) one scheduler_config row and drop the cache."""
    if value is None:
        sql("DELETE FROM scheduler_config WHERE config_key = %s", (key,))
    else:
        sql(
            "INSERT INTO scheduler_config (config_key, config_value) VALUES (%s, %s) "
            "ON DUPLICATE KEY UPDATE config_value = %s",
            (key, value, value),
        )
    scheduler_config.clear_config_cache()


def make_lead(**fields: Any) -> int:
    """Insert a lead (open, no attempts unless given) and return its id."""
    row = {"nombre": "Test", "apellidos": "Lead", "telefono": "+34600000000", **fields}
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    with db.transaction("make lead") as cur:
        cur.execute(f"INSERT INTO leads ({columns}) VALUES ({marks})", tuple(row.values()))
        return cur.lastrowid


def lead(lead_id: int) -> dict:
    """The lead's row."""
    return sql("SELECT * FROM leads WHERE id = %s", (lead_id,))[0]


def schedules(lead_id: int, status: str | None = None) -> list[dict]:
    """The lead's call_schedule rows, oldest first (optionally one status only)."""
    if status is None:
        return sql("SELECT * FROM call_schedule WHERE lead_id = %s ORDER BY id", (lead_id,))
    return sql(
        "SELECT * FROM call_schedule WHERE lead_id = %s AND status = %s ORDER BY id",
        (lead_id, status),
    )


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def tables_checksum() -> str:
    """A digest of every row of every table, to prove that nothing was written."""
    digest = hashlib.sha256()
    for table in TABLES:
        for row in sql(f"SELECT * FROM {table} ORDER BY 1"):
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()
