"""Paging conditions one by one (time moved with --now), stranded leads (listing, --fix,
a lead that gets a call meanwhile), self-test leftovers and the demo-database mark, all
through the real scripts against the real database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

import db
import operations
import probar_llamadas_programadas as probar
import stranded
from clock import to_db, utc_now
from tests import helpers
from tests.helpers import make_lead, schedules, set_config, sql, tables_checksum

MADRID = ZoneInfo("Europe/Madrid")
NOW_LOCAL = datetime(2026, 12, 1, 11, 0, tzinfo=MADRID)  # a Tuesday, inside 10:00-20:00
NOW = NOW_LOCAL.astimezone(ZoneInfo("UTC"))
AT_11 = "2026-12-01T11:00"


@pytest.fixture(autouse=True)
def _clean(clean_db):
    sql("DELETE FROM dispatcher_runs")
    yield
    sql("DELETE FROM dispatcher_runs")


def alerts(now: str = AT_11, *extra: str) -> tuple[int, dict, str]:
    result = helpers.run_script("probar_llamadas_programadas.py", "--alerts", "--json",
                                "--now", now, *extra)  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def codes(report: dict) -> set[str]:
    return {alert["code"] for alert in report["alerts"]}


def add_run(finished: datetime, *, due: int = 0, placed: int = 0, exit_code: int = 0,
            error: str | None = None) -> None:  # fmt: skip
    sql(
        "INSERT INTO dispatcher_runs (run_id, started_at, finished_at, exit_code, due, placed, "
        "error) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (uuid.uuid4().hex, to_db(finished - timedelta(seconds=20)), to_db(finished), exit_code,
         due, placed, error),
    )  # fmt: skip


def add_pending(lead_id: int, at: datetime) -> None:
    sql(
        "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, 'pending')",
        (lead_id, to_db(at)),
    )


def add_call(lead_id: int, state: str, placing_at: datetime | None) -> None:
    sql(
        "INSERT INTO pearl_calls (lead_id, state, placing_at) VALUES (%s, %s, %s)",
        (lead_id, state, None if placing_at is None else to_db(placing_at)),
    )


def healthy() -> None:
    add_run(NOW - timedelta(minutes=2), due=1, placed=1)


# --- alert conditions one by one ---------------------------------------------------------------


def test_healthy_system_exits_0_with_no_alerts():
    healthy()
    add_pending(make_lead(), NOW + timedelta(hours=1))
    code, report, stderr = alerts()
    assert (code, report["alerts"], report["ok"], stderr) == (0, [], True, "")
    assert report["monitoring"]["working_time"] is True


def test_overdue_calls_in_working_time_page():
    healthy()
    add_pending(make_lead(), NOW - timedelta(minutes=30))
    code, report, stderr = alerts()
    assert code == 1 and codes(report) == {"overdue"}
    assert stderr.startswith("alert: overdue: 1 call(s) overdue by more than 15 min")
    assert len(stderr.strip().splitlines()) == 1


def test_overdue_threshold_is_configurable_and_exclusive_of_recent_calls():
    healthy()
    add_pending(make_lead(), NOW - timedelta(minutes=10))
    assert alerts()[0] == 0
    set_config("alert_overdue_minutes", "5")
    code, report, _ = alerts()
    assert code == 1 and codes(report) == {"overdue"}


def test_nothing_pages_outside_working_time():
    add_pending(make_lead(), NOW - timedelta(hours=3))  # overdue, and no dispatcher run at all
    code, report, _ = alerts("2026-12-01T21:30")
    assert code == 0 and report["monitoring"]["working_time"] is False
    code, report, _ = alerts("2026-12-05T11:00")  # a Saturday
    assert code == 0


def test_no_dispatcher_run_in_working_time_pages():
    code, report, stderr = alerts()
    assert code == 1 and codes(report) == {"stale_dispatch"} and "(never)" in stderr
    add_run(NOW - timedelta(minutes=25))
    code, report, _ = alerts()
    assert code == 1 and codes(report) == {"stale_dispatch"}
    add_run(NOW - timedelta(minutes=4))
    assert alerts()[0] == 0


def test_now_with_an_offset_is_the_same_instant():
    healthy()
    assert alerts("2026-12-01T10:00+00:00")[1]["monitoring"]["working_time"] is True
    assert alerts("2026-12-01T20:30+01:00")[1]["monitoring"]["working_time"] is False


def test_last_runs_placing_nothing_while_calls_were_due_page():
    for minutes in (3, 2, 1):
        add_run(NOW - timedelta(minutes=minutes), due=4, placed=0, error="Pearl 500")
    code, report, stderr = alerts()
    assert code == 1 and codes(report) == {"failed_runs"} and "Pearl 500" in stderr
    add_run(NOW - timedelta(seconds=30), due=4, placed=1)
    assert alerts()[0] == 0


def test_runs_with_nothing_due_are_not_failures():
    for minutes in (3, 2, 1):
        add_run(NOW - timedelta(minutes=minutes), due=0, placed=0)
    assert alerts()[0] == 0


def test_uncertain_calls_page_after_their_grace():
    healthy()
    lead_id = make_lead()
    add_call(lead_id, "uncertain", NOW - timedelta(minutes=5))
    assert alerts()[0] == 0
    add_call(make_lead(), "uncertain", NOW - timedelta(minutes=40))
    code, report, _ = alerts()
    assert code == 1 and codes(report) == {"uncertain_calls"}


def test_quarantined_calls_page():
    healthy()
    lead_id = make_lead()
    add_pending(lead_id, NOW + timedelta(hours=2))
    add_call(lead_id, "quarantined", NOW - timedelta(minutes=5))  # not the real clock
    code, report, _ = alerts()
    assert code == 1 and codes(report) == {"quarantined_calls"}


def test_stranded_leads_page_and_are_counted():
    healthy()
    make_lead()
    make_lead()
    code, report, stderr = alerts()
    assert code == 1 and codes(report) == {"stranded_leads"}
    assert report["monitoring"]["stranded_leads"] == 2
    assert "mantenimiento.py stranded --fix" in stderr


def test_a_pause_silences_dispatch_alerts_but_is_shown_and_pages_when_old():
    add_pending(make_lead(), NOW - timedelta(minutes=30))  # overdue, no dispatcher run
    operations.pause_dispatch("holiday", who="ops@test", now=NOW - timedelta(hours=1))
    code, report, _ = alerts()
    assert code == 0 and report["monitoring"]["paused"] is True
    assert "holiday" in report["monitoring"]["paused_reason"]
    text = helpers.run_script("probar_llamadas_programadas.py", "--alerts", "--now", AT_11)
    assert "dispatch PAUSED: paused by ops@test" in text.stdout
    code, report, _ = alerts("2026-12-02T12:00")  # 26 hours later
    assert code == 1 and codes(report) == {"dispatch_paused"}


def test_several_alerts_are_one_line_and_listed_in_json():
    add_pending(make_lead(), NOW - timedelta(minutes=30))
    make_lead()
    code, report, stderr = alerts()
    assert code == 1 and codes(report) == {"overdue", "stale_dispatch", "stranded_leads"}
    assert len(stderr.strip().splitlines()) == 1 and stderr.count("; ") >= 2


def test_bad_now_is_a_usage_error():
    result = helpers.run_script("probar_llamadas_programadas.py", "--now", "tomorrow")
    assert result.returncode == 2 and "--now must be an ISO date-time" in result.stderr


# --- stranded leads ---------------------------------------------------------------------------


def _stranded_setup() -> dict[str, int]:
    ids = {
        "nothing": make_lead(),
        "pending": make_lead(),
        "closed": make_lead(lead_status="closed"),
        "manual": make_lead(manual_management=True),
        "demo": make_lead(is_demo=True),
        "placed": make_lead(),
        "uncertain": make_lead(),
        "completed_only": make_lead(call_attempts_count=1),
    }
    add_pending(ids["pending"], utc_now() + timedelta(hours=1))
    add_call(ids["placed"], "placed", None)
    add_call(ids["uncertain"], "uncertain", None)
    add_call(ids["completed_only"], "completed", None)
    return ids


def test_stranded_lists_only_leads_nothing_will_call():
    ids = _stranded_setup()
    before = tables_checksum()
    result = helpers.run_script("mantenimiento.py", "stranded", "--json")
    assert result.returncode == 1  # problems found
    report = json.loads(result.stdout)
    assert report["found"] == 2 and report["fixed"] == 0
    assert [lead["id"] for lead in report["leads"]] == [ids["nothing"], ids["completed_only"]]
    assert all(lead["telefono"].endswith("000") and "600" not in lead["telefono"]
               for lead in report["leads"])  # fmt: skip
    dry = helpers.run_script("mantenimiento.py", "stranded", "--fix", "--dry-run")
    assert dry.returncode == 1 and "(dry run: nothing changed)" in dry.stdout
    assert tables_checksum() == before


def test_stranded_fix_gives_each_its_next_working_call():
    ids = _stranded_setup()
    set_config("working_days", "1,2,3,4,5,6,7")
    set_config("working_hours_start", "00:00")
    set_config("working_hours_end", "23:59")
    set_config("calling_law", "off")  # any hour of the test run is working time
    set_config("holidays_country", "off")
    result = helpers.run_script("mantenimiento.py", "stranded", "--fix", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["found"], report["fixed"], report["skipped"]) == (2, 2, 0)
    for key in ("nothing", "completed_only"):
        [row] = schedules(ids[key], "pending")
        assert abs((row["scheduled_at"] - to_db(utc_now())).total_seconds()) < 120
        assert row["attempt_number"] == (2 if key == "completed_only" else 1)
    for key in ("closed", "manual", "demo", "placed", "uncertain"):
        assert schedules(ids[key], "pending") == []
    again = helpers.run_script("mantenimiento.py", "stranded", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["found"] == 0


def test_stranded_fix_respects_working_time():
    lead_id = make_lead()
    set_config("working_days", "1")
    result = helpers.run_script("mantenimiento.py", "stranded", "--fix")
    assert result.returncode == 0
    [row] = schedules(lead_id, "pending")
    local = row["scheduled_at"].replace(tzinfo=ZoneInfo("UTC")).astimezone(MADRID)
    assert local.isoweekday() == 1 and 10 <= local.hour < 20


def test_a_lead_that_gets_a_call_meanwhile_is_left_alone():
    lead_id = make_lead()
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM leads WHERE id = %s FOR UPDATE", (lead_id,))
            fixer = subprocess.Popen(
                [sys.executable, "mantenimiento.py", "stranded", "--fix", "--json"],
                cwd=helpers.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # wait until the fixer blocks on the lead's lock
                # A primary-key FOR UPDATE waits while being optimised (state 'Statistics'), and
                # innodb_trx does not always list such a waiter: a statement of another
                # connection to this database running for a second or more is the fixer,
                # blocked (the lock holder above is idle).
                waiting = sql(
                    "SELECT COUNT(*) AS n FROM information_schema.processlist "
                    "WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command = 'Query' "
                    "AND time >= 1 AND info IS NOT NULL"
                )[0]["n"]
                if waiting:
                    break
                time.sleep(0.05)
            if not waiting:
                fixer.kill()
                raise AssertionError(f"the fixer never waited: {fixer.communicate()}")
            later = utc_now() + timedelta(days=2)
            cur.execute(
                "INSERT INTO call_schedule (lead_id, scheduled_at, status) "
                "VALUES (%s, %s, 'pending')",
                (lead_id, to_db(later)),
            )
        conn.commit()
    finally:
        conn.close()
    out, err = fixer.communicate(timeout=120)
    assert fixer.returncode == 0, err
    report = json.loads(out)
    assert (report["found"], report["fixed"], report["skipped"]) == (1, 0, 1)
    [row] = schedules(lead_id, "pending")
    assert row["scheduled_at"] == to_db(later)


def test_fix_lead_returns_none_for_a_lead_no_longer_stranded():
    lead_id = make_lead()
    add_pending(lead_id, utc_now() + timedelta(hours=5))
    assert stranded.fix_lead(lead_id) is None


# --- self-test leads and demo database --------------------------------------------------------


def test_self_test_number_is_valid_and_in_the_fictional_range():
    number = phonenumbers.parse(probar.DEMO_TELEFONO)
    assert phonenumbers.is_valid_number(number)
    assert 491570006 <= number.national_number <= 491570159 and number.country_code == 61


def test_self_test_leads_are_marked_demo_and_removed_even_when_a_check_fails():
    seen = []
    with pytest.raises(RuntimeError), probar._demo_lead("boom") as lead_id:
        seen.append(sql("SELECT is_demo, telefono FROM leads WHERE id = %s", (lead_id,))[0])
        raise RuntimeError("a check blew up")
    assert seen == [{"is_demo": 1, "telefono": probar.DEMO_TELEFONO}]
    assert sql("SELECT id FROM leads WHERE nombre = %s", (probar.DEMO_NOMBRE,)) == []


def test_leftovers_of_a_killed_self_test_are_removed_by_the_next_run():
    old = to_db(utc_now() - timedelta(minutes=30))
    killed = make_lead(nombre=probar.DEMO_NOMBRE, is_demo=True, telefono=probar.DEMO_TELEFONO,
                       created_at=old)  # fmt: skip
    add_pending(killed, utc_now())
    legacy = make_lead(nombre=probar.DEMO_NOMBRE, telefono="+34600000000", created_at=old)
    running = make_lead(nombre=probar.DEMO_NOMBRE, is_demo=True, telefono=probar.DEMO_TELEFONO)
    real = make_lead(nombre=probar.DEMO_NOMBRE, telefono="+34612345678", created_at=old)
    healthy()
    result = helpers.run_script("probar_llamadas_programadas.py", "--alerts")
    assert "Traceback" not in result.stderr
    left = {row["id"] for row in sql("SELECT id FROM leads")}
    assert killed not in left and legacy not in left
    assert {running, real} <= left
    assert sql("SELECT id FROM call_schedule WHERE lead_id = %s", (killed,)) == []


def test_demo_marks_its_database(test_database):
    name = f"test_ops_{uuid.uuid4().hex[:8]}"
    try:
        result = helpers.run_script("probar_llamadas_programadas.py", "--demo", "--json",
                                    env={"DB_DATABASE": name})  # fmt: skip
        assert result.returncode == 0, result.stderr
        rows = sql(f"SELECT config_value FROM `{name}_demo`.scheduler_config "
                   "WHERE config_key = 'demo_database'")  # fmt: skip
        assert rows == [{"config_value": "true"}]
        phones = sql(f"SELECT DISTINCT LEFT(telefono, 8) AS p FROM `{name}_demo`.leads")
        assert phones == [{"p": "+6149157"}]
        with db.transaction("demo?") as cur:
            assert operations.is_demo_database(cur) is False
    finally:
        sql(f"DROP DATABASE IF EXISTS `{name}_demo`")
