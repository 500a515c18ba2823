"""Rescheduling of failed calls (the seed's `reprogramar_llamadas_simple.py`).

Public API, names as documented:
    simple_reschedule_failed_call(lead_id, outcome) -> bool
    get_retry_config_from_db(outcome) -> {'delay_hours': ..., 'max_attempts': ...}
    calculate_next_working_datetime(base, delay_hours, *, timezone=None, config=None)
    cancel_scheduled_calls_for_lead(lead_id, reason) -> int
    cleanup_closed_leads_schedules() -> int
plus reschedule_failed_call (the same operation returning a RescheduleResult),
schedule_call (a lead's first or manual call) and clear_config_cache.

Every write happens in one transaction that holds the lead's row lock, so two
results for the same lead are applied one after the other, never interleaved.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import db
import queries
import scheduler_config
from calling_law import country_for_lead
from clock import from_db, to_db, utc_now
from scheduler_config import SchedulerConfig, parse_timezone
from working_time import WorkingTime, next_working_instant, parse_preference

logger = logging.getLogger(__name__)

CLOSURE_MAX_ATTEMPTS = "Máximo intentos alcanzado"
CANCEL_REASON_LEAD_CLOSED = "Lead closed"
CLEANUP_BATCH_SIZE = 1000
_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# call_status is an ENUM with seven values; outcomes it has no value for map to 'error'.
_CALL_STATUS_BY_OUTCOME = {"busy": "busy", "no_answer": "no_answer", "timeout": "no_answer"}
_REASON_MAX_LENGTH = 255

clear_config_cache = scheduler_config.clear_config_cache


class LeadNotFoundError(LookupError):
    """No lead has that id."""


class LeadNotCallableError(ValueError):
    """The lead is closed or under manual management, so no call can be scheduled."""


@dataclass(frozen=True)
class RescheduleResult:
    """What `reschedule_failed_call` did.

    reason is one of 'rescheduled', 'max_attempts', 'lead_closed', 'manual_management'.
    attempts is the lead's call_attempts_count afterwards; attempt_number and
    scheduled_at (aware UTC) describe the next call when one was scheduled.
    """

    lead_id: int
    outcome: str
    rescheduled: bool
    reason: str
    attempts: int
    attempt_number: int | None = None
    scheduled_at: datetime | None = None
    closure_reason: str | None = None
    cancelled: int = 0


# --- validation ------------------------------------------------------------------------


def validate_lead_id(lead_id: Any) -> int:
    """Return lead_id if it is an int > 0 (bool excluded); raise ValueError otherwise."""
    if isinstance(lead_id, bool) or not isinstance(lead_id, int) or lead_id <= 0:
        raise ValueError(f"lead_id must be a positive integer, got {_shown(lead_id)}")
    if lead_id > 2**32 - 1:
        raise ValueError(f"lead_id {lead_id} is out of range")
    return lead_id


def validate_outcome(outcome: Any) -> str:
    """Return outcome if it matches [a-z][a-z0-9_]{0,31} in full; raise ValueError otherwise."""
    if not isinstance(outcome, str) or not _OUTCOME.fullmatch(outcome):
        raise ValueError(
            f"outcome must be lowercase letters, digits or '_' (at most 32, starting with a "
            f"letter), got {_shown(outcome)}"
        )
    return outcome


def validate_reason(reason: Any) -> str:
    """Return a stripped, non-empty reason cut to the column size; raise ValueError otherwise."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"reason must be a non-empty string, got {_shown(reason)}")
    return reason.strip()[:_REASON_MAX_LENGTH]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def call_status_for(outcome: str) -> str:
    """The leads.call_status enum value that records a failed call with this outcome."""
    return _CALL_STATUS_BY_OUTCOME.get(outcome, "error")


# --- configuration and working time -------------------------------------------------------


