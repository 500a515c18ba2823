"""mantenimiento.py against the real database: the maintenance functions and their
command line (cleanup-closed, purge-cancelled, orphans, check-config, set-config)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

import db
import mantenimiento
import scheduler_config
from clock import to_db
from reprogramar_llamadas_simple import get_retry_config_from_db
from tests import helpers
from tests.helpers import make_lead, set_config, sql, tables_checksum, utc

pytestmark = pytest.mark.usefixtures("clean_db")

ROOT = Path(__file__).resolve().parent.parent
NOW = utc(2026, 11, 24, 10, 0)
JSON_KEYS = {
    "cleanup-closed": {"command", "dry_run", "found", "cancelled"},
    "purge-cancelled": {"command", "dry_run", "days", "found", "deleted"},
    "orphans": {"command", "dry_run", "found", "deleted", "sample"},
    "check-config": {
        "command",
        "raw",
        "effective",
        "problems",
        "windows",
        "legacy_keys",
        "unknown_keys",
        "warnings",
        "paused",
        "paused_reason",
    },
    "set-config": {"command", "dry_run", "key", "value", "written", "warnings"},
}
SCHEDULE_COLUMNS = ("id", "lead_id", "scheduled_at", "attempt_number", "status", "created_at")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run_script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return helpers.run_script("mantenimiento.py", *args, env=env)


def run_json(*args: str, code: int = 0) -> dict:
    """Run a command with --json; check its exit code and documented keys; its output."""
    result = run_script(*args, "--json")
    assert result.returncode == code, result.stderr
    output = json.loads(result.stdout)
    assert set(output) == JSON_KEYS[output["command"]]
    return output


def real_now() -> datetime:
    return datetime.now(UTC)


def insert_many(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """One multi-row INSERT (pymysql batches executemany of an INSERT ... VALUES)."""
    marks = ", ".join(["%s"] * len(columns))
    with db.transaction(f"bulk {table}") as cur:
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(to_db(v) if isinstance(v, datetime) else v for v in row) for row in rows],
        )


def call_schedule() -> dict[int, dict]:
    return {row["id"]: row for row in sql("SELECT * FROM call_schedule")}


def other_tables_checksum() -> list:
    return [sql(f"SELECT * FROM {t} ORDER BY 1") for t in ("leads", "pearl_calls")]


def progress_values(err: str, label: str) -> list[int]:
    return [int(n) for n in re.findall(rf"\r{label}: (\d+)/", err)]


# --- cleanup-closed --------------------------------------------------------------------------

KINDS = 6  # lead i is of kind i % KINDS, see closed_leads_backlog


def closed_leads_backlog(count: int, now: datetime) -> set[int]:
    """`count` leads with call history; returns the ids of the pending calls of closed leads.

    kind 0 closed, a pending call and a completed one; 1 closed, a cancelled call only;
    2 open, a pending call due and a completed one; 3 NULL status, a pending call later;
    4 open under manual management, a pending call; 5 closed under manual management,
    a pending call later.
    """
    closed = {0, 1, 5}
    insert_many(
        "leads",
        ("id", "nombre", "telefono", "lead_status", "manual_management", "closure_reason",
         "closed_at"),
        [
            (i, f"Lead {i}", f"+346{i:08d}",
             "closed" if i % KINDS in closed else None if i % KINDS == 3 else "open",
             i % KINDS in (4, 5),
             "No interesado" if i % KINDS in closed else None,
             now - timedelta(days=i % 40) if i % KINDS in closed else None)
            for i in range(1, count + 1)
        ],
    )  # fmt: skip
    existing = set(call_schedule())
    rows, target = [], []
    for i in range(1, count + 1):
        kind = i % KINDS
        if kind in (0, 2):
            rows.append((i, now - timedelta(days=3), 1, "completed", now - timedelta(days=5)))
        if kind == 1:
            rows.append((i, now - timedelta(days=3), 1, "cancelled", now - timedelta(days=5)))
        if kind in (0, 2, 3, 4, 5):
            later = kind in (3, 5)
            when = now + timedelta(hours=i % 50) if later else now - timedelta(minutes=i % 50)
            rows.append((i, when, 2, "pending", now - timedelta(days=1)))
            if kind in (0, 5):
                target.append(len(rows))
    insert_many("call_schedule", SCHEDULE_COLUMNS[1:], rows)
    insert_many(
        "pearl_calls",
        ("lead_id", "state", "outcome", "call_id"),
        [(i, "completed", "busy", f"call-{i}") for i in range(1, count + 1, 17)],
    )
    ids = sorted(set(call_schedule()) - existing)  # ids follow the order of the rows
    return {ids[n - 1] for n in target}


def assert_only_cancelled(before: dict[int, dict], after: dict[int, dict], ids: set[int]):
    assert set(after) == set(before)
    for schedule_id, row in after.items():
        if schedule_id not in ids:
            assert row == before[schedule_id]
            continue
        assert (row["status"], row["cancel_reason"]) == ("cancelled", "Lead closed")
        assert row["pending_lead_id"] is None
        unchanged = ("lead_id", "scheduled_at", "attempt_number", "last_outcome", "created_at")
        assert {k: row[k] for k in unchanged} == {k: before[schedule_id][k] for k in unchanged}


@pytest.mark.usefixtures("frozen")
def test_cleanup_closed_cancels_exactly_the_pending_calls_of_closed_leads(capsys):
    targets = closed_leads_backlog(3000, NOW)
    assert len(targets) == 1000
    before, others = call_schedule(), other_tables_checksum()
    result = mantenimiento.cleanup_closed(batch_size=240, show_progress=True)
    assert result == {"command": "cleanup-closed", "dry_run": False, "found": 1000,
                      "cancelled": 1000}  # fmt: skip
    assert_only_cancelled(before, call_schedule(), targets)
    assert other_tables_checksum() == others
    done = progress_values(capsys.readouterr().err, "cancelled")
    assert done[-1] == 1000 and len(done) >= 5
    assert all(0 <= b - a <= 240 for a, b in zip([0, *done], done, strict=False))
    # Nothing left to do: a second run changes nothing.
    checksum = tables_checksum()
    assert mantenimiento.cleanup_closed()["found"] == 0
    assert tables_checksum() == checksum


def test_cleanup_closed_cli():
    targets = closed_leads_backlog(1200, real_now())
    before, others = call_schedule(), other_tables_checksum()
    output = run_json("cleanup-closed", "--batch-size", "70")
    assert output == {"command": "cleanup-closed", "dry_run": False, "found": 400,
                      "cancelled": 400}  # fmt: skip
    assert_only_cancelled(before, call_schedule(), targets)
    assert other_tables_checksum() == others
    human = run_script("cleanup-closed")
    assert human.returncode == 0, human.stderr
    assert human.stdout == "pending calls of closed leads: 0 found, 0 cancelled\n"


# --- purge-cancelled -------------------------------------------------------------------------


def purge_backlog(now: datetime, old: int, margin: timedelta = timedelta(0)) -> set[int]:
    """`old` cancelled calls older than 30 days (by more than `margin`) among others that
    must stay; the ids of the old ones."""
    lead_ids = [make_lead(nombre=f"Lead {i}") for i in range(20)]
    thirty_days = timedelta(days=30)
    keep = [
        (lead_ids[0], now, 1, "cancelled", now - thirty_days + margin),  # not older than 30 days
        (lead_ids[1], now, 1, "cancelled", now - timedelta(days=29, hours=23)),
        (lead_ids[2], now, 1, "cancelled", now - timedelta(hours=1)),
        (lead_ids[3], now, 1, "completed", now - timedelta(days=400)),
        (lead_ids[4], now, 1, "pending", now - timedelta(days=400)),
        (lead_ids[5], now, 1, "completed", now - timedelta(days=31)),
    ]
    old_rows = [
        (lead_ids[i % 20], now - timedelta(days=40), 1, "cancelled",
         now - thirty_days - margin - timedelta(seconds=1 + i * 97 % 400_000))
        for i in range(old)
    ]  # fmt: skip
    existing = set(call_schedule())
    insert_many("call_schedule", SCHEDULE_COLUMNS[1:], keep)
    kept = set(call_schedule()) - existing
    insert_many("call_schedule", SCHEDULE_COLUMNS[1:], old_rows)
    insert_many(
        "pearl_calls",
        ("lead_id", "state", "outcome", "schedule_id"),
        [(lead_ids[3], "completed", "busy", max(kept))],
    )
    return set(call_schedule()) - existing - kept


@pytest.mark.usefixtures("frozen")
def test_purge_cancelled_deletes_only_old_cancelled_calls_in_batches(capsys):
    doomed = purge_backlog(NOW, 2500)
    before, others = call_schedule(), other_tables_checksum()
    result = mantenimiento.purge_cancelled(days=30, batch_size=300, show_progress=True)
    assert result == {"command": "purge-cancelled", "dry_run": False, "days": 30,
                      "found": 2500, "deleted": 2500}  # fmt: skip
    after = call_schedule()
    assert set(after) == set(before) - doomed
    assert all(after[i] == before[i] for i in after)
    assert other_tables_checksum() == others
    done = progress_values(capsys.readouterr().err, "deleted")
    assert done == [300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2500]


@pytest.mark.usefixtures("frozen")
def test_purge_cancelled_days_is_the_age_limit():
    purge_backlog(NOW, 3)
    checksum = tables_checksum()
    assert mantenimiento.purge_cancelled(days=365)["deleted"] == 0
    assert tables_checksum() == checksum
    result = mantenimiento.purge_cancelled(days=1)  # also the 29-day-old cancelled call
    assert (result["found"], result["deleted"]) == (5, 5)
    assert {r["status"] for r in sql("SELECT status FROM call_schedule")} == {
        "cancelled", "completed", "pending"
    }  # fmt: skip


def test_purge_cancelled_cli():
    doomed = purge_backlog(real_now(), 700, margin=timedelta(minutes=10))
    before, others = call_schedule(), other_tables_checksum()
    output = run_json("purge-cancelled", "--days", "30", "--batch-size", "150")
    assert output == {"command": "purge-cancelled", "dry_run": False, "days": 30,
                      "found": 700, "deleted": 700}  # fmt: skip
    after = call_schedule()
    assert set(after) == set(before) - doomed and all(after[i] == before[i] for i in after)
    assert other_tables_checksum() == others
    human = run_script("purge-cancelled")
    assert human.returncode == 0, human.stderr
    assert human.stdout == "cancelled calls older than 30 days: 0 found, 0 deleted\n"


# --- orphans ---------------------------------------------------------------------------------


def make_orphans(now: datetime, count: int) -> set[int]:
    """Calls whose lead does not exist (inserted with foreign key checks off), plus one
    whose lead was deleted with the checks off; their ids."""
    before = set(call_schedule())
    gone = make_lead(nombre="Borrado")
    sql(
        "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, 'pending')",
        (gone, to_db(now)),
    )
    with db.transaction("make orphans") as cur:
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        try:
            cur.executemany(
                "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, %s)",
                [
                    (900_000 + i, to_db(now), ("pending", "completed", "cancelled")[i % 3])
                    for i in range(count)
                ],
            )
            cur.execute("DELETE FROM leads WHERE id = %s", (gone,))
        finally:
            cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    return set(call_schedule()) - before


def healthy_data(now: datetime) -> None:
    for i in range(5):
        lead_id = make_lead(nombre=f"Sano {i}")
        for status in ("completed", "pending"):
            sql(
                "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, %s)",
                (lead_id, to_db(now), status),
            )
    insert_many("pearl_calls", ("lead_id", "state"), [(lead_id, "completed")])


@pytest.mark.usefixtures("frozen")
def test_orphans_are_found_and_only_they_are_deleted():
    healthy_data(NOW)
    orphan_ids = make_orphans(NOW, 25)
    assert len(orphan_ids) == 26
    before, others = call_schedule(), other_tables_checksum()
    checksum = tables_checksum()

    found = mantenimiento.orphans()
    assert (found["found"], found["deleted"], found["dry_run"]) == (26, 0, False)
    assert len(found["sample"]) == 20
    assert {row["id"] for row in found["sample"]} <= orphan_ids
    assert found["sample"][0] == {
        "id": min(orphan_ids),
        "lead_id": before[min(orphan_ids)]["lead_id"],
        "status": "pending",
        "scheduled_at": "2026-11-24T10:00:00+00:00",
    }
    assert tables_checksum() == checksum

    fixed = mantenimiento.orphans(fix=True, batch_size=7)
    assert (fixed["found"], fixed["deleted"]) == (26, 26)
    after = call_schedule()
    assert set(after) == set(before) - orphan_ids
    assert all(after[i] == before[i] for i in after)
    assert other_tables_checksum() == others
    assert mantenimiento.orphans()["found"] == 0


def test_orphans_cli_exit_codes():
    healthy_data(real_now())
    clean = run_json("orphans")
    assert (clean["found"], clean["deleted"], clean["sample"]) == (0, 0, [])
    orphan_ids = make_orphans(real_now(), 4)
    checksum = tables_checksum()
    listed = run_json("orphans", code=1)  # orphans left: a problem
    assert {row["id"] for row in listed["sample"]} == orphan_ids
    assert all(set(row) == {"id", "lead_id", "status", "scheduled_at"} for row in listed["sample"])
    assert tables_checksum() == checksum
    human = run_script("orphans")
    assert human.returncode == 1
    assert human.stdout.startswith("orphan calls: 5 found, 0 deleted\n")
    assert human.stdout.count("of missing lead") == 5
    fixed = run_json("orphans", "--fix", "--batch-size", "2")
    assert (fixed["found"], fixed["deleted"]) == (5, 5)
    assert not set(call_schedule()) & orphan_ids
    assert len(call_schedule()) == 10


# --- check-config ----------------------------------------------------------------------------

GARBAGE = {
    "default_delay_hours": ("abc", "4"),
    "default_max_attempts": ("5", "5"),  # valid: the fallback of busy_max_attempts
    "busy_max_attempts": ("0", "5"),
    "no_answer_delay_hours": ("-2", "4"),  # falls back to default_delay_hours, itself garbage
    "working_days": ("1,2,9", "1,2,3,4,5"),
    "timezone": ("Mars/Olympus_Mons", "Europe/Madrid"),
    "working_hours_end": ("25:00", "20:00"),
    "holidays": ("2026-12-25,2026-02-30", "2026-12-25"),
    "call_result_timeout_minutes": ("soon", "60"),
    "place_failure_delay_minutes": ("0", "30"),
}


def test_check_config_clean():
    result = mantenimiento.check_config()
    assert set(result) == JSON_KEYS["check-config"] and result["problems"] == []
    assert result["effective"]["default_delay_hours"] == "4"
    assert result["raw"]["timezone"] == "Europe/Madrid"
    set_config("busy_delay_hours", "1.5")
    set_config("working_days", "[1, 2, 3, 4, 5, 6]")
    set_config("working_hours_6", "10:00-14:00")
    output = run_json("check-config")
    assert output["problems"] == []
    assert output["effective"]["busy_delay_hours"] == "1.5"
    assert output["effective"]["working_days"] == "1,2,3,4,5,6"
    assert output["effective"]["working_hours_6"] == "10:00-14:00"
    human = run_script("check-config")
    assert human.returncode == 0
    assert human.stdout.endswith("configuration OK\n")
    assert re.search(r"^  busy_delay_hours +1\.5$", human.stdout, re.M)


def test_check_config_lists_garbage_with_the_value_really_used():
    for key, (raw, _) in GARBAGE.items():
        set_config(key, raw)
    garbage = {key for key, (raw, used) in GARBAGE.items() if raw != used}
    checksum = tables_checksum()

    result = mantenimiento.check_config()
    assert {key: result["effective"][key] for key in GARBAGE} == {
        key: used for key, (_, used) in GARBAGE.items()
    }
    assert len(result["problems"]) == len(garbage)
    for key in garbage:
        assert any(p.startswith(f"{key}=") for p in result["problems"]), key
    assert result["raw"]["timezone"] == "Mars/Olympus_Mons"

    output = run_json("check-config", code=1)
    assert output["effective"] == result["effective"]
    assert output["problems"] == result["problems"]
    human = run_script("check-config")
    assert human.returncode == 1
    lines = human.stdout.splitlines()
    assert lines[-1] == f"{len(garbage)} invalid value(s); the values shown are the ones used"
    assert len([line for line in lines if line.startswith("  INVALID ")]) == len(garbage)
    for key, (_, used) in GARBAGE.items():
        assert re.search(rf"^  {key} +{re.escape(used)}$", human.stdout, re.M), key
    assert tables_checksum() == checksum


# --- set-config ------------------------------------------------------------------------------


def config_value(key: str) -> str | None:
    rows = sql("SELECT config_value FROM scheduler_config WHERE config_key = %s", (key,))
    return rows[0]["config_value"] if rows else None


def test_set_config_seed_example():
    output = run_json("set-config", "default_delay_hours", "2")
    assert output == {"command": "set-config", "dry_run": False,
                      "key": "default_delay_hours", "value": "2", "written": True,
                      "warnings": []}  # fmt: skip
    assert config_value("default_delay_hours") == "2"
    scheduler_config.clear_config_cache()
    assert get_retry_config_from_db("no_answer") == {"delay_hours": 2.0, "max_attempts": 3}
    human = run_script("set-config", "busy_max_attempts", "5")
    assert human.returncode == 0 and human.stdout == "set busy_max_attempts = '5'\n"
    scheduler_config.clear_config_cache()
    assert get_retry_config_from_db("busy") == {"delay_hours": 2.0, "max_attempts": 5}


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("default_max_attempts", " 4 ", "4"),
        ("no_answer_delay_hours", "0.5", "0.5"),
        ("hang_up_max_attempts", "1000", "1000"),
        ("working_days", "[1, 2, 3, 4, 5, 6]", "[1, 2, 3, 4, 5, 6]"),
        ("working_hours_start", "09:00", "09:00"),
        ("working_hours_end", "21:30", "21:30"),
        ("working_hours_5", "10:00-14:00", "10:00-14:00"),
        ("timezone", "Atlantic/Canary", "Atlantic/Canary"),
        ("holidays", "2026-12-24,2026-12-31", "2026-12-24,2026-12-31"),
        ("holidays", "", ""),
        ("holidays_country", "ES", "ES"),
        ("call_result_timeout_minutes", "90", "90"),
        ("place_failure_delay_minutes", "15", "15"),
    ],
)
def test_set_config_writes_valid_values(key, value, stored, capsys):
    assert mantenimiento.main(["set-config", key, value, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == stored
    assert config_value(key) == stored
    assert mantenimiento.check_config()["problems"] == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("default_delay_hours", "abc"),
        ("default_delay_hours", "0"),
        ("default_delay_hours", "-1"),
        ("default_delay_hours", "nan"),
        ("default_delay_hours", "inf"),
        ("default_delay_hours", "100000"),
        ("default_max_attempts", "2.5"),
        ("default_max_attempts", "0"),
        ("busy_max_attempts", "1001"),
        ("working_days", "1,2,9"),
        ("working_days", ""),
        ("working_hours_start", "25:00"),
        ("working_hours_end", "8pm"),
        ("working_hours_3", "18:00-09:00"),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../etc/passwd"),
        ("holidays", "2026-02-30"),
        ("call_result_timeout_minutes", "0"),
        ("place_failure_delay_minutes", "soon"),
        ("max_attempts", "3"),
        ("_max_attempts", "3"),
        ("default_delay_minutes", "30"),
        ("working_hours_8", "10:00-14:00"),
        ("DEFAULT_DELAY_HOURS", "2"),
        ("Busy_delay_hours", "2"),
        ("x'; DROP TABLE leads; --", "1"),
        ("", "1"),
        # Valid on its own, invalid with the rest of the configuration.
        ("working_hours_start", "21:00"),
        ("working_hours_end", "09:30"),
        ("holidays_country", "XX"),
        # Longer than the column holds.
        pytest.param("holidays", ",".join(["2027-01-01"] * 200), id="holidays-too-long"),
    ],
)
def test_set_config_refuses_garbage_and_writes_nothing(key, value, capsys):
    checksum = tables_checksum()
    with pytest.raises(ValueError):
        mantenimiento.set_config(key, value)
    assert mantenimiento.main(["set-config", key, value]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("error: ")
    assert tables_checksum() == checksum


def test_set_config_cli_refusal_is_one_line_and_exit_2():
    checksum = tables_checksum()
    for args in (("default_delay_hours", "abc"), ("no_such_key", "1")):
        result = run_script("set-config", *args)
        assert result.returncode == 2
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert tables_checksum() == checksum


# --- every command: --dry-run, bad arguments, database unavailable ------------------------


def work_for_every_command(now: datetime) -> None:
    closed_leads_backlog(60, now)
    purge_backlog(now, 30, margin=timedelta(minutes=10))
    make_orphans(now, 3)
    set_config("busy_delay_hours", "soon")


@pytest.mark.parametrize(
    ("args", "code", "found"),
    [
        (("cleanup-closed",), 0, 20),
        (("purge-cancelled", "--days", "30"), 0, 30),
        (("orphans", "--fix"), 1, 4),
        (("check-config",), 1, None),
        (("set-config", "default_delay_hours", "2"), 0, None),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else None,
)
def test_dry_run_changes_nothing(args, code, found):
    work_for_every_command(real_now())
    checksum = tables_checksum()
    output = run_json(*args, "--dry-run", code=code)
    assert tables_checksum() == checksum
    assert output.get("dry_run", True) is True
    if found is not None:
        assert output["found"] == found
        assert output.get("deleted", output.get("cancelled")) == 0
    human = run_script(*args, "--dry-run")
    assert human.returncode == code
    if "found" in human.stdout:
        assert "(dry run: nothing changed)" in human.stdout
    assert tables_checksum() == checksum


@pytest.mark.parametrize(
    "args",
    [
        ("cleanup-closed", "--batch-size", "0"),
        ("purge-cancelled", "--days", "0"),
        ("purge-cancelled", "--batch-size", "100001"),
        ("orphans", "--fix", "--batch-size", "-5"),
    ],
    ids=" ".join,
)
def test_bad_numbers_are_refused_before_any_change(args, capsys):
    work_for_every_command(real_now())
    checksum = tables_checksum()
    assert mantenimiento.main(list(args)) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert tables_checksum() == checksum


@pytest.mark.parametrize(
    "args",
    [
        ("cleanup-closed",),
        ("purge-cancelled", "--days", "30"),
        ("orphans", "--fix"),
        ("check-config",),
        ("set-config", "default_delay_hours", "2"),
        ("cleanup-closed", "--json"),
    ],
    ids=" ".join,
)
def test_unreachable_database_is_one_line_and_exit_3(args):
    result = run_script(*args, env={"DB_PORT": "1", "DB_CONNECT_TIMEOUT": "2"})
    assert result.returncode == 3
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach the database server") and "(error 2003)" in line
    assert "Traceback" not in result.stderr
