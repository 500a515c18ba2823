"""Monitoring, alerts and self-tests of the scheduled-calls system (the seed's test script).

    python probar_llamadas_programadas.py            # statistics, due calls, alerts, self-tests
    python probar_llamadas_programadas.py --alerts   # alerts only (the hourly health check)
    python probar_llamadas_programadas.py --stats    # statistics only
    python probar_llamadas_programadas.py --pending 20
    python probar_llamadas_programadas.py --json     # machine-readable, stable keys
    python probar_llamadas_programadas.py --now 2026-12-01T10:00   # rehearse at another time
    python probar_llamadas_programadas.py --demo     # the whole loop on a demo database

--json prints one object: "stats" (keys by_status, due_now, scheduled_later,
closed_last_24h, in_flight, oldest_overdue_minutes, generated_at), "pending"
(a list), "monitoring" (alerts, paused, paused_reason, stranded_leads,
working_time, last_run), "alerts" (a list of {code, message}), "self_tests"
({name: passed}), "demo" (with --demo) and "ok".

Alerts (exit 1, one line on stderr saying why): overdue (calls overdue by more than
alert_overdue_minutes inside working time), stale_dispatch (no dispatcher run finished
in the last alert_stale_dispatch_minutes during working time), failed_runs (the last
alert_failed_runs runs placed no call while calls were due, or failed), uncertain_calls
(calls uncertain for more than alert_uncertain_minutes), quarantined_calls,
stranded_leads, dispatch_paused (paused for more than alert_paused_hours; a shorter
pause is shown, and silences the overdue, stale and failed-run alerts), self_test_failed.

The self-tests never touch real leads: each creates its own lead marked is_demo (which
no dispatcher dials) with a fictional number, runs the real code path and removes it,
even when a check fails; each run also removes self-test leads a killed run left behind.
The number is +61 491 570 156, inside the range the Australian regulator (ACMA)
reserves for fiction (0491 570 006-0491 570 159): valid for phonenumbers, so no code path
closes it as a wrong number, yet never a real person's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import db
import heartbeat
import operations
import queries
import scheduler_config
import script_errors
import stranded
from call_manager_scheduler_integration import enhanced_process_call_result
from clock import from_db, to_db, utc_now
from phone import mask_phone
from reprogramar_llamadas_simple import (
    CLOSURE_MAX_ATTEMPTS,
    get_retry_config_from_db,
    schedule_call,
    simple_reschedule_failed_call,
)
from script_errors import EXIT_CODES_HELP
from working_time import is_working_instant

logger = logging.getLogger(__name__)

DEMO_NOMBRE = "DEMO probar_llamadas_programadas"
# ACMA's range for fiction (see the module docstring); demo databases use the same range.
DEMO_TELEFONO = "+61491570156"
LEGACY_DEMO_TELEFONO = "+34600000000"  # what older versions used: cleaned up too
DEMO_RANGE_START = 491570006  # Australian national number, 0491 570 006
LEFTOVER_MINUTES = 10  # a self-test lead older than this belongs to a killed run
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_DATABASE = 0, 1, 2, 3


def _say(echo: bool, text: str = "") -> None:
    if echo:
        print(text)


def _local(moment: datetime | None, zone) -> str | None:
    return None if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# --- statistics ---------------------------------------------------------------------------


def mostrar_estadisticas_call_schedule(
    *, echo: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """Print and return the system's statistics.

    Keys: by_status {status: n}, due_now, scheduled_later, closed_last_24h
    {reason: n}, in_flight, oldest_overdue_minutes (None when nothing is due),
    generated_at (ISO UTC). `now` (aware) rehearses another moment; default the clock.
    """
    now = now or utc_now()
    with db.transaction("statistics") as cur:
        by_status = {
            r["status"]: int(r["total"])
            for r in db.fetch_all(cur, queries.SCHEDULE_STATUS_DISTRIBUTION)
        }
        due = db.fetch_one(cur, queries.COUNT_DUE_NOW, {"now": to_db(now)})["total"]
        later = db.fetch_one(cur, queries.COUNT_PENDING_LATER, {"now": to_db(now)})["total"]
        closed = {
            (r["closure_reason"] or "(no reason)"): int(r["total"])
            for r in db.fetch_all(
                cur, queries.CLOSED_SINCE_BY_REASON, {"since": to_db(now - timedelta(hours=24))}
            )
        }
        in_flight = db.fetch_one(cur, queries.COUNT_IN_FLIGHT)["total"]
        oldest = db.fetch_one(cur, queries.OLDEST_DUE_PENDING, {"now": to_db(now)})["oldest"]
    behind = None if oldest is None else round((now - from_db(oldest)).total_seconds() / 60, 1)
    stats = {
        "by_status": {s: by_status.get(s, 0) for s in ("pending", "completed", "cancelled")},
        "due_now": int(due),
        "scheduled_later": int(later),
        "closed_last_24h": closed,
        "in_flight": int(in_flight),
        "oldest_overdue_minutes": behind,
        "generated_at": now.isoformat(timespec="seconds"),
    }
    _say(echo, "== call_schedule statistics ==")
    for status, total in stats["by_status"].items():
        _say(echo, f"  {status:<10} {total:>8}")
    _say(echo, f"  due now {stats['due_now']}, scheduled for later {stats['scheduled_later']}")
    _say(echo, f"  calls in flight {stats['in_flight']}")
    if behind is not None:
        _say(echo, f"  oldest due call waiting {behind:g} minutes")
    _say(echo, "  leads closed in the last 24 h:")
    for reason, total in closed.items() or [("none", 0)]:
        _say(echo, f"    {reason:<30} {total:>6}")
    return stats


def mostrar_llamadas_pendientes(
    limit: int = 10, *, echo: bool = True, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Print and return the calls due now (the seed's pending query), oldest first.

    Each item: schedule_id, lead_id, nombre, telefono (masked but the last 3
    digits), scheduled_at (business local time), delay_minutes, attempt_number,
    last_outcome. Raises ValueError for a limit outside 1..1000.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValueError(f"limit must be an integer from 1 to 1000, got {limit!r}")
    now = now or utc_now()
    with db.transaction("pending calls") as cur:
        rows = db.fetch_all(cur, queries.PENDING_DUE_CALLS, {"now": to_db(now), "limit": limit})
        zone = scheduler_config.get_config(cur).working_time.timezone
    calls = []
    for row in rows:
        scheduled = from_db(row["scheduled_at"])
        calls.append(
            {
                "schedule_id": row["id"],
                "lead_id": row["lead_id"],
                "nombre": " ".join(p for p in (row["nombre"], row["apellidos"]) if p)[:60],
                "telefono": mask_phone(row["telefono"]),
                "scheduled_at": _local(scheduled, zone),
                "delay_minutes": round((now - scheduled).total_seconds() / 60, 1),
                "attempt_number": row["attempt_number"],
                "last_outcome": row["last_outcome"],
            }
        )
    _say(echo, f"== calls due now ({len(calls)} shown, times in {zone.key}) ==")
    for c in calls:
        _say(
            echo,
            f"  #{c['schedule_id']:<7} lead {c['lead_id']:<7} {c['nombre'][:24]:<24} "
            f"{c['telefono']:<14} {c['scheduled_at']}  +{c['delay_minutes']:g} min  "
            f"attempt {c['attempt_number']}  {c['last_outcome'] or '-'}",
        )
    return calls


# --- alerts ---------------------------------------------------------------------------------


def _alert(alerts: list[dict[str, str]], code: str, message: str) -> None:
    alerts.append({"code": code, "message": message})


def check_alerts(now: datetime | None = None, *, echo: bool = True) -> dict[str, Any]:
    """Everything that should page someone, at `now` (aware; default the clock).

    Returns {alerts: [{code, message}], paused, paused_reason, stranded_leads,
    working_time (whether `now` is business working time), last_run (finished_at ISO
    or None)}. Read-only: one short transaction.
    """
    now = now or utc_now()
    alerts: list[dict[str, str]] = []
    with db.transaction("alerts") as cur:
        scheduler_config.clear_config_cache()
        config = scheduler_config.get_config(cur)
        raw = config.raw
        paused, reason = operations.dispatch_paused(config)
        working = is_working_instant(now, config.working_time)
        overdue_minutes = operations.alert_setting(raw, "alert_overdue_minutes")
        overdue = db.fetch_one(
            cur,
            queries.COUNT_OVERDUE_CALLS,
            {"before": to_db(now - timedelta(minutes=overdue_minutes))},
        )
        last = heartbeat.last_finished_run(cur, now)
        runs_needed = int(operations.alert_setting(raw, "alert_failed_runs"))
        runs = heartbeat.recent_runs(cur, now, runs_needed)
        uncertain_before = now - timedelta(
            minutes=operations.alert_setting(raw, "alert_uncertain_minutes")
        )
        uncertain = db.fetch_one(
            cur,
            queries.COUNT_CALLS_BY_STATE_BEFORE,
            {"state": "uncertain", "before": to_db(uncertain_before)},
        )["total"]
        quarantined = db.fetch_one(
            cur, queries.COUNT_CALLS_BY_STATE_BEFORE, {"state": "quarantined", "before": to_db(now)}
        )["total"]
        stranded_count = stranded.count_stranded(cur)
    if paused:
        since = operations.paused_since(reason)
        limit_hours = operations.alert_setting(raw, "alert_paused_hours")
        if since is not None and now - since > timedelta(hours=limit_hours):
            hours = (now - since).total_seconds() / 3600
            _alert(alerts, "dispatch_paused", f"dispatch paused for {hours:.1f} h: {reason}")
    else:
        if working and overdue["total"]:
            late = (now - from_db(overdue["oldest"])).total_seconds() / 60
            _alert(
                alerts,
                "overdue",
                f"{overdue['total']} call(s) overdue by more than {overdue_minutes:g} min in "
                f"working time (oldest {late:.0f} min)",
            )
        stale_minutes = operations.alert_setting(raw, "alert_stale_dispatch_minutes")
        if working and (
            last is None or last["finished_at"] < now - timedelta(minutes=stale_minutes)
        ):
            when = "never" if last is None else f"last at {last['finished_at']:%Y-%m-%d %H:%M}Z"
            _alert(
                alerts,
                "stale_dispatch",
                f"no dispatcher run finished in the last {stale_minutes:g} min ({when})",
            )
        if len(runs) >= runs_needed and all(heartbeat.is_failed_run(run) for run in runs):
            errors = sorted({run["error"] for run in runs if run.get("error")})
            detail = f": {errors[0]}" if errors else ""
            _alert(
                alerts,
                "failed_runs",
                f"the last {runs_needed} dispatcher runs placed no call while calls were due, "
                f"or failed{detail}",
            )
    if uncertain:
        _alert(alerts, "uncertain_calls", f"{uncertain} call(s) uncertain (maybe dialled, "
               "not reconciled with Pearl) for more than "
               f"{operations.alert_setting(raw, 'alert_uncertain_minutes'):g} min")  # fmt: skip
    if quarantined:
        message = f"{quarantined} call result(s) quarantined: their processing keeps failing"
        _alert(alerts, "quarantined_calls", message)
    if stranded_count:
        _alert(alerts, "stranded_leads", f"{stranded_count} open lead(s) have nothing scheduled: "
               "run `python mantenimiento.py stranded --fix`")  # fmt: skip
    report = {
        "alerts": alerts,
        "paused": paused,
        "paused_reason": reason,
        "stranded_leads": stranded_count,
        "working_time": working,
        "last_run": None if last is None else last["finished_at"].isoformat(),
    }
    _say(echo, "== monitoring ==")
    _say(echo, f"  dispatch {'PAUSED: ' + str(reason) if paused else 'running'}")
    _say(echo, f"  working time now: {'yes' if working else 'no'}; last dispatcher run "
               f"finished {report['last_run'] or 'never'}")  # fmt: skip
    _say(echo, f"  stranded leads {stranded_count}")
    for alert in alerts:
        _say(echo, f"  ALERT {alert['code']}: {alert['message']}")
    if not alerts:
        _say(echo, "  no alerts")
    return report


def remove_self_test_leftovers(now: datetime | None = None) -> int:
    """Delete self-test leads a killed run left behind (older than LEFTOVER_MINUTES by the
    real clock); return how many. Their schedules and calls go with them."""
    before = (now or utc_now()) - timedelta(minutes=LEFTOVER_MINUTES)
    removed = db.run_in_transaction(
        lambda cur: db.execute(
            cur,
            queries.DELETE_SELF_TEST_LEFTOVERS,
            {
                "nombre": DEMO_NOMBRE,
                "before": to_db(before),
                "legacy_telefono": LEGACY_DEMO_TELEFONO,
            },
        ),
        name="remove self-test leftovers",
    )
    if removed:
        logger.warning("removed %d self-test lead(s) left by a killed run", removed)
    return removed


# --- self-tests on demo leads -------------------------------------------------------------


@contextmanager
def _demo_lead(label: str):
    """A self-test lead (is_demo, fictional number), removed afterwards whatever happens."""
    with db.transaction("create demo lead") as cur:
        db.execute(
            cur,
            queries.INSERT_SELF_TEST_LEAD,
            {"nombre": DEMO_NOMBRE, "apellidos": label, "telefono": DEMO_TELEFONO,
             "now": to_db(utc_now())},
        )  # fmt: skip
        lead_id = cur.lastrowid
    try:
        yield lead_id
    finally:
        with db.transaction("remove demo lead") as cur:
            db.execute(cur, queries.DELETE_DEMO_LEAD, {"lead_id": lead_id, "nombre": DEMO_NOMBRE})


def _lead(lead_id: int) -> dict:
    with db.transaction("read demo lead") as cur:
        return db.fetch_one(cur, queries.LEAD_BY_ID, (lead_id,))


def _pending(lead_id: int) -> dict | None:
    with db.transaction("read demo schedule") as cur:
        return db.fetch_one(cur, queries.PENDING_SCHEDULE_FOR_LEAD, (lead_id,))


def _run_check(name: str, echo: bool, body: Callable[[list[str]], None]) -> bool:
    failures: list[str] = []
    try:
        body(failures)
    except db.DatabaseError:
        raise
    except Exception as exc:  # a self-test reports, it does not crash the report
        logger.exception("self-test %s raised", name)
        failures.append(f"raised {type(exc).__name__}: {exc}")
    passed = not failures
    _say(echo, f"  [{'PASS' if passed else 'FAIL'}] {name}")
    for failure in failures:
        _say(echo, f"         {failure}")
    return passed


def _expect(failures: list[str], condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)


def simular_proceso_llamada_exitosa(*, echo: bool = True) -> bool:
    """Self-test: a successful call with an appointment closes a demo lead as 'Cita agendada'."""

    def body(failures: list[str]) -> None:
        with _demo_lead("exitosa") as lead_id:
            schedule_call(lead_id, utc_now() + timedelta(days=1))
            day = (utc_now() + timedelta(days=3)).strftime("%d-%m-%Y")
            result = enhanced_process_call_result(
                lead_id,
                {"success": True, "status": "completed"},
                {
                    "id": f"demo-ok-{lead_id}",
                    "status": 4,
                    "conversationStatus": 100,
                    "collectedInfo": [
                        {"id": "fechaDeseada", "value": day},
                        {"id": "horaDeseada", "value": "12:30"},
                        {"id": "callResult", "value": "Cita reservada"},
                    ],
                },
            )
            lead = _lead(lead_id)
            _expect(failures, result.action == "closed", f"action {result.action!r}")
            _expect(failures, lead["closure_reason"] == "Cita agendada", "not closed as cita")
            _expect(failures, lead["cita"] is not None, "cita not stored")
            _expect(failures, lead["call_status"] == "completed", "call_status not completed")
            _expect(failures, _pending(lead_id) is None, "a pending call was left")

    return _run_check("simular_proceso_llamada_exitosa", echo, body)


def simular_proceso_llamada_fallida(*, echo: bool = True) -> bool:
    """Self-test: a no-answer result reschedules a demo lead inside working time."""

    def body(failures: list[str]) -> None:
        with _demo_lead("fallida") as lead_id:
            result = enhanced_process_call_result(
                lead_id, {"callResult": "no_answer", "status": "failed", "outcome": "no_answer"}
            )
            retry = get_retry_config_from_db("no_answer")
            pending = _pending(lead_id)
            expect_retry = retry["max_attempts"] > 1
            _expect(failures, result.outcome == "no_answer", f"outcome {result.outcome!r}")
            _expect(failures, _lead(lead_id)["call_attempts_count"] == 1, "attempt not counted")
            if expect_retry:
                _expect(failures, pending is not None, "no pending call was created")
                if pending is not None:
                    when = from_db(pending["scheduled_at"])
                    wt = scheduler_config.get_config().working_time
                    _expect(failures, is_working_instant(when, wt), "retry outside working time")
                    _expect(failures, pending["attempt_number"] == 2, "attempt_number not 2")

    return _run_check("simular_proceso_llamada_fallida", echo, body)


def probar_reprogramacion_automatica(*, echo: bool = True) -> bool:
    """Self-test: failed calls are rescheduled until max_attempts, then the lead is closed."""

    def body(failures: list[str]) -> None:
        with _demo_lead("reprogramacion") as lead_id:
            max_attempts = get_retry_config_from_db("busy")["max_attempts"]
            answers = [simple_reschedule_failed_call(lead_id, "busy") for _ in range(max_attempts)]
            expected = [True] * (max_attempts - 1) + [False]
            _expect(failures, answers == expected, f"answers {answers}, expected {expected}")
            lead = _lead(lead_id)
            _expect(failures, lead["lead_status"] == "closed", "lead not closed")
            _expect(failures, lead["closure_reason"] == CLOSURE_MAX_ATTEMPTS, "wrong reason")
            _expect(failures, _pending(lead_id) is None, "a pending call was left")

    return _run_check("probar_reprogramacion_automatica", echo, body)


SELF_TESTS = (
    simular_proceso_llamada_exitosa,
    simular_proceso_llamada_fallida,
    probar_reprogramacion_automatica,
)


def run_self_tests(*, echo: bool = True) -> dict[str, bool]:
    """Run the three self-tests; {name: passed}."""
    _say(echo, "== self-tests (demo leads, removed afterwards) ==")
    return {test.__name__: test(echo=echo) for test in SELF_TESTS}


# --- demo ---------------------------------------------------------------------------------

DEMO_LEADS = 40


@contextmanager
def _using_database(name: str):
    """Point this process's connections at another database for the duration."""
    saved = os.environ.get("DB_DATABASE")
    db.close_connection()
    os.environ["DB_DATABASE"] = name
    scheduler_config.clear_config_cache()
    try:
        yield
    finally:
        db.close_connection()
        if saved is None:
            os.environ.pop("DB_DATABASE", None)
        else:
            os.environ["DB_DATABASE"] = saved
        scheduler_config.clear_config_cache()