def get_retry_config_from_db(outcome: str) -> dict[str, Any]:
    """Retry settings for an outcome: {'delay_hours': float, 'max_attempts': int}.

    Each value is resolved on its own: `{outcome}_delay_hours` /
    `{outcome}_max_attempts`, then `default_*`, then 4 hours / 3 attempts.
    Invalid values are skipped with a warning. Raises ValueError for a
    malformed outcome.
    """
    validate_outcome(outcome)
    return scheduler_config.get_config().retry_for(outcome).as_dict()


def _zone(timezone: str | ZoneInfo | None, working_time: WorkingTime) -> ZoneInfo:
    if timezone is None:
        return working_time.timezone
    if isinstance(timezone, ZoneInfo):
        return timezone
    zone = parse_timezone(timezone)
    if zone is None:
        raise ValueError(f"unknown time zone {_shown(timezone)}")
    return zone


def calculate_next_working_datetime(
    base: datetime,
    delay_hours: float,
    *,
    timezone: str | ZoneInfo | None = None,
    config: WorkingTime | None = None,
) -> datetime:
    """base + delay_hours of real time, moved forward to the first working instant.

    Working time is local wall time in `timezone` (a lead's own zone) or the
    business zone. A naive `base` is read as wall time in that zone and a
    naive result is returned; an aware `base` gives an aware result in the
    same tzinfo. `config` supplies the working time without a database.
    Raises ValueError for a negative or non-finite delay or an unknown zone.
    """
    if not isinstance(base, datetime):
        raise ValueError(f"base must be a datetime, got {_shown(base)}")
    if isinstance(delay_hours, bool) or not isinstance(delay_hours, int | float):
        raise ValueError(f"delay_hours must be a number, got {_shown(delay_hours)}")
    if not 0 <= delay_hours <= scheduler_config.MAX_DELAY_HOURS:
        raise ValueError(f"delay_hours must be between 0 and a year, got {delay_hours}")
    working_time = config if config is not None else scheduler_config.get_config().working_time
    zone = _zone(timezone, working_time)
    naive = base.tzinfo is None or base.utcoffset() is None
    start = base.replace(tzinfo=zone) if naive else base
    # Add the delay in UTC: aware arithmetic in a zone would add wall-clock hours.
    earliest = start.astimezone(UTC) + timedelta(hours=delay_hours)
    result = next_working_instant(earliest, working_time, zone)
    if naive:
        return result.astimezone(zone).replace(tzinfo=None)
    return result.astimezone(base.tzinfo)


def lead_zone(lead: Mapping[str, Any], working_time: WorkingTime) -> ZoneInfo:
    """The zone a lead's working time is read in: its own `timezone`, else the business's."""
    name = lead.get("timezone")
    if not name:
        return working_time.timezone
    zone = parse_timezone(name)
    if zone is None:
        logger.warning(
            "lead %s has an unknown timezone %r; using the business zone", lead["id"], name[:64]
        )
        return working_time.timezone
    return zone


def lead_frame(lead: Mapping[str, Any], working_time: WorkingTime) -> dict[str, Any]:
    """How a lead's working time is read: its zone, its time-of-day preference and its
    country (for the legal envelope and its public holidays), as keyword arguments of
    working_time's functions: `is_working_instant(now, wt, **lead_frame(lead, wt))`."""
    zone = lead_zone(lead, working_time)
    return {
        "zone": zone,
        "preference": parse_preference(lead.get("preferencia_horario")),
        "country": country_for_lead(lead.get("telefono"), zone),
    }


def next_call_time(lead: dict, earliest: datetime, config: SchedulerConfig) -> datetime:
    """First working instant at or after `earliest` (aware) for the lead (its zone,
    preference and country), aware UTC."""
    working_time = config.working_time
    return next_working_instant(earliest, working_time, **lead_frame(lead, working_time))


# --- work inside a transaction (the caller holds the lead's lock) -------------------------


