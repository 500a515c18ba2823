"""Maintenance jobs (the seed's "Mantenimiento").

    python mantenimiento.py cleanup-closed           # daily: cancel pending calls of closed leads
    python mantenimiento.py purge-cancelled --days 30  # monthly: delete old cancelled calls
    python mantenimiento.py orphans [--fix]          # calls whose lead no longer exists
    python mantenimiento.py check-config             # every value as used; legacy/unknown keys
    python mantenimiento.py set-config KEY VALUE     # validated; unknown keys refused (--force)
    python mantenimiento.py unset-config KEY         # remove a key (its default applies again)
    python mantenimiento.py pause --reason "Pearl outage"   # the dispatcher claims nothing
    python mantenimiento.py resume
    python mantenimiento.py stranded [--fix]         # open leads with nothing scheduled

Every command takes --dry-run (report, change nothing), --json and --verbose. Long
runs show progress on a terminal and stay quiet under cron. Exit codes: 0 done,
1 problems found (invalid or unknown configuration, orphans or stranded leads left),
2 bad arguments or configuration, 3 database error.

--json prints one object with "command" and: cleanup-closed dry_run, found,
cancelled; purge-cancelled dry_run, days, found, deleted; orphans dry_run,
found, deleted, sample (up to 20 of {id, lead_id, status, scheduled_at});
check-config raw, effective, problems, legacy_keys, unknown_keys, warnings, windows
(each weekday's calls window after the calling law), paused,
paused_reason; set-config dry_run, key, value, written, warnings; unset-config dry_run,
key, removed; pause/resume paused, reason (resume: was_paused); stranded dry_run, found,
fixed, skipped, leads (first 50: id, masked telefono, call_attempts_count, call_status,
created_at, scheduled_at when fixed).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import config_keys
import db
import operations
import queries
import scheduler_config
import script_errors
import stranded
from clock import from_db, to_db, utc_now
from reprogramar_llamadas_simple import cleanup_closed_leads_schedules
from working_time_config import working_time_report

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
    for key, check in operations.SETTINGS.items():
        raw = config.raw.get(key)
        if raw is not None and check(raw) is not None:
            problems.append(f"{key}={raw[:60]!r} is invalid; {check(raw)}")
    legacy = config_keys.legacy_keys(config.raw)
    unknown = config_keys.unknown_keys(config.raw)
    paused, reason = operations.dispatch_paused(config)
    return {
        "command": "check-config",
        "raw": dict(sorted(config.raw.items())),
        "effective": scheduler_config.effective_settings(config),
        "problems": problems,
        "legacy_keys": legacy,
        "unknown_keys": {key: config_keys.closest_key(key) for key in unknown},
        "warnings": config_keys.dead_combinations(config.raw),
        "windows": working_time_report(config.raw)["windows"],
        "paused": paused,
        "paused_reason": reason,
    }


def _new_problems(cur, key: str, value: str) -> list[str]:
    """What writing key=value would make invalid in the configuration as a whole (a start
    after the end, a holiday country with no calendar), beyond what is invalid already."""
    raw = {r["config_key"]: r["config_value"] for r in db.fetch_all(cur, queries.LOAD_CONFIG)}
    # A candidate, not the configuration in use: parse without logging warnings.
    before = set(scheduler_config.parse_config(raw, log=False).problems)
    after = scheduler_config.parse_config({**raw, key: value}, log=False).problems
    return [problem for problem in after if problem not in before]


def set_config(
    key: str, value: str, *, dry_run: bool = False, force: bool = False
) -> dict[str, Any]:
    """Validate and write one scheduler_config value.

    Raises ValueError (nothing written) when the value is invalid, or the key is unknown
    and not `force` (the message suggests the closest known key). Returns {command,
    dry_run, key, value, written, warnings}; warnings name combinations that do nothing.
    """
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", key):
        raise ValueError(f"a key is 1-64 letters, digits, '_', '.' or '-', got {str(key)[:70]!r}")
    known = config_keys.is_known_key(key)
    if not known and not force:
        close = config_keys.closest_key(key)
        hint = f"; did you mean {close!r}?" if close else ""
        raise ValueError(
            f"unknown key {key!r}{hint} Nothing was written "
            "(use --force to store it anyway; `check-config` lists the keys in use)"
        )
    if known:
        problem = config_keys.validate(key, value)
        if problem is not None:
            raise ValueError(f"{problem}; nothing was written")
    elif len(value) > scheduler_config.MAX_VALUE_LENGTH:
        raise ValueError(f"value longer than {scheduler_config.MAX_VALUE_LENGTH} characters")
    value = value.strip()

    def work(cur) -> list[str]:
        raw = {r["config_key"]: r["config_value"] for r in db.fetch_all(cur, queries.LOAD_CONFIG)}
        new = _new_problems(cur, key, value)
        if new:
            raise ValueError(
                f"{key}={value!r} conflicts with the other settings: {new[0]}; nothing was written"
            )
        before = set(config_keys.dead_combinations(raw))
        warnings = [
            w for w in config_keys.dead_combinations({**raw, key: value}) if w not in before
        ]
        if not dry_run:
            db.execute(cur, queries.SET_CONFIG, {"key": key, "value": value, "description": None})
        return warnings

    warnings = db.run_in_transaction(work, name=f"set {key}")
    if not dry_run:
        scheduler_config.clear_config_cache()
    if not known:
        warnings.insert(0, f"{key} is not a known key: stored because of --force, read by nothing")
    return {"command": "set-config", "dry_run": dry_run, "key": key, "value": value,
            "written": not dry_run, "warnings": warnings}  # fmt: skip


def unset_config(key: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Remove one scheduler_config key (its default applies again). Removing a key that
    is not there is not an error: `removed` is False."""

    def work(cur) -> bool:
        exists = any(r["config_key"] == key for r in db.fetch_all(cur, queries.LOAD_CONFIG))
        if exists and not dry_run:
            db.execute(cur, queries.DELETE_CONFIG, {"key": key})
        return exists

    existed = db.run_in_transaction(work, name=f"unset {key}")
    if existed and not dry_run:
        scheduler_config.clear_config_cache()
    return {"command": "unset-config", "dry_run": dry_run, "key": key,
            "removed": existed and not dry_run, "existed": existed}  # fmt: skip