def run_demo(*, seed: int = 7, echo: bool = True) -> dict[str, Any]:
    """Create (or reuse) DB_DATABASE + '_demo', fill it with sample leads when it has no
    calls due, run one simulated dispatch cycle and show statistics before and after.
    Never touches the configured database."""
    import despachar_llamadas

    settings = db.DbSettings.from_env()
    name = f"{settings.database}_demo"
    if len(name) > 64:  # cutting it could give the configured database's own name
        raise ValueError(f"DB_DATABASE is too long to add '_demo' to it ({name!r} > 64 characters)")
    db.init_database(db.DbSettings(**{**settings.__dict__, "database": name}))
    with _using_database(name):
        _say(echo, f"demo database {name!r} (working time: every day, all day, so it runs now)")
        _prepare_demo(echo)
        before = mostrar_estadisticas_call_schedule(echo=echo)
        summary = despachar_llamadas.dispatch_due_calls(simulate=True, seed=seed, limit=100)
        _say(echo, f"== simulated dispatch: {summary.line()} ==")
        after = mostrar_estadisticas_call_schedule(echo=echo)
    return {"database": name, "before": before, "dispatch": summary.__dict__, "after": after}


def _prepare_demo(echo: bool) -> None:
    with db.transaction("demo config") as cur:
        operations.mark_demo_database(cur)
        for key, value in (("working_days", "1,2,3,4,5,6,7"), ("working_hours_start", "00:00"),
                           ("working_hours_end", "23:59")):  # fmt: skip
            db.execute(cur, queries.SET_CONFIG, {"key": key, "value": value, "description": None})
        due = db.fetch_one(cur, queries.COUNT_DUE_NOW, {"now": to_db(utc_now())})["total"]
    scheduler_config.clear_config_cache()
    if due:
        return
    _say(echo, f"adding {DEMO_LEADS} sample leads with a call due now")
    for i in range(DEMO_LEADS):
        with db.transaction("demo lead") as cur:
            db.execute(
                cur,
                queries.INSERT_DEMO_LEAD,
                {"nombre": f"Demo {i + 1}", "apellidos": "Ejemplo",
                 "telefono": f"+61{DEMO_RANGE_START + 100 + i}", "now": to_db(utc_now())},
            )  # fmt: skip
            lead_id = cur.lastrowid
        schedule_call(lead_id)