def lock_lead(cur, lead_id: int) -> dict:
    """Lock a lead's row for the rest of the transaction; raise LeadNotFoundError if absent."""
    lead = db.fetch_one(cur, queries.LOCK_LEAD, (lead_id,))
    if lead is None:
        raise LeadNotFoundError(f"lead {lead_id} does not exist")
    return lead


def is_open(lead: dict) -> bool:
    """NULL lead_status counts as open, as in the seed's queries."""
    return lead["lead_status"] in (None, "open")


def cancel_pending(cur, lead_id: int, reason: str) -> int:
    """Cancel the lead's pending calls; return how many."""
    return db.execute(cur, queries.CANCEL_PENDING_FOR_LEAD, {"lead_id": lead_id, "reason": reason})


def close_locked_lead(cur, lead_id: int, reason: str, now: datetime, *, cancel: bool = True) -> int:
    """Close a locked lead and cancel its pending calls; return how many were cancelled.

    `cancel=False` when the caller already cancelled them in this transaction.
    """
    db.execute(cur, queries.CLOSE_LEAD, {"lead_id": lead_id, "reason": reason, "now": to_db(now)})
    return cancel_pending(cur, lead_id, reason) if cancel else 0


def put_pending(
    cur, lead_id: int, when: datetime, attempt_number: int, outcome: str | None, now: datetime
) -> None:
    """Create or move the lead's single pending call (sent with the transaction's next
    statement or its COMMIT: db.defer)."""
    db.defer(
        cur,
        queries.UPSERT_PENDING_SCHEDULE,
        {
            "lead_id": lead_id,
            "scheduled_at": to_db(when),
            "attempt_number": attempt_number,
            "last_outcome": outcome,
            "now": to_db(now),
        },
    )


NO_LABELS: Mapping[str, str | None] = {"status_level_1": None, "status_level_2": None}


def record_call_on_lead(
    cur, lead_id: int, call_status: str, now: datetime, count: bool,
    labels: Mapping[str, str | None],
) -> None:  # fmt: skip
    """Record a finished call on a locked lead: its call_status and the dashboards' labels
    (None keeps the lead's), and the attempt unless `count` is False (already counted by a
    provisional settlement). One statement when the attempt is counted; deferred (db.defer)."""
    params = {"lead_id": lead_id, "now": to_db(now), "call_status": call_status, **labels}
    if count:
        db.defer(cur, queries.RECORD_ATTEMPT, params)
        return
    db.defer(cur, queries.SET_LEAD_CALL_STATUS, {**params, "message": None})
    if any(value is not None for value in labels.values()):
        db.defer(cur, queries.SET_LEAD_LABELS, params)


def close_lead_after_call(
    cur, lead_id: int, call_status: str, reason: str, now: datetime, count: bool,
    labels: Mapping[str, str | None],
) -> None:  # fmt: skip
    """Close a locked lead because of the call that just ended, with its call_status and
    labels, counting its attempt unless `count` is False; one statement, deferred (db.defer).
    Pending calls are the caller's to cancel."""
    params = {
        "lead_id": lead_id, "call_status": call_status, "reason": reason, "now": to_db(now),
        **labels,
    }  # fmt: skip
    db.defer(cur, queries.CLOSE_LEAD_AFTER_CALL if count else queries.CLOSE_LEAD_NO_COUNT, params)


