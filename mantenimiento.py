"""Maintenance jobs (the seed's "Mantenimiento").

    python mantenimiento.py cleanup-closed           # daily: cancel pending calls of closed leads
    python mantenimiento.py purge-cancelled --days 30  # monthly: delete old cancelled calls
    python mantenimiento.py orphans [--fix]          # calls whose lead no longer exists
    python mantenimiento.py check-config             # every scheduler_config value, as used
    python mantenimiento.py set-config KEY VALUE     # validated before it is written

Every command takes --dry-run (report, change nothing) and --json. Long runs
show progress on a terminal and stay quiet under cron. Exit codes: 0 done,
1 problems found (invalid configuration, orphans left), 2 bad arguments,
3 database unavailable.

--json prints one object with "command" and: cleanup-closed dry_run, found,
cancelled; purge-cancelled dry_run, days, found, deleted; orphans dry_run,
found, deleted, sample (up to 20 of {id, lead_id, status, scheduled_at});
check-config raw, effective, problems; set-config dry_run, key, value.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import db
import queries
import scheduler_config
from clock import from_db, to_db, utc_now
from reprogramar_llamadas_simple import cleanup_closed_leads_schedules

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_DATABASE = 0, 1, 2, 3


def _progress(label: str, total: int | None, enabled: bool) -> Callable[[int], None]:
    """A callback printing 'label: done/total' in place on a terminal; silent otherwise."""

    def show(done: int) -> None:
        if enabled:
            of = f"/{total}" if total is not None else ""
            print(f"\r{label}: {done}{of}", end="", file=sys.stderr, flush=True)

    return show


def _count(query: queries.Query, params: dict | None = None) -> int:
    with db.transaction("count") as cur:
        return int(db.fetch_one(cur, query, params or {})["total"])


def _check_batch_size(batch_size: int) -> None:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= 100_000
    ):
        raise ValueError(f"batch size must be an integer from 1 to 100000, got {batch_size!r}")


def cleanup_closed(*, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                   show_progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """Cancel pending calls of closed leads (the daily job)."""
    _check_batch_size(batch_size)
    found = _count(queries.COUNT_CLOSED_LEADS_PENDING)
    if dry_run:
        return {"command": "cleanup-closed", "dry_run": True, "found": found, "cancelled": 0}
    cancelled = cleanup_closed_leads_schedules(
        batch_size, progress=_progress("cancelled", found, show_progress)
    )
    return {"command": "cleanup-closed", "dry_run": False, "found": found, "cancelled": cancelled}


def purge_cancelled(*, days: int = 30, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                    show_progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """Delete cancelled calls created more than `days` days ago, one bounded batch per
    transaction so the dispatcher is never blocked for long."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36_500:
        raise ValueError(f"days must be an integer from 1 to 36500, got {days!r}")
    _check_batch_size(batch_size)
    before = to_db(utc_now() - timedelta(days=days))
    found = _count(queries.COUNT_CANCELLED_BEFORE, {"before": before})
    result = {"command": "purge-cancelled", "dry_run": dry_run, "days": days, "found": found}
    if dry_run:
        return {**result, "deleted": 0}
    show = _progress("deleted", found, show_progress)
    deleted = 0
    while True:
        batch = db.run_in_transaction(
            lambda cur: db.execute(
                cur, queries.PURGE_CANCELLED_BATCH, {"before": before, "batch_size": batch_size}
            ),
            name="purge cancelled calls",
        )
        deleted += batch
        show(deleted)
        if batch < batch_size:
            break
    return {**result, "deleted": deleted}


def orphans(*, fix: bool = False, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
            show_progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """List calls whose lead no longer exists; with `fix`, delete them."""
    _check_batch_size(batch_size)
    with db.transaction("find orphans") as cur:
        rows = db.fetch_all(cur, queries.ORPHAN_SCHEDULES, {"limit": 100_000})
    sample = [
        {"id": r["id"], "lead_id": r["lead_id"], "status": r["status"],
         "scheduled_at": from_db(r["scheduled_at"]).isoformat()}
        for r in rows[:20]
    ]  # fmt: skip
    deleted = 0
    if fix and not dry_run:
        show = _progress("deleted", len(rows), show_progress)
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), batch_size):
            chunk = tuple(ids[start : start + batch_size])
            deleted += db.run_in_transaction(
                lambda cur, chunk=chunk: db.execute(
                    cur, queries.DELETE_ORPHAN_SCHEDULES, {"ids": chunk}
                ),
                name="delete orphan calls",
            )
            show(deleted)
    return {"command": "orphans", "dry_run": dry_run, "found": len(rows), "deleted": deleted,
            "sample": sample}  # fmt: skip