# --- command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        description="Monitoring, alerts and self-tests of the scheduled-calls system.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python probar_llamadas_programadas.py            # everything; exit 0 if healthy\n"
        "  python probar_llamadas_programadas.py --alerts   # the hourly health check\n"
        "  python probar_llamadas_programadas.py --stats --json\n"
        "  python probar_llamadas_programadas.py --pending 25\n"
        "  python probar_llamadas_programadas.py --now 2026-12-01T10:00  # business-local time\n"
        "  python probar_llamadas_programadas.py --demo     # try it on a demo database\n\n"
        + EXIT_CODES_HELP,
    )


def parse_now(text: str, zone) -> datetime:
    """--now: ISO date-time with an offset, or naive business-local wall time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--now must be an ISO date-time like 2026-12-01T10:00, got {text[:40]!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = _parser()
    parser.add_argument("--stats", action="store_true", help="statistics only")
    parser.add_argument(
        "--pending", nargs="?", type=int, const=10, metavar="N", help="the N calls due now (10)"
    )
    parser.add_argument("--alerts", action="store_true", help="alerts only (health check)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--demo", action="store_true", help="simulate on a separate demo database")
    parser.add_argument("--seed", type=int, default=7, help="random seed for --demo (7)")
    parser.add_argument(
        "--now", metavar="ISO", help="rehearse at this moment (business-local, or with offset)"
    )
    script_errors.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    script_errors.configure_logging(args.verbose)
    db.load_env_file()
    return script_errors.run_script(lambda: _run(args), verbose=args.verbose)


def _run(args: argparse.Namespace) -> int:
    echo = not args.json
    report: dict[str, Any] = {}
    if args.demo:
        report["demo"] = run_demo(seed=args.seed, echo=echo)
        report["ok"] = True
        if args.json:
            print(json.dumps(report, sort_keys=True, default=str))
        return EXIT_OK
    now = None
    if args.now:
        now = parse_now(args.now, scheduler_config.get_config().working_time.timezone)
        _say(echo, f"rehearsing at {now.isoformat(timespec='minutes')}")
    everything = not args.stats and args.pending is None and not args.alerts
    if everything or args.alerts:  # --stats and --pending only read (a read-only user may)
        remove_self_test_leftovers()
    if args.stats or everything:
        report["stats"] = mostrar_estadisticas_call_schedule(echo=echo, now=now)
    if args.pending is not None or everything:
        limit = 10 if args.pending is None else args.pending  # --pending 0 is refused
        report["pending"] = mostrar_llamadas_pendientes(limit, echo=echo, now=now)
    if args.alerts or everything:
        report["monitoring"] = check_alerts(now, echo=echo)
    alerts = list(report.get("monitoring", {}).get("alerts", []))
    if everything:
        report["self_tests"] = run_self_tests(echo=echo)
        failed = sorted(name for name, ok in report["self_tests"].items() if not ok)
        if failed:
            _alert(alerts, "self_test_failed", f"self-test(s) failed: {', '.join(failed)}")
    if "monitoring" in report or "self_tests" in report:
        report["alerts"] = alerts
    report["ok"] = not alerts
    if args.json:
        print(json.dumps(report, sort_keys=True, default=str))
    if alerts:
        print(
            "alert: " + "; ".join(f"{a['code']}: {a['message']}" for a in alerts), file=sys.stderr
        )
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