def reschedule_locked_lead(
    cur,
    lead: dict,
    outcome: str,
    now: datetime,
    config: SchedulerConfig,
    *,
    pending_cancelled: bool = False,
    count_attempt: bool = True,
    labels: Mapping[str, str | None] | None = None,
) -> RescheduleResult:
    """Apply a failed call to a lead the caller holds locked; see reschedule_failed_call.

    `pending_cancelled` says the caller already cancelled the lead's pending calls in this
    transaction (saves a statement on the hot path). `count_attempt=False` when this call's
    attempt is already counted (its real result replaces a provisional settlement).
    `labels`: the result's status_level_1/status_level_2 for the dashboards (None values
    keep the lead's), written with the attempt in the same statement."""
    lead_id = lead["id"]
    if not is_open(lead):
        cancelled = cancel_pending(cur, lead_id, CANCEL_REASON_LEAD_CLOSED)
        return RescheduleResult(
            lead_id, outcome, False, "lead_closed", lead["call_attempts_count"], cancelled=cancelled
        )
    attempts = lead["call_attempts_count"] + (1 if count_attempt else 0)
    call_status = call_status_for(outcome)
    labels = labels or NO_LABELS
    retry = config.retry_for(outcome)
    if not lead["manual_management"] and attempts >= retry.max_attempts:
        # Count the call and close the lead in one statement (the hot path's last attempt).
        close_lead_after_call(
            cur, lead_id, call_status, CLOSURE_MAX_ATTEMPTS, now, count_attempt, labels
        )
        cancelled = 0 if pending_cancelled else cancel_pending(cur, lead_id, CLOSURE_MAX_ATTEMPTS)
        return RescheduleResult(
            lead_id, outcome, False, "max_attempts", attempts,
            closure_reason=CLOSURE_MAX_ATTEMPTS, cancelled=cancelled,
        )  # fmt: skip
    record_call_on_lead(cur, lead_id, call_status, now, count_attempt, labels)
    if lead["manual_management"]:
        return RescheduleResult(lead_id, outcome, False, "manual_management", attempts)
    when = next_call_time(lead, now + timedelta(hours=retry.delay_hours), config)
    put_pending(cur, lead_id, when, attempts + 1, outcome, now)
    return RescheduleResult(
        lead_id, outcome, True, "rescheduled", attempts,
        attempt_number=attempts + 1, scheduled_at=when,
    )  # fmt: skip


# --- the documented operations ------------------------------------------------------------


def reschedule_failed_call(lead_id: int, outcome: str) -> RescheduleResult:
    """A failed call just happened to this lead: count it, then retry later or close.

    In one transaction holding the lead's row lock: a closed lead only has its
    pending calls cancelled (no attempt is counted, it is never reopened); a
    lead under manual management gets the attempt counted and nothing
    scheduled; a lead reaching max_attempts is closed ('Máximo intentos
    alcanzado'); otherwise its one pending call is set to the next working
    instant after the outcome's delay.

    Raises ValueError for bad arguments (nothing is written), LeadNotFoundError
    for an unknown lead, and database errors after rollback.
    """
    validate_lead_id(lead_id)
    validate_outcome(outcome)

    def work(cur) -> RescheduleResult:
        lead = lock_lead(cur, lead_id)
        config = scheduler_config.get_config(cur)
        return reschedule_locked_lead(cur, lead, outcome, utc_now(), config)

    result = db.run_in_transaction(work, name=f"reschedule lead {lead_id}")
    logger.info(
        "lead %s outcome %s: %s (attempts %s%s)",
        lead_id, outcome, result.reason, result.attempts,
        f", next at {result.scheduled_at:%Y-%m-%d %H:%M}Z" if result.scheduled_at else "",
    )  # fmt: skip
    return result


def simple_reschedule_failed_call(lead_id: int, outcome: str) -> bool:
    """Reschedule a failed call. True: a next attempt is scheduled. False: nothing was
    scheduled because the lead is (now) closed or under manual management.

    Errors are raised, never reported as False: ValueError for bad arguments,
    LeadNotFoundError for an unknown lead, database errors after rollback.
    """
    return reschedule_failed_call(lead_id, outcome).rescheduled


def cancel_scheduled_calls_for_lead(lead_id: int, reason: str) -> int:
    """Cancel every pending call of a lead, storing the reason; return how many.

    Raises ValueError for bad arguments, LeadNotFoundError for an unknown lead.
    """
    validate_lead_id(lead_id)
    reason = validate_reason(reason)

    def work(cur) -> int:
        lock_lead(cur, lead_id)
        return cancel_pending(cur, lead_id, reason)

    cancelled = db.run_in_transaction(work, name=f"cancel calls of lead {lead_id}")
    logger.info("lead %s: %d pending call(s) cancelled", lead_id, cancelled)
    return cancelled


