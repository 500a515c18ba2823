"""Upgrading in place: a database of the original system becomes this system's, row for row."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime

import pymysql
import pytest

import db
import migraciones
from tests.helpers import run_script
from tests.original_system import LEADS, build_original_database

_ENV_KEYS = ("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_DATABASE")


def _query(settings: db.DbSettings, sql: str, params=()) -> list[dict]:
    conn = db.connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            rows = list(cur.fetchall())
        conn.commit()
        return rows
    finally:
        conn.close()


@pytest.fixture
def original_db(database_server: db.DbSettings) -> Iterator[db.DbSettings]:
    """A database of the original system; DB_* point at it for the test's subprocesses."""
    name = f"test_original_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    settings = db.DbSettings(
        host=database_server.host,
        port=database_server.port,
        user=database_server.user,
        password=database_server.password,
        database=name,
    )
    build_original_database(settings)
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    os.environ.update(
        DB_HOST=settings.host,
        DB_PORT=str(settings.port),
        DB_USER=settings.user,
        DB_PASSWORD=settings.password,
        DB_DATABASE=name,
    )
    db.close_connection()
    try:
        yield settings
    finally:
        db.close_connection()
        conn = db.connect(settings, with_database=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _counts(settings: db.DbSettings) -> dict[str, int]:
    return {
        table: _query(settings, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
        for table in ("leads", "call_schedule", "scheduler_config", "pearl_calls", "usuarios")
    }


def test_check_fails_on_the_original_and_dry_run_changes_nothing(original_db) -> None:
    check = run_script("db.py", "check")
    assert check.returncode == 1
    assert "missing column leads.origen_archivo" in check.stdout
    before = _query(original_db, "SELECT * FROM call_schedule ORDER BY id")
    dry = run_script("db.py", "init", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "ALTER TABLE `leads` ADD COLUMN `origen_archivo`" in dry.stdout
    assert "UPDATE call_schedule SET scheduled_at = CASE" in dry.stdout
    assert "ADD UNIQUE KEY uq_call_schedule_one_pending" in dry.stdout
    assert _query(original_db, "SELECT * FROM call_schedule ORDER BY id") == before
    assert run_script("db.py", "check").returncode == 1


def test_upgrade_keeps_every_row_and_converts_the_data(original_db) -> None:
    before = _counts(original_db)
    legacy_leads = _query(original_db, "SELECT id, nif, poliza, telefono FROM leads ORDER BY id")
    result = run_script("db.py", "init")
    assert result.returncode == 0, result.stderr
    assert "upgraded from the original system" in result.stdout
    after = _counts(original_db)
    # Rows are never lost; schema.sql adds its missing default configuration keys.
    assert {k: v for k, v in after.items() if k != "scheduler_config"} == {
        k: v for k, v in before.items() if k != "scheduler_config"
    }
    assert after["scheduler_config"] >= before["scheduler_config"]
    # Columns the port does not use are kept with their values.
    assert _query(original_db, "SELECT id, nif, poliza, telefono FROM leads ORDER BY id") == (
        legacy_leads
    )
    check = run_script("db.py", "check")
    assert check.returncode == 0, check.stdout + check.stderr

    rows = {r["id"]: r for r in _query(original_db, "SELECT * FROM call_schedule ORDER BY id")}
    # Naive Madrid local times became UTC, each with the offset of its date.
    assert rows[1]["scheduled_at"] == datetime(2026, 7, 15, 8, 30)  # CEST, UTC+2
    assert rows[2]["scheduled_at"] == datetime(2026, 12, 1, 11, 0)  # CET, UTC+1
    # The lead with two pending calls keeps the earliest; the other is cancelled with a reason.
    assert rows[2]["status"] == "pending"
    assert rows[3]["status"] == "cancelled"
    assert "duplicate pending" in rows[3]["cancel_reason"]
    # Legacy enum values mapped and reported.
    assert rows[5]["status"] == "cancelled" and "failed" in rows[5]["cancel_reason"]
    assert "'in_progress' -> 'calling'" in result.stdout
    leads = {r["nombre"]: r for r in _query(original_db, "SELECT * FROM leads")}
    assert leads["Benito"]["call_status"] == "calling"
    assert leads["Diego"]["lead_status"] == "open" and leads["Diego"]["call_status"] == "selected"
    assert leads["Ana"]["preferencia_horario"] == "morning"
    assert leads["Elena"]["preferencia_horario"] == "afternoon"
    assert len(leads) == len(LEADS)
    # Legacy configuration translated, legacy rows kept, the rest reported.
    config = {
        r["config_key"]: r["config_value"]
        for r in _query(original_db, "SELECT config_key, config_value FROM scheduler_config")
    }
    assert config["default_max_attempts"] == "6" and config["max_attempts"] == "6"
    assert config["default_delay_hours"] == "30" and config["reschedule_hours"] == "30"
    assert "working_time_slots" in config and "daemon_enabled" in config
    assert "daemon_enabled: ignored" in result.stdout
    assert "closure_reasons: ignored" in result.stdout
    # Legacy call history is history, not calls in flight.
    calls = _query(original_db, "SELECT state FROM pearl_calls")
    assert [c["state"] for c in calls] == ["completed"]


def test_second_upgrade_does_nothing(original_db) -> None:
    assert run_script("db.py", "init").returncode == 0
    snapshot = _query(original_db, "SELECT * FROM call_schedule ORDER BY id")
    again = run_script("db.py", "init")
    assert again.returncode == 0
    assert "ran 0 statement(s)" in again.stdout
    dry = run_script("db.py", "init", "--dry-run")
    assert "would run 0 statement(s)" in dry.stdout
    assert _query(original_db, "SELECT * FROM call_schedule ORDER BY id") == snapshot


def test_the_port_runs_on_the_upgraded_database(original_db) -> None:
    assert run_script("db.py", "init").returncode == 0
    dry = run_script("despachar_llamadas.py", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    # A copy of a real database is marked as a demo one before simulating on it.
    _query(original_db, "INSERT INTO scheduler_config (config_key, config_value) "
           "VALUES ('demo_database', 'true')")  # fmt: skip
    dispatch = run_script("despachar_llamadas.py", "--simulate", "--json")
    assert dispatch.returncode == 0, dispatch.stderr
    assert "Unknown column" not in dispatch.stderr
    monitoring = run_script("probar_llamadas_programadas.py", "--json")
    assert json.loads(monitoring.stdout)["self_tests"] == {
        "probar_reprogramacion_automatica": True,
        "simular_proceso_llamada_exitosa": True,
        "simular_proceso_llamada_fallida": True,  # writes pearl_calls: legacy NOT NULLs gone
    }, monitoring.stderr
    assert run_script("mantenimiento.py", "check-config").returncode == 0
    assert run_script("mantenimiento.py", "cleanup-closed", "--dry-run").returncode == 0
    import reprogramar_llamadas_simple
    import scheduler_config

    scheduler_config.clear_config_cache()
    lead_id = _query(original_db, "SELECT id FROM leads WHERE nombre = 'Ana'")[0]["id"]
    assert reprogramar_llamadas_simple.simple_reschedule_failed_call(lead_id, "no_answer")
    pending = _query(
        original_db,
        "SELECT attempt_number FROM call_schedule WHERE lead_id = %s AND status = 'pending'",
        (lead_id,),
    )
    assert len(pending) == 1
    # The unique index the upgrade added refuses a second pending row.
    with pytest.raises(pymysql.err.IntegrityError):
        _query(
            original_db,
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
            "VALUES (%s, '2027-01-01 10:00:00', 9, 'pending')",
            (lead_id,),
        )
    scheduler_config.clear_config_cache()


def test_a_fresh_database_is_created_and_baselined(database_server: db.DbSettings) -> None:
    settings = db.DbSettings(
        host=database_server.host,
        port=database_server.port,
        user=database_server.user,
        password=database_server.password,
        database=f"test_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}",
    )
    try:
        first = db.upgrade_database(settings)
        assert first.created and not first.legacy
        rows = _query(settings, "SELECT version, baseline FROM schema_migrations")
        assert rows and all(r["baseline"] for r in rows)
        assert db.upgrade_database(settings).count == 0
    finally:
        conn = db.connect(settings, with_database=False)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")
        conn.close()


# --- pure parts ---------------------------------------------------------------------------


def test_schema_sql_parses_into_tables_columns_keys() -> None:
    tables, others = migraciones.parse_schema(db.schema_statements())
    assert {"leads", "call_schedule", "do_not_call", "pearl_calls"} <= set(tables)
    assert tables["leads"].columns["call_data"].startswith("JSON")
    assert tables["call_schedule"].indexes["uq_call_schedule_one_pending"][0] is True
    assert "fk_call_schedule_lead" in tables["call_schedule"].foreign_keys
    assert any("scheduler_config" in statement for statement in others)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("int(11)", "INT"),
        ("int(10) unsigned", "INT UNSIGNED"),
        ("tinyint(1)", "BOOLEAN"),
        ("longtext", "JSON"),
        ("enum('open','closed')", "ENUM('open', 'closed')"),
    ],
)
def test_equivalent_types_compare_equal(a: str, b: str) -> None:
    assert migraciones.normalise_type(a) == migraciones.normalise_type(b)


def test_dst_periods_cover_both_changes_of_a_year() -> None:
    import importlib.util
    from zoneinfo import ZoneInfo

    assert migraciones.load_migrations()[0].version.startswith("0001")

    path = migraciones.MIGRATIONS_DIR / "0001_schedule_times_to_utc.py"
    loader = importlib.util.spec_from_file_location("m0001", path)
    m = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(m)
    periods = m.periods(datetime(2026, 1, 5), datetime(2026, 12, 5), ZoneInfo("Europe/Madrid"))
    assert periods == [
        (datetime(2026, 3, 29, 3, 0), 60),
        (datetime(2026, 10, 25, 3, 0), 120),
        (None, 60),
    ]


# --- environment precedence ---------------------------------------------------------------


def test_database_url_fills_the_settings() -> None:
    settings = db.DbSettings.from_env({"MYSQL_URL": "mysql://app:p%40ss@db.example:3307/calls"})
    assert (settings.host, settings.port, settings.user, settings.database) == (
        "db.example",
        3307,
        "app",
        "calls",
    )
    assert settings.password == "p@ss"


def test_precedence_db_then_url_then_mysql_variables() -> None:
    env = {
        "DB_HOST": "from-db",
        "MYSQL_URL": "mysql://urluser:urlpass@from-url:3310/urldb",
        "DATABASE_URL": "mysql://other@ignored/other",
        "MYSQLHOST": "from-mysqlhost",
        "MYSQLUSER": "mysqluser",
        "MYSQLDATABASE": "mysqldb",
    }
    settings = db.DbSettings.from_env(env)
    assert settings.host == "from-db"  # DB_* wins
    assert settings.user == "urluser" and settings.database == "urldb"  # then MYSQL_URL
    assert settings.port == 3310 and settings.password == "urlpass"
    legacy = db.DbSettings.from_env(
        {"MYSQLHOST": "h", "MYSQLPORT": "3399", "MYSQLUSER": "u", "MYSQLPASSWORD": "pw",
         "MYSQLDATABASE": "railway"}
    )  # fmt: skip
    assert (legacy.host, legacy.port, legacy.user, legacy.password, legacy.database) == (
        "h",
        3399,
        "u",
        "pw",
        "railway",
    )
    fallback = db.DbSettings.from_env({"DATABASE_URL": "mysql://a@b/c", "MYSQLPASSWORD": "pw"})
    assert (fallback.host, fallback.user, fallback.database, fallback.password) == (
        "b",
        "a",
        "c",
        "pw",
    )


def test_a_bad_url_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(ValueError, match="MYSQL_URL must look like") as excinfo:
        db.DbSettings.from_env({"MYSQL_URL": "postgres://u:secret@h/db"})
    assert "secret" not in str(excinfo.value)
    with pytest.raises(ValueError, match="DATABASE_URL has a port"):
        db.DbSettings.from_env({"DATABASE_URL": "mysql://u:secret@h:notaport/db"})
