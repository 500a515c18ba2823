"""Operations through the real scripts against the real database: one-line errors and exit
codes for every database error class, the exit-code table in every --help, the heartbeat,
the pause switch, and honest configuration and reschedule commands."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pymysql
import pytest

import db
import heartbeat
import operations
import script_errors
from tests import helpers
from tests.helpers import lead, make_lead, schedules, set_config, sql, tables_checksum

SCRIPTS = (
    "probar_llamadas_programadas.py",
    "mantenimiento.py",
    "reprogramar_llamadas_simple.py",
    "db.py",
)


def run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return helpers.run_script(script, *args, env=env)


def one_line(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed script (and no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def server_connection(settings: db.DbSettings):
    return pymysql.connect(
        host=settings.host, port=settings.port, user=settings.user,
        password=settings.password, autocommit=True,
    )  # fmt: skip


@pytest.fixture
def empty_database(database_server):
    """A database that exists but where `db.py init` never ran."""
    name = f"test_ops_empty_{uuid.uuid4().hex[:8]}"
    conn = server_connection(database_server)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def read_only_user(test_database):
    """A MariaDB user that may only SELECT on the test database; dropped afterwards."""
    user, password = f"ops_ro_{uuid.uuid4().hex[:8]}", "ro-" + uuid.uuid4().hex[:12]
    conn = server_connection(test_database)
    hosts = ("%", "localhost", "127.0.0.1")
    with conn.cursor() as cur:
        for host in hosts:
            cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
            cur.execute(f"GRANT SELECT ON `{test_database.database}`.* TO '{user}'@'{host}'")
    try:
        yield {"DB_USER": user, "DB_PASSWORD": password}
    finally:
        with conn.cursor() as cur:
            for host in hosts:
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        conn.close()


# --- one-line errors and exit codes -------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("probar_llamadas_programadas.py", ["--stats"]),
        ("mantenimiento.py", ["check-config"]),
        ("mantenimiento.py", ["stranded"]),
        ("reprogramar_llamadas_simple.py", ["reschedule", "1", "busy"]),
    ],
)
def test_schema_missing_says_run_db_init_and_exits_3(empty_database, script, args):
    result = run(script, *args, env={"DB_DATABASE": empty_database})
    assert result.returncode == 3
    line = one_line(result)
    assert line.startswith("error: a table is missing") and "run `python db.py init`" in line


def test_schema_missing_verbose_shows_the_traceback(empty_database):
    result = run("mantenimiento.py", "check-config", "--verbose",
                 env={"DB_DATABASE": empty_database})  # fmt: skip
    assert result.returncode == 3
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: a table is missing")


def test_unknown_database_exit_3_and_init_hint(test_database):
    missing = f"test_ops_missing_{uuid.uuid4().hex[:8]}"
    for script, args in (("probar_llamadas_programadas.py", ["--stats"]),
                         ("db.py", ["check"])):  # fmt: skip
        result = run(script, *args, env={"DB_DATABASE": missing})
        assert result.returncode == 3, (script, result.stderr)
        line = one_line(result)
        assert "does not exist" in line and "(error 1049)" in line
        assert "run `python db.py init`" in line


def test_db_init_never_suggests_itself():
    result = run("db.py", "init", env={"DB_HOST": "127.0.0.1", "DB_PORT": "1",
                                       "DB_CONNECT_TIMEOUT": "2"})  # fmt: skip
    assert result.returncode == 3
    line = one_line(result)
    assert "(error 2003)" in line and "db.py init" not in line


def test_wrong_password_is_1045_and_names_the_settings(read_only_user):
    env = {**read_only_user, "DB_PASSWORD": "definitely-wrong-pw"}
    result = run("mantenimiento.py", "check-config", env=env)
    assert result.returncode == 3
    line = one_line(result)
    assert "(error 1045)" in line and "DB_USER and DB_PASSWORD" in line
    assert "definitely-wrong-pw" not in result.stderr + result.stdout


def test_user_without_write_privilege_names_the_privilege(clean_db, read_only_user):
    lead_id = make_lead()
    before = tables_checksum()
    result = run("reprogramar_llamadas_simple.py", "reschedule", str(lead_id), "busy",
                 env=read_only_user)  # fmt: skip
    assert result.returncode == 3
    line = one_line(result)
    assert "lacks the" in line and "privilege" in line and "GRANT" in line
    assert "(error 114" in line
    assert tables_checksum() == before
    # Reading works for the same user: monitoring of statistics is allowed.
    assert run("probar_llamadas_programadas.py", "--stats", env=read_only_user).returncode == 0


def test_demo_without_create_privilege_is_one_line(clean_db, read_only_user):
    result = run("probar_llamadas_programadas.py", "--demo", env=read_only_user)
    assert result.returncode == 3
    line = one_line(result)
    assert "(error 1044)" in line or "(error 1142)" in line


def test_malformed_setting_is_a_configuration_error_exit_2():
    for script, args in (("probar_llamadas_programadas.py", ["--stats"]),
                         ("mantenimiento.py", ["check-config"]),
                         ("db.py", ["check"])):  # fmt: skip
        result = run(script, *args, env={"DB_PORT": "not-a-port"})
        assert result.returncode == 2, (script, result.stderr)
        assert "DB_PORT must be a number" in one_line(result)


def test_lock_timeout_is_one_line_exit_3(clean_db):
    lead_id = make_lead()
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
            result = run("reprogramar_llamadas_simple.py", "reschedule", str(lead_id), "busy",
                         env={"DB_LOCK_WAIT_TIMEOUT": "1"})  # fmt: skip
        conn.rollback()
    finally:
        conn.close()
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    # The retries are logged with timestamps; the error itself is the last, single line.
    *retries, line = result.stderr.strip().splitlines()
    assert line.startswith("error: gave up waiting for a row lock") and "(error 1205)" in line
    assert all(entry[:4].isdigit() and "retrying" in entry for entry in retries)
    assert lead(lead_id)["call_attempts_count"] == 0


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_help_shows_the_exit_code_table(script):
    result = run(script, "--help")
    assert result.returncode == 0
    assert script_errors.EXIT_CODES_HELP in result.stdout


def test_readme_repeats_the_exit_code_table():
    readme = (helpers.ROOT / "README.md").read_text(encoding="utf-8")
    assert script_errors.EXIT_CODES_HELP in readme


def test_classify_maps_each_code_to_its_exit_code():
    for code in (1146, 1054, 1044, 1045, 1142, 1143, 1049, 2003, 2006, 2013, 1205, 1213):
        error = pymysql.err.OperationalError(code, "x command denied")
        problem = script_errors.classify(error)
        assert problem.exit_code == 3, code
        assert f"{code}" in problem.message or code in (1146, 1054), code
    assert script_errors.classify(ValueError("bad")).exit_code == 2
    import despachar_llamadas
    import pearl_client

    assert script_errors.classify(pearl_client.PearlAuthError("401")).exit_code == 2
    assert script_errors.classify(despachar_llamadas.DispatchConfigError("no key")).exit_code == 2
    assert script_errors.classify(script_errors.ConfigurationError("x")).exit_code == 2
    assert script_errors.classify(RuntimeError("boom")).exit_code == 1
    init = script_errors.classify(pymysql.err.ProgrammingError(1146, "t"), in_init=True)
    assert "db.py init" not in init.message


def test_env_example_dials_nobody():
    lines = (helpers.ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    active = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert active and not [key for key in active if "PEARL" in key or "PASSWORD" in key
                           or "TOKEN" in key or "SECRET" in key]  # fmt: skip
    for key in ("PEARL_API_KEY", "PEARL_ACCOUNT_ID", "PEARL_SECRET_KEY", "PEARL_OUTBOUND_ID",
                "WEBHOOK_TOKEN"):  # fmt: skip
        assert f"#{key}=" in lines, key


# --- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_records_start_and_finish(clean_db):
    sql("DELETE FROM dispatcher_runs")
    start = helpers.utc(2026, 12, 1, 9, 0)
    heartbeat.start_run("run-a", start)
    [row] = sql("SELECT * FROM dispatcher_runs WHERE run_id = 'run-a'")
    assert row["finished_at"] is None and row["started_at"] == start.replace(tzinfo=None)
    summary = {"due": 5, "claimed": 4, "placed": 3, "failed": 1, "outcomes": {"busy": 2}}
    heartbeat.finish_run("run-a", summary, 1, error="Pearl  answered\n500", now=start)
    [row] = sql("SELECT * FROM dispatcher_runs WHERE run_id = 'run-a'")
    assert (row["due"], row["claimed"], row["placed"], row["failed"], row["exit_code"]) == (
        5, 4, 3, 1, 1,
    )  # fmt: skip
    assert json.loads(row["summary"])["outcomes"] == {"busy": 2}
    assert row["error"] == "Pearl answered 500"
    # A run whose start was never recorded still leaves its trace.
    heartbeat.finish_run("run-b", {"placed": "junk"}, 0, now=start)
    [row] = sql("SELECT * FROM dispatcher_runs WHERE run_id = 'run-b'")
    assert row["placed"] == 0 and row["finished_at"] is not None
    with pytest.raises(ValueError):
        heartbeat.start_run("x" * 40)


# --- pause switch -----------------------------------------------------------------------------


def _paused() -> tuple[bool, str | None]:
    with db.transaction("read pause") as cur:
        return operations.dispatch_paused(cur)


def test_pause_and_resume_through_the_script(clean_db):
    result = run("mantenimiento.py", "pause", "--reason", "Pearl outage", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    paused, reason = _paused()
    assert paused and reason == report["reason"]
    assert reason.startswith("paused by ") and reason.endswith(": Pearl outage")
    assert " at 20" in reason  # who and when are recorded
    check = run("mantenimiento.py", "check-config")
    assert "dispatch PAUSED: paused by" in check.stdout
    monitor = run("probar_llamadas_programadas.py", "--alerts", "--json")
    assert json.loads(monitor.stdout)["monitoring"]["paused"] is True
    result = run("mantenimiento.py", "resume")
    assert result.returncode == 0 and "dispatch resumed (was paused" in result.stdout
    assert _paused() == (False, None)


def test_legacy_daemon_enabled_false_pauses_and_resume_clears_it(clean_db):
    set_config("daemon_enabled", "false")
    paused, reason = _paused()
    assert paused and "daemon_enabled" in reason
    assert run("mantenimiento.py", "resume").returncode == 0
    assert _paused() == (False, None)
    assert (
        sql("SELECT config_value FROM scheduler_config WHERE config_key='daemon_enabled'")[0][
            "config_value"
        ]
        == "true"
    )


def test_unreadable_pause_value_counts_as_paused(clean_db):
    set_config("dispatch_paused", "maybe")
    assert _paused()[0] is True
    assert operations.dispatch_paused({"dispatch_paused": "0"}) == (False, None)


# --- honest configuration commands ------------------------------------------------------------


def test_set_config_refuses_a_typo_and_suggests_the_key(clean_db):
    before = tables_checksum()
    result = run("mantenimiento.py", "set-config", "defualt_delay_hours", "3")
    assert result.returncode == 2
    line = one_line(result)
    assert "did you mean 'default_delay_hours'" in line and "Nothing was written" in line
    assert result.stdout == ""
    assert tables_checksum() == before


def test_set_config_force_stores_an_unknown_key_and_check_config_reports_it(clean_db):
    result = run("mantenimiento.py", "set-config", "defualt_delay_hours", "3", "--force")
    assert result.returncode == 0
    assert "not a known key" in result.stdout and "set defualt_delay_hours = '3'" in result.stdout
    check = run("mantenimiento.py", "check-config", "--json")
    assert check.returncode == 1
    assert json.loads(check.stdout)["unknown_keys"] == {
        "defualt_delay_hours": "default_delay_hours"
    }
    assert run("mantenimiento.py", "unset-config", "defualt_delay_hours").returncode == 0
    assert run("mantenimiento.py", "check-config").returncode == 0


def test_set_config_warns_about_a_dead_combination(clean_db):
    result = run("mantenimiento.py", "set-config", "working_hours_6", "10:00-14:00")
    assert result.returncode == 0
    assert "warning: working_hours_6 is set but day 6 is not in working_days" in result.stdout
    check = run("mantenimiento.py", "check-config", "--json")
    report = json.loads(check.stdout)
    assert (
        "working_hours_6 is set but day 6 is not in working_days (1,2,3,4,5): it has no effect"
    ) in report["warnings"]
    assert report["windows"]["Saturday"] == ""  # not a working day: the dead key opens nothing


def test_dry_run_never_claims_a_value_is_in_use(clean_db):
    before = tables_checksum()
    result = run("mantenimiento.py", "set-config", "default_delay_hours", "2", "--dry-run")
    assert result.returncode == 0
    assert result.stdout.startswith("would set default_delay_hours") and "nothing changed" in (
        result.stdout
    )
    assert tables_checksum() == before


def test_unset_config_removes_a_key_and_says_when_there_was_none(clean_db):
    set_config("busy_max_attempts", "5")
    result = run("mantenimiento.py", "unset-config", "busy_max_attempts")
    assert result.returncode == 0 and result.stdout.startswith("removed busy_max_attempts")
    assert not sql("SELECT 1 FROM scheduler_config WHERE config_key='busy_max_attempts'")
    again = run("mantenimiento.py", "unset-config", "busy_max_attempts")
    assert again.returncode == 0 and "not set; nothing removed" in again.stdout


def test_check_config_reports_legacy_keys(clean_db):
    for key, value in (("max_calls_per_cycle", "50"), ("reschedule_hours", "6"),
                       ("working_time_slots", '[["10:00","14:00"]]')):  # fmt: skip
        set_config(key, value)
    result = run("mantenimiento.py", "check-config", "--json")
    report = json.loads(result.stdout)
    assert {"max_calls_per_cycle", "reschedule_hours"} <= set(report["legacy_keys"])
    assert "default_delay_hours" in report["legacy_keys"]["reschedule_hours"]
    human = run("mantenimiento.py", "check-config")
    assert "  LEGACY max_calls_per_cycle='50'" in human.stdout


def test_known_keys_follow_the_validators():
    import config_keys

    keys = config_keys.known_keys()
    assert {"default_delay_hours", "working_hours_3", "timezone", "alert_overdue_minutes",
            "dispatch_paused", "call_result_timeout_minutes"} <= set(keys)  # fmt: skip
    assert "defualt_delay_hours" not in keys and not config_keys.is_known_key("nonsense_key")


# --- honest reschedule command ----------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["no_anwser", "not_interested", "appointment", "success"])
def test_reschedule_refuses_non_retry_outcomes(clean_db, outcome):
    lead_id = make_lead()
    before = tables_checksum()
    result = run("reprogramar_llamadas_simple.py", "reschedule", str(lead_id), outcome)
    assert result.returncode == 2
    line = one_line(result)
    assert "is not a retry outcome" in line and "busy, error, failed, hang_up, no_answer" in line
    assert tables_checksum() == before


def test_reschedule_retry_outcome_goes_through_the_result_path(clean_db):
    lead_id = make_lead()
    result = run("reprogramar_llamadas_simple.py", "reschedule", str(lead_id), "voicemail")
    assert result.returncode == 0, result.stderr
    assert "voicemail -> rescheduled" in result.stdout
    assert lead(lead_id)["call_attempts_count"] == 1
    assert len(schedules(lead_id, "pending")) == 1
    assert sql("SELECT outcome FROM pearl_calls WHERE lead_id = %s", (lead_id,)) == [
        {"outcome": "voicemail"}
    ]


def test_reschedule_accepts_an_outcome_configured_as_retry(clean_db):
    lead_id = make_lead()
    assert run("reprogramar_llamadas_simple.py", "reschedule", str(lead_id),
               "callback").returncode == 2  # fmt: skip
    set_config("callback_action", "retry")
    result = run("reprogramar_llamadas_simple.py", "reschedule", str(lead_id), "callback")
    assert result.returncode == 0, result.stderr
    assert lead(lead_id)["call_attempts_count"] == 1


def test_reschedule_unknown_lead_is_exit_2(clean_db):
    result = run("reprogramar_llamadas_simple.py", "reschedule", "999999", "busy")
    assert result.returncode == 2
    assert "does not exist" in one_line(result)


def test_scripts_log_with_iso_timestamps(clean_db):
    result = subprocess.run(
        [sys.executable, "-c", "import logging, script_errors; script_errors.configure_logging("
         "False); logging.getLogger('x').warning('hello')"],
        cwd=helpers.ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stderr[:4].isdigit() and "T" in result.stderr[:11]
