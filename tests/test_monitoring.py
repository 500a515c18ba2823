"""probar_llamadas_programadas.py against the real database: statistics, the calls due
now, the three self-tests and the command line (including --demo)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

import db
import probar_llamadas_programadas as probar
from clock import to_db
from probar_llamadas_programadas import (
    DEMO_NOMBRE,
    mostrar_estadisticas_call_schedule,
    mostrar_llamadas_pendientes,
    run_self_tests,
)
from tests import helpers
from tests.helpers import make_lead, set_config, sql, tables_checksum, utc

pytestmark = pytest.mark.usefixtures("clean_db")

ROOT = Path(__file__).resolve().parent.parent
NOW = utc(2026, 11, 24, 10, 0)  # a Tuesday, 11:00 in Madrid (CET)
STATS_KEYS = {
    "by_status",
    "due_now",
    "scheduled_later",
    "closed_last_24h",
    "in_flight",
    "oldest_overdue_minutes",
    "generated_at",
}
PENDING_KEYS = {
    "schedule_id",
    "lead_id",
    "nombre",
    "telefono",
    "scheduled_at",
    "delay_minutes",
    "attempt_number",
    "last_outcome",
}
SELF_TEST_NAMES = {
    "simular_proceso_llamada_exitosa",
    "simular_proceso_llamada_fallida",
    "probar_reprogramacion_automatica",
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run_script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return helpers.run_script("probar_llamadas_programadas.py", *args, env=env)


def add_schedule(
    lead_id: int,
    at: datetime,
    status: str = "pending",
    attempt_number: int = 1,
    last_outcome: str | None = None,
) -> int:
    """A call_schedule row written as is (no working-time adjustment)."""
    with db.transaction("add schedule") as cur:
        cur.execute(
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status, "
            "last_outcome) VALUES (%s, %s, %s, %s, %s)",
            (lead_id, to_db(at), attempt_number, status, last_outcome),
        )
        return cur.lastrowid


def add_pearl_call(lead_id: int, state: str, **fields) -> int:
    row = {"lead_id": lead_id, "state": state, **fields}
    with db.transaction("add pearl call") as cur:
        cur.execute(
            f"INSERT INTO pearl_calls ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
            tuple(row.values()),
        )
        return cur.lastrowid


def closed_lead(reason: str | None, closed_at: datetime, **fields) -> int:
    return make_lead(
        lead_status="closed", closure_reason=reason, closed_at=to_db(closed_at), **fields
    )


def add_real_looking_data(now: datetime) -> None:
    """A handful of leads in every state, with schedules and call history."""
    ana = make_lead(nombre="Ana", apellidos="García", telefono="+34612345678",
                    call_attempts_count=1, call_status="busy")  # fmt: skip
    add_schedule(ana, now - timedelta(hours=5), "completed")
    add_schedule(ana, now - timedelta(minutes=40), attempt_number=2, last_outcome="busy")
    add_pearl_call(ana, "completed", outcome="busy", call_id="call-ana-1")
    luis = make_lead(nombre="Luis", apellidos="Pérez", telefono="+34 699 111 222")
    add_schedule(luis, now + timedelta(days=1))
    marta = closed_lead("No interesado", now - timedelta(hours=3), nombre="Marta",
                        telefono="+34655000111", call_attempts_count=1)  # fmt: skip
    add_schedule(marta, now - timedelta(hours=4), "cancelled")
    add_pearl_call(marta, "completed", outcome="not_interested", call_id="call-marta-1")
    carmen = make_lead(nombre="Carmen", telefono="+34622333444", manual_management=True)
    add_schedule(carmen, now - timedelta(hours=2))
    pablo = make_lead(nombre="Pablo", telefono="+34633444555", lead_status=None)
    add_schedule(pablo, now - timedelta(minutes=10))
    sofia = make_lead(nombre="Sofía", telefono="+34644555666", call_status="calling")
    sofia_call = add_schedule(sofia, now - timedelta(minutes=3), "completed")
    add_pearl_call(sofia, "placed", schedule_id=sofia_call, request_id="req-sofia")


def demo_leads() -> list[dict]:
    return sql("SELECT id FROM leads WHERE nombre = %s", (DEMO_NOMBRE,))


# --- statistics -------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen")
def test_statistics_match_the_data(capsys):
    a = make_lead()
    add_schedule(a, NOW - timedelta(minutes=90))  # the oldest due call
    add_schedule(a, NOW - timedelta(days=2), "completed")
    b = make_lead(lead_status=None)
    add_schedule(b, NOW)  # due exactly now
    add_schedule(b, NOW - timedelta(days=3), "cancelled")
    c = make_lead()
    add_schedule(c, NOW + timedelta(seconds=1))  # later
    add_pearl_call(c, "claimed")
    d = make_lead()
    add_schedule(d, NOW + timedelta(days=3))
    add_pearl_call(d, "placed", request_id="req-d")
    add_pearl_call(d, "completed", outcome="busy")
    add_pearl_call(d, "not_placed")
    # A closed lead's leftover pending call is neither due nor the oldest overdue.
    e = closed_lead("No interesado", NOW - timedelta(hours=1))
    add_schedule(e, NOW - timedelta(hours=5))
    f = closed_lead("No interesado", NOW - timedelta(hours=23, minutes=59))
    add_schedule(f, NOW - timedelta(days=1), "completed")
    closed_lead("No interesado", NOW - timedelta(hours=24))  # exactly 24 h ago: counted
    closed_lead("Cita agendada", NOW - timedelta(minutes=10))
    closed_lead("Cita agendada", NOW - timedelta(hours=24, seconds=1))  # too old
    closed_lead(None, NOW - timedelta(hours=2))
    make_lead(lead_status="closed", closure_reason="Lista negra")  # closed_at unknown

    stats = mostrar_estadisticas_call_schedule()

    assert set(stats) == STATS_KEYS
    assert stats["by_status"] == {"pending": 5, "completed": 2, "cancelled": 1}
    assert stats["due_now"] == 2
    assert stats["scheduled_later"] == 2
    assert stats["closed_last_24h"] == {"No interesado": 3, "Cita agendada": 1, "(no reason)": 1}
    assert stats["in_flight"] == 2
    assert stats["oldest_overdue_minutes"] == 90.0
    assert stats["generated_at"] == "2026-11-24T10:00:00+00:00"
    out = capsys.readouterr().out
    assert re.search(r"pending\s+5\n", out) and re.search(r"completed\s+2\n", out)
    assert re.search(r"cancelled\s+1\n", out)
    assert "due now 2, scheduled for later 2" in out
    assert "calls in flight 2" in out
    assert "oldest due call waiting 90 minutes" in out
    assert re.search(r"No interesado\s+3\n", out) and re.search(r"\(no reason\)\s+1\n", out)


@pytest.mark.usefixtures("frozen")
def test_statistics_of_an_empty_system(capsys):
    stats = mostrar_estadisticas_call_schedule()
    assert stats == {
        "by_status": {"pending": 0, "completed": 0, "cancelled": 0},
        "due_now": 0,
        "scheduled_later": 0,
        "closed_last_24h": {},
        "in_flight": 0,
        "oldest_overdue_minutes": None,
        "generated_at": "2026-11-24T10:00:00+00:00",
    }
    out = capsys.readouterr().out
    assert "oldest due call" not in out and re.search(r"none\s+0\n", out)


@pytest.mark.usefixtures("frozen")
def test_oldest_overdue_ignores_leads_nobody_will_dial():
    manual = make_lead(manual_management=True)
    add_schedule(manual, NOW - timedelta(days=10))
    closed = closed_lead("No interesado", NOW - timedelta(days=9))
    add_schedule(closed, NOW - timedelta(days=9))
    dialled = make_lead(manual_management=None)
    add_schedule(dialled, NOW - timedelta(minutes=7, seconds=30))
    assert mostrar_estadisticas_call_schedule(echo=False)["oldest_overdue_minutes"] == 7.5


@pytest.mark.usefixtures("frozen")
def test_statistics_write_nothing_and_echo_false_prints_nothing(capsys):
    add_real_looking_data(NOW)
    before = tables_checksum()
    stats = mostrar_estadisticas_call_schedule(echo=False)
    assert stats["in_flight"] == 1 and stats["closed_last_24h"] == {"No interesado": 1}
    assert capsys.readouterr().out == ""
    assert tables_checksum() == before


# --- the calls due now ----------------------------------------------------------------------


def due_call(phone: str, at: datetime, **schedule_fields) -> tuple[int, int]:
    lead_id = make_lead(nombre="Cliente", apellidos="Prueba", telefono=phone)
    return lead_id, add_schedule(lead_id, at, **schedule_fields)


@pytest.mark.usefixtures("frozen")
def test_due_calls_oldest_first_masked_in_business_time(capsys):
    summer = due_call("+34612345601", utc(2026, 7, 1, 8, 0), attempt_number=3,
                      last_outcome="no_answer")  # fmt: skip
    tie_second = due_call("+34612345602", NOW - timedelta(hours=3), attempt_number=2,
                          last_outcome="busy")  # fmt: skip
    tie_first = due_call("+34612345603", NOW - timedelta(hours=3), attempt_number=1)
    now_due = due_call("+34612345604", NOW)
    null_status = make_lead(nombre="Nulo", telefono="+34612345605", lead_status=None)
    null_call = add_schedule(null_status, NOW - timedelta(minutes=30))
    # Not due: manual management, closed lead, future, completed and cancelled rows.
    due_call("+34612345606", NOW + timedelta(minutes=1))
    add_schedule(make_lead(telefono="+34612345607", manual_management=True), NOW)
    add_schedule(closed_lead("No interesado", NOW, telefono="+34612345608"), NOW)
    add_schedule(make_lead(telefono="+34612345609"), NOW - timedelta(hours=9), "completed")
    add_schedule(make_lead(telefono="+34612345610"), NOW - timedelta(hours=9), "cancelled")
    phones = [f"+346123456{i:02d}" for i in range(1, 11)]
    before = tables_checksum()

    calls = mostrar_llamadas_pendientes()

    assert [(c["lead_id"], c["schedule_id"]) for c in calls] == [
        summer,
        tie_first,
        tie_second,
        (null_status, null_call),
        now_due,
    ]
    assert all(set(c) == PENDING_KEYS for c in calls)
    assert calls[0] == {
        "schedule_id": summer[1],
        "lead_id": summer[0],
        "nombre": "Cliente Prueba",
        "telefono": "*********601",
        "scheduled_at": "2026-07-01 10:00",  # CEST: UTC+2
        "delay_minutes": round((NOW - utc(2026, 7, 1, 8, 0)).total_seconds() / 60, 1),
        "attempt_number": 3,
        "last_outcome": "no_answer",
    }
    assert (calls[1]["scheduled_at"], calls[1]["delay_minutes"]) == ("2026-11-24 08:00", 180.0)
    assert (calls[2]["attempt_number"], calls[2]["last_outcome"]) == (2, "busy")
    assert calls[3]["nombre"] == "Nulo Lead" and calls[3]["delay_minutes"] == 30.0
    assert (calls[4]["scheduled_at"], calls[4]["delay_minutes"]) == ("2026-11-24 11:00", 0.0)
    out = capsys.readouterr().out
    assert "times in Europe/Madrid" in out and "5 shown" in out
    assert "2026-07-01 10:00" in out and "+180 min" in out and "attempt 3" in out
    assert "*********603" in out and "no_answer" in out
    for phone in phones:
        assert phone not in out and phone[3:] not in out
        assert phone not in repr(calls) and phone[3:] not in repr(calls)
    assert tables_checksum() == before


@pytest.mark.usefixtures("frozen")
def test_due_calls_limit_is_honoured():
    expected = [due_call(f"+3461200{i:04d}", NOW - timedelta(minutes=60 - i)) for i in range(12)]
    assert [c["schedule_id"] for c in mostrar_llamadas_pendientes(echo=False)] == [
        s for _, s in expected[:10]
    ]
    assert [c["schedule_id"] for c in mostrar_llamadas_pendientes(3, echo=False)] == [
        s for _, s in expected[:3]
    ]
    assert len(mostrar_llamadas_pendientes(1000, echo=False)) == 12


@pytest.mark.usefixtures("frozen")
def test_due_calls_are_shown_in_the_configured_business_zone(capsys):
    due_call("+34612345678", NOW - timedelta(hours=1))
    set_config("timezone", "America/New_York")
    [call] = mostrar_llamadas_pendientes()
    assert call["scheduled_at"] == "2026-11-24 04:00"  # EST: UTC-5
    assert "times in America/New_York" in capsys.readouterr().out


@pytest.mark.parametrize("limit", [0, -1, 1001, True, 2.5, "5", None])
def test_bad_limit_is_refused(limit, capsys):
    due_call("+34612345678", datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(ValueError, match="limit"):
        mostrar_llamadas_pendientes(limit)
    assert capsys.readouterr().out == ""


# --- self-tests -------------------------------------------------------------------------------

SELF_TESTS = [pytest.param(test, id=test.__name__) for test in probar.SELF_TESTS]


@pytest.mark.parametrize("self_test", SELF_TESTS)
@pytest.mark.parametrize(
    ("moment", "config"),
    [
        pytest.param(NOW, {}, id="tuesday-morning"),
        pytest.param(utc(2026, 11, 28, 22, 30), {}, id="saturday-night"),
        pytest.param(utc(2026, 3, 29, 0, 30), {}, id="spring-forward-night"),
        pytest.param(utc(2026, 12, 31, 23, 30), {}, id="new-year"),
        pytest.param(NOW, {"busy_max_attempts": "5", "no_answer_max_attempts": "1"}, id="own"),
        pytest.param(NOW, {"default_max_attempts": "1"}, id="one-attempt"),
    ],
)
def test_self_test_passes_and_leaves_real_rows_exactly_as_they_were(
    self_test, moment, config, capsys
):
    for key, value in config.items():
        set_config(key, value)
    with time_machine.travel(moment, tick=False):
        add_real_looking_data(moment)
        before = tables_checksum()
        assert self_test() is True
    assert tables_checksum() == before
    assert demo_leads() == []
    assert f"[PASS] {self_test.__name__}" in capsys.readouterr().out


TRIGGER = "test_demo_leads_sabotage"
SABOTAGE = {
    # Every update of a demo lead fails: the code path raises.
    "signal": "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'demo lead sabotaged'",
    # Every update of a demo lead is altered: the code path succeeds, the checks fail.
    "tamper": "SET NEW.call_attempts_count = NEW.call_attempts_count + 1, "
    "NEW.closure_reason = 'sabotaged'",
}


@pytest.fixture
def sabotage_demo_leads():
    """Install a BEFORE UPDATE trigger that breaks demo leads (and only them)."""

    def install(mode: str) -> None:
        sql(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON leads FOR EACH ROW "
            f"IF NEW.nombre = %s THEN {SABOTAGE[mode]}; END IF",
            (DEMO_NOMBRE,),
        )

    yield install
    sql(f"DROP TRIGGER IF EXISTS {TRIGGER}")


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("mode", sorted(SABOTAGE))
@pytest.mark.parametrize("self_test", SELF_TESTS)
def test_failing_self_test_returns_false_and_removes_its_demo_lead(
    self_test, mode, sabotage_demo_leads, capsys
):
    add_real_looking_data(NOW)
    before = tables_checksum()
    sabotage_demo_leads(mode)
    assert self_test() is False
    assert demo_leads() == []
    assert tables_checksum() == before
    out = capsys.readouterr().out
    assert f"[FAIL] {self_test.__name__}" in out
    failure = out.split(f"[FAIL] {self_test.__name__}\n", 1)[1].splitlines()[0]
    assert failure.strip(), "the reason of the failure is shown"


@pytest.mark.usefixtures("frozen")
def test_run_self_tests_reports_each_by_name(capsys):
    assert run_self_tests() == dict.fromkeys(SELF_TEST_NAMES, True)
    assert run_self_tests(echo=False) == dict.fromkeys(SELF_TEST_NAMES, True)
    out = capsys.readouterr().out
    assert out.count("[PASS]") == 3 and demo_leads() == []


# --- command line ----------------------------------------------------------------------------


def real_now() -> datetime:
    return datetime.now(UTC)


def no_working_time_today() -> None:
    """Make today (and its neighbours) holidays: the dispatcher-health alerts, which need
    working time and dispatcher runs, stay out of tests about statistics and self-tests."""
    today = real_now().date()
    days = ",".join(str(today + timedelta(days=d)) for d in (-1, 0, 1))
    set_config("holidays", days)


def test_cli_runs_everything_and_exits_0_when_healthy():
    no_working_time_today()
    add_real_looking_data(real_now())
    before = tables_checksum()
    result = run_script()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "== call_schedule statistics ==" in out and "== calls due now (2 shown" in out
    for name in SELF_TEST_NAMES:
        assert f"[PASS] {name}" in out
    assert "+34612345678" not in out and "612345678" not in out and "*********678" in out
    assert tables_checksum() == before
    assert demo_leads() == []


def test_cli_json_has_the_documented_keys():
    no_working_time_today()
    add_real_looking_data(real_now())
    before = tables_checksum()
    result = run_script("--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"stats", "pending", "monitoring", "alerts", "self_tests", "ok"}
    assert set(report["stats"]) == STATS_KEYS
    assert report["stats"]["in_flight"] == 1
    assert report["stats"]["closed_last_24h"] == {"No interesado": 1}
    assert [item["nombre"] for item in report["pending"]] == ["Ana García", "Pablo Lead"]
    assert all(set(item) == PENDING_KEYS for item in report["pending"])
    assert report["self_tests"] == dict.fromkeys(SELF_TEST_NAMES, True)
    assert report["alerts"] == [] and report["monitoring"]["working_time"] is False
    assert report["ok"] is True
    assert "612345678" not in result.stdout
    assert tables_checksum() == before


def test_cli_stats_only():
    add_real_looking_data(real_now())
    result = run_script("--stats", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"stats", "ok"} and set(report["stats"]) == STATS_KEYS
    human = run_script("--stats")
    assert human.returncode == 0 and "== call_schedule statistics ==" in human.stdout
    assert "calls due now" not in human.stdout and "self-tests" not in human.stdout


def test_cli_pending_honours_n_and_masks_phones():
    phones = [f"+3461234{i:04d}" for i in range(7)]
    for i, phone in enumerate(phones):
        due_call(phone, real_now() - timedelta(minutes=70 - i))
    result = run_script("--pending", "5", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"pending", "ok"}
    assert [item["telefono"] for item in report["pending"]] == [
        "*********" + phone[-3:] for phone in phones[:5]
    ]
    human = run_script("--pending", "5")
    assert human.returncode == 0 and "(5 shown" in human.stdout
    assert len([line for line in human.stdout.splitlines() if line.startswith("  #")]) == 5
    for phone in phones:
        assert phone[3:] not in result.stdout and phone[3:] not in human.stdout


@pytest.mark.parametrize("n", ["0", "-3", "1001"])
def test_cli_bad_pending_count_is_refused(n):
    due_call("+34612345678", real_now() - timedelta(minutes=5))
    result = run_script("--pending", n)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "limit" in result.stderr


def test_cli_exits_1_when_a_self_test_fails(sabotage_demo_leads):
    add_real_looking_data(real_now())
    before = tables_checksum()
    sabotage_demo_leads("tamper")
    result = run_script("--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["self_tests"] == dict.fromkeys(SELF_TEST_NAMES, False)
    assert demo_leads() == []
    assert tables_checksum() == before


@pytest.fixture
def demo_database(clean_db):
    name = f"{clean_db.database}_demo"
    sql(f"DROP DATABASE IF EXISTS `{name}`")
    yield name
    sql(f"DROP DATABASE IF EXISTS `{name}`")


def test_demo_never_touches_the_configured_database(demo_database):
    add_real_looking_data(real_now())  # calls due now a dispatch cycle would take
    before = tables_checksum()
    result = run_script("--demo", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"demo", "ok"} and report["ok"] is True
    demo = report["demo"]
    assert demo["database"] == demo_database
    assert set(demo["before"]) == STATS_KEYS and set(demo["after"]) == STATS_KEYS
    assert demo["before"]["by_status"]["pending"] == 40
    assert sum(demo["after"]["by_status"].values()) >= 40
    assert tables_checksum() == before
    [row] = sql(f"SELECT COUNT(*) AS n FROM `{demo_database}`.leads WHERE nombre LIKE 'Demo %%'")
    assert row["n"] == 40
    human = run_script("--demo")  # reuses the demo database
    assert human.returncode == 0, human.stderr
    assert f"demo database {demo_database!r}" in human.stdout
    assert "simulated dispatch" in human.stdout
    assert tables_checksum() == before


def _checksum_of(settings: db.DbSettings) -> str:
    conn = db.connect(settings)
    try:
        with conn.cursor() as cur:
            rows = []
            for table in ("leads", "call_schedule", "scheduler_config", "pearl_calls"):
                cur.execute(f"SELECT * FROM {table} ORDER BY 1")
                rows.append(repr([sorted(r.items()) for r in cur.fetchall()]))
        return "\n".join(rows)
    finally:
        conn.close()


@pytest.mark.parametrize("length", [60, 64])
def test_demo_refuses_a_database_name_too_long_to_derive_its_demo_name(clean_db, length):
    prefix = f"test_long_{uuid.uuid4().hex[:8]}_"
    name = prefix.ljust(length, "x")
    settings = db.DbSettings(**{**clean_db.__dict__, "database": name})
    db.init_database(settings)
    try:
        conn = db.connect(settings)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO leads (nombre, telefono) VALUES ('Real', '+34612345678')")
            cur.execute(
                "INSERT INTO call_schedule (lead_id, scheduled_at) "
                "SELECT id, UTC_TIMESTAMP() - INTERVAL 1 HOUR FROM leads"
            )
        conn.commit()
        conn.close()
        before = _checksum_of(settings)
        result = run_script("--demo", env={"DB_DATABASE": name})
        assert result.returncode == 2
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
        assert _checksum_of(settings) == before
        created = sql("SHOW DATABASES LIKE %s", (prefix.replace("_", r"\_") + "%",))
        assert [next(iter(r.values())) for r in created] == [name]
    finally:
        for row in sql("SHOW DATABASES LIKE %s", (prefix.replace("_", r"\_") + "%",)):
            sql(f"DROP DATABASE IF EXISTS `{next(iter(row.values()))}`")


@pytest.mark.parametrize(
    "args",
    [[], ["--json"], ["--stats"], ["--pending", "5"], ["--demo"]],
    ids=lambda args: " ".join(args) or "everything",
)
def test_unreachable_database_is_one_line_and_exit_3(args):
    result = run_script(*args, env={"DB_PORT": "1", "DB_CONNECT_TIMEOUT": "2"})
    assert result.returncode == 3
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach the database server") and "(error 2003)" in line
    assert "Traceback" not in result.stderr