def check_config() -> dict[str, Any]:
    """Every scheduler_config value parsed: the raw rows, the values really used, problems."""
    scheduler_config.clear_config_cache()
    config = scheduler_config.get_config()
    problems = list(config.problems)
    # Read by name elsewhere (config.number), so parse_config does not list them.
    for key, (_, _, default) in scheduler_config.NUMBER_SETTINGS.items():
        raw = config.raw.get(key)
        if raw is not None and raw.strip() and scheduler_config.validate_setting(key, raw):
            problems.append(f"{key}={raw[:60]!r} is invalid; using {default:g}")
    return {
        "command": "check-config",
        "raw": dict(sorted(config.raw.items())),
        "effective": scheduler_config.effective_settings(config),
        "problems": problems,
    }


def _new_problems(cur, key: str, value: str) -> list[str]:
    """What writing key=value would make invalid in the configuration as a whole (a start
    after the end, a holiday country with no calendar), beyond what is invalid already."""
    raw = {r["config_key"]: r["config_value"] for r in db.fetch_all(cur, queries.LOAD_CONFIG)}
    # A candidate, not the configuration in use: parse without logging warnings.
    before = set(scheduler_config.parse_config(raw, log=False).problems)
    after = scheduler_config.parse_config({**raw, key: value}, log=False).problems
    return [problem for problem in after if problem not in before]


def set_config(key: str, value: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Validate and write one scheduler_config value. Raises ValueError when it is invalid
    (nothing is written)."""
    problem = scheduler_config.validate_setting(key, value)
    if problem is not None:
        raise ValueError(problem)
    value = value.strip()

    def work(cur) -> None:
        new = _new_problems(cur, key, value)
        if new:
            raise ValueError(f"{key}={value!r} conflicts with the other settings: {new[0]}")
        if not dry_run:
            db.execute(cur, queries.SET_CONFIG, {"key": key, "value": value, "description": None})

    db.run_in_transaction(work, name=f"set {key}")
    if not dry_run:
        scheduler_config.clear_config_cache()
    return {"command": "set-config", "dry_run": dry_run, "key": key, "value": value}


def _print_human(result: dict[str, Any]) -> None:
    command = result["command"]
    mode = " (dry run: nothing changed)" if result.get("dry_run") else ""
    if command == "cleanup-closed":
        print(f"pending calls of closed leads: {result['found']} found, "
              f"{result['cancelled']} cancelled{mode}")  # fmt: skip
    elif command == "purge-cancelled":
        print(f"cancelled calls older than {result['days']} days: {result['found']} found, "
              f"{result['deleted']} deleted{mode}")  # fmt: skip
    elif command == "orphans":
        print(f"orphan calls: {result['found']} found, {result['deleted']} deleted{mode}")
        for row in result["sample"]:
            print(f"  call {row['id']} of missing lead {row['lead_id']} ({row['status']})")
    elif command == "check-config":
        for key, value in result["effective"].items():
            print(f"  {key:<32} {value}")
        for problem in result["problems"]:
            print(f"  INVALID {problem}")
        count = len(result["problems"])
        print(
            f"{count} invalid value(s); the values shown are the ones used"
            if count
            else "configuration OK"
        )
    elif command == "set-config":
        print(f"{result['key']} = {result['value']!r}{mode}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Maintenance jobs of the scheduled-calls system.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("cleanup-closed", parents=[common], help="cancel pending calls of closed leads")
    purge = sub.add_parser("purge-cancelled", parents=[common], help="delete old cancelled calls")
    purge.add_argument("--days", type=int, default=30)
    orphan = sub.add_parser("orphans", parents=[common], help="calls whose lead is gone")
    orphan.add_argument("--fix", action="store_true", help="delete them")
    sub.add_parser("check-config", parents=[common], help="show every setting as used")
    setter = sub.add_parser("set-config", parents=[common], help="validate and write a setting")
    setter.add_argument("key")
    setter.add_argument("value")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    db.load_env_file()
    show = sys.stderr.isatty() and not args.json
    try:
        if args.command == "cleanup-closed":
            result = cleanup_closed(
                dry_run=args.dry_run, batch_size=args.batch_size, show_progress=show
            )
        elif args.command == "purge-cancelled":
            result = purge_cancelled(days=args.days, dry_run=args.dry_run,
                                     batch_size=args.batch_size, show_progress=show)  # fmt: skip
        elif args.command == "orphans":
            result = orphans(fix=args.fix, dry_run=args.dry_run, batch_size=args.batch_size,
                             show_progress=show)  # fmt: skip
        elif args.command == "check-config":
            result = check_config()
        else:
            result = set_config(args.key, args.value, dry_run=args.dry_run)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except db.DatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    if show:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(result, sort_keys=True, default=str))
    else:
        _print_human(result)
    problems = bool(result.get("problems")) or (
        result["command"] == "orphans" and result["found"] > result["deleted"]
    )
    return EXIT_PROBLEMS if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