def cleanup_closed_leads_schedules(
    batch_size: int = CLEANUP_BATCH_SIZE, *, progress: Callable[[int], None] | None = None
) -> int:
    """Cancel the pending calls of closed leads; return how many.

    Works in batches of `batch_size` rows, one short transaction each, so a
    large backlog never holds locks for long. `progress(total_so_far)` is
    called after each batch. Raises ValueError for a bad batch size.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {_shown(batch_size)}")
    total, after = 0, 0
    while True:

        def work(cur, after=after) -> tuple[int, int, int]:
            rows = db.fetch_all(
                cur,
                queries.CLOSED_LEADS_PENDING_BATCH,
                {"after_lead_id": after, "batch_size": batch_size},
            )
            if not rows:
                return 0, 0, after
            cancelled = db.execute(
                cur,
                queries.CANCEL_SCHEDULES_BY_ID,
                {"ids": tuple(r["id"] for r in rows), "reason": CANCEL_REASON_LEAD_CLOSED},
            )
            return len(rows), cancelled, rows[-1]["pending_lead_id"]

        seen, cancelled, after = db.run_in_transaction(work, name="cleanup closed leads")
        total += cancelled
        if progress is not None:
            progress(total)
        if seen < batch_size:
            break
    logger.info("cleanup: %d pending call(s) of closed leads cancelled", total)
    return total


def schedule_call(lead_id: int, when: datetime | None = None) -> datetime:
    """Put a lead's first (or a manual) call at the first working instant at or after
    `when` (default now). A naive `when` is business-local wall time. The lead
    keeps one pending call: an existing one is moved. Returns the time, aware UTC.

    Raises ValueError for bad arguments, LeadNotFoundError for an unknown lead,
    LeadNotCallableError for a closed lead, one under manual management, or one with a
    call in flight (never two calls to one person at once).
    """
    validate_lead_id(lead_id)
    if when is not None and not isinstance(when, datetime):
        raise ValueError(f"when must be a datetime or None, got {_shown(when)}")

    def work(cur) -> datetime:
        lead = lock_lead(cur, lead_id)
        if not is_open(lead):
            raise LeadNotCallableError(f"lead {lead_id} is closed")
        if lead["manual_management"]:
            raise LeadNotCallableError(f"lead {lead_id} is under manual management")
        if db.fetch_one(cur, queries.CALL_IN_FLIGHT_FOR_LEAD, (lead_id,)) is not None:
            raise LeadNotCallableError(
                f"lead {lead_id} has a call in flight; its result will schedule the next one"
            )
        config = scheduler_config.get_config(cur)
        now = utc_now()
        earliest = now
        if when is not None:
            local = (
                when.replace(tzinfo=config.working_time.timezone) if when.tzinfo is None else when
            )
            earliest = max(now, local)
        moment = next_call_time(lead, earliest, config)
        put_pending(cur, lead_id, moment, lead["call_attempts_count"] + 1, None, now)
        return moment

    moment = db.run_in_transaction(work, name=f"schedule call for lead {lead_id}")
    logger.info("lead %s: call scheduled at %s", lead_id, f"{moment:%Y-%m-%d %H:%M}Z")
    return moment


def pending_call(lead_id: int) -> dict | None:
    """The lead's pending call (scheduled_at aware UTC), or None."""
    validate_lead_id(lead_id)
    with db.transaction("read pending call") as cur:
        row = db.fetch_one(cur, queries.PENDING_SCHEDULE_FOR_LEAD, (lead_id,))
    if row is not None:
        row["scheduled_at"] = from_db(row["scheduled_at"])
    return row