def pause(reason: str | None, *, dry_run: bool = False) -> dict[str, Any]:
    """Pause dispatch (see operations.pause_dispatch)."""
    if dry_run:
        return {"command": "pause", "dry_run": True, "paused": False, "reason": reason}
    text = operations.pause_dispatch(reason)
    return {"command": "pause", "dry_run": False, "paused": True, "reason": text}


def resume(*, dry_run: bool = False) -> dict[str, Any]:
    """Resume dispatch (see operations.resume_dispatch)."""
    if dry_run:
        with db.transaction("read pause") as cur:
            paused, reason = operations.dispatch_paused(cur)
        return {"command": "resume", "dry_run": True, "paused": paused, "reason": reason,
                "was_paused": paused}  # fmt: skip
    before = operations.resume_dispatch()
    return {"command": "resume", "dry_run": False, "paused": False,
            "reason": before["previous_reason"], "was_paused": before["was_paused"]}  # fmt: skip


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
        print("  working windows (business zone, after the calling law; holidays aside):")
        for day, windows in result["windows"].items():
            print(f"    {day:<10} {windows or 'no calls'}")
        print(
            f"  dispatch {'PAUSED: ' + result['paused_reason'] if result['paused'] else 'running'}"
        )
        for problem in result["problems"]:
            print(f"  INVALID {problem}")
        for key, close in result["unknown_keys"].items():
            hint = f" (did you mean {close}?)" if close else ""
            print(f"  UNKNOWN {key}: read by nothing{hint}; `unset-config {key}` removes it")
        for key, advice in result["legacy_keys"].items():
            print(f"  LEGACY {key}={str(result['raw'].get(key))[:40]!r}: {advice}")
        for warning in result["warnings"]:
            print(f"  WARNING {warning}")
        count, unknown = len(result["problems"]), len(result["unknown_keys"])
        if count:
            print(f"{count} invalid value(s); the values shown are the ones used")
        if unknown:
            print(f"{unknown} unknown key(s)")
        if not count and not unknown:
            print("configuration OK")
    elif command == "set-config":
        for warning in result["warnings"]:
            print(f"warning: {warning}")
        if result["written"]:
            print(f"set {result['key']} = {result['value']!r}")
        else:
            print(f"would set {result['key']} = {result['value']!r}{mode}")
    elif command == "unset-config":
        if result["removed"]:
            print(f"removed {result['key']}; its default applies again")
        elif result["existed"]:
            print(f"would remove {result['key']}{mode}")
        else:
            print(f"{result['key']} is not set; nothing removed")
    elif command == "pause":
        print(f"dispatch {result['reason']}" if result["paused"] else f"would pause{mode}")
    elif command == "resume":
        state = "was paused" if result["was_paused"] else "was not paused"
        done = "dispatch resumed" if not result["dry_run"] else f"would resume{mode}"
        print(f"{done} ({state}{': ' + result['reason'] if result['was_paused'] else ''})")
    elif command == "stranded":
        action = f", {result['fixed']} given a call" if not result["dry_run"] else ""
        skipped = f", {result['skipped']} got a call meanwhile" if result["skipped"] else ""
        print(f"stranded leads: {result['found']} found{action}{skipped}{mode}")
        for lead in result["leads"]:
            when = lead.get("scheduled_at")
            at = f" -> call at {when:%Y-%m-%d %H:%M}Z" if when else ""
            print(f"  lead {lead['id']:<8} {lead['telefono']:<14} attempts "
                  f"{lead['call_attempts_count']}{at}")  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Maintenance jobs of the scheduled-calls system.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1] + "\n\n" + script_errors.EXIT_CODES_HELP,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    script_errors.add_verbose_flag(common)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, parents=[common], help=text, epilog=script_errors.EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip

    add("cleanup-closed", "cancel pending calls of closed leads")
    add("purge-cancelled", "delete old cancelled calls").add_argument(
        "--days", type=int, default=30
    )
    add("orphans", "calls whose lead is gone").add_argument(
        "--fix", action="store_true", help="delete them"
    )
    add("check-config", "show every setting as used, legacy and unknown keys")
    setter = add("set-config", "validate and write a setting")
    setter.add_argument("key")
    setter.add_argument("value")
    setter.add_argument("--force", action="store_true", help="store an unknown key anyway")
    add("unset-config", "remove a setting").add_argument("key")
    add("pause", "pause dispatching (results are still collected)").add_argument(
        "--reason", help="why, stored with who and when"
    )
    add("resume", "resume dispatching")
    add("stranded", "open leads with nothing scheduled").add_argument(
        "--fix", action="store_true", help="give each its next call at the next working instant"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    show = sys.stderr.isatty() and not args.json
    command = args.command
    if command == "cleanup-closed":
        result = cleanup_closed(
            dry_run=args.dry_run, batch_size=args.batch_size, show_progress=show
        )
    elif command == "purge-cancelled":
        result = purge_cancelled(days=args.days, dry_run=args.dry_run,
                                 batch_size=args.batch_size, show_progress=show)  # fmt: skip
    elif command == "orphans":
        result = orphans(fix=args.fix, dry_run=args.dry_run, batch_size=args.batch_size,
                         show_progress=show)  # fmt: skip
    elif command == "check-config":
        result = check_config()
    elif command == "set-config":
        result = set_config(args.key, args.value, dry_run=args.dry_run, force=args.force)
    elif command == "unset-config":
        result = unset_config(args.key, dry_run=args.dry_run)
    elif command == "pause":
        result = pause(args.reason, dry_run=args.dry_run)
    elif command == "resume":
        result = resume(dry_run=args.dry_run)
    else:
        result = stranded.stranded_report(
            fix=args.fix, dry_run=args.dry_run, progress=_progress("scheduled", None, show)
        )
    if show and command in ("cleanup-closed", "purge-cancelled", "orphans", "stranded"):
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(result, sort_keys=True, default=str))
    else:
        _print_human(result)
    problems = bool(result.get("problems")) or bool(result.get("unknown_keys"))
    if command == "orphans":
        problems = result["found"] > result["deleted"]
    if command == "stranded":
        problems = result["found"] > result["fixed"] + result["skipped"]
    return EXIT_PROBLEMS if problems else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    script_errors.configure_logging(args.verbose)
    db.load_env_file()
    return script_errors.run_script(lambda: _run(args), verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