# Outcomes `reschedule LEAD OUTCOME` accepts: failed calls that are retried. Anything else
# (an appointment, a refusal, a wrong number) is a call result for enhanced_process_call_result
# with the call's data, not a reschedule.
CLI_RETRY_OUTCOMES = ("busy", "no_answer", "hang_up", "voicemail", "failed", "unreachable", "error")


def cli_retry_outcomes(raw: dict | None = None) -> list[str]:
    """The outcomes `reschedule` accepts: CLI_RETRY_OUTCOMES plus every `<outcome>_action`
    configured as `retry`."""
    if raw is None:
        raw = dict(scheduler_config.get_config().raw)
    configured = {
        key[: -len("_action")]
        for key, value in raw.items()
        if key.endswith("_action") and len(key) > 7 and str(value).strip().lower() == "retry"
    }
    return sorted(set(CLI_RETRY_OUTCOMES) | {o for o in configured if _OUTCOME.fullmatch(o)})


def _cli(args) -> int:
    if args.command == "reschedule":
        from call_manager_scheduler_integration import enhanced_process_call_result

        valid = cli_retry_outcomes()
        if args.outcome not in valid:
            raise ValueError(
                f"{args.outcome[:40]!r} is not a retry outcome; nothing was written. "
                f"Valid: {', '.join(valid)} (other results go through "
                "enhanced_process_call_result with the call's data)"
            )
        validate_lead_id(args.lead_id)
        outcome = args.outcome
        result = enhanced_process_call_result(
            args.lead_id, {"callResult": outcome, "status": "failed", "outcome": outcome}
        )
        recorded = f" (recorded as {result.outcome})" if result.outcome != outcome else ""
        when = f" at {result.scheduled_at:%Y-%m-%d %H:%M} UTC" if result.scheduled_at else ""
        reason = f" ({result.closure_reason})" if result.closure_reason else ""
        print(f"lead {result.lead_id}: {outcome}{recorded} -> {result.action}{reason}{when}, "
              f"attempts {result.attempts}")  # fmt: skip
    elif args.command == "cancel":
        print(f"{cancel_scheduled_calls_for_lead(args.lead_id, args.reason)} cancelled")
    else:
        print(f"cleanup: {cleanup_closed_leads_schedules()} pending call(s) cancelled")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: `reschedule LEAD OUTCOME`, `cancel LEAD REASON`, `cleanup`."""
    import argparse

    import script_errors

    parser = argparse.ArgumentParser(
        description="Rescheduling of failed calls.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python reprogramar_llamadas_simple.py reschedule 123 no_answer\n"
        "  python reprogramar_llamadas_simple.py cancel 123 'asked by phone'\n"
        "  python reprogramar_llamadas_simple.py cleanup\n\n" + script_errors.EXIT_CODES_HELP,
    )
    script_errors.add_verbose_flag(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "reschedule",
        help="record a failed call (a retry outcome) and schedule the next one",
        description="Outcomes: "
        + ", ".join(CLI_RETRY_OUTCOMES)
        + ", and any <outcome> whose <outcome>_action is 'retry' in scheduler_config.",
    )
    p.add_argument("lead_id", type=int)
    p.add_argument("outcome")
    p = sub.add_parser("cancel", help="cancel a lead's pending calls")
    p.add_argument("lead_id", type=int)
    p.add_argument("reason")
    sub.add_parser("cleanup", help="cancel pending calls of closed leads (daily job)")
    args = parser.parse_args(argv)
    db.load_env_file()
    return script_errors.run_script(lambda: _cli(args), verbose=args.verbose)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    sys.exit(main())

__all__ = [
    "CLOSURE_MAX_ATTEMPTS",
    "LeadNotCallableError",
    "LeadNotFoundError",
    "RescheduleResult",
    "calculate_next_working_datetime",
    "cancel_scheduled_calls_for_lead",
    "cleanup_closed_leads_schedules",
    "clear_config_cache",
    "get_retry_config_from_db",
    "reschedule_failed_call",
    "schedule_call",
    "simple_reschedule_failed_call",
]
