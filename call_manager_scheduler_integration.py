"""Call results from Pearl AI (the seed's `call_manager_scheduler_integration.py`).

`enhanced_process_call_result(lead_id, call_result, pearl_response=None)` is the
one place where a finished call changes a lead. In one transaction holding the
lead's row lock it cancels the lead's pending calls (the seed's rule: any call,
scheduled or manual, cancels what was pending), records the call in
pearl_calls (idempotently: a result delivered twice counts once), counts the
attempt once, and then retries, closes or records the success.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import db
import queries
import scheduler_config
from call_outcome import Appointment, Outcome, classify_call_result, extract_appointment
from clock import to_db, utc_now
from phone import mask_digits
from reprogramar_llamadas_simple import (
    LeadNotFoundError,
    cancel_pending,
    close_locked_lead,
    is_open,
    lock_lead,
    reschedule_locked_lead,
    validate_lead_id,
    validate_reason,
)

logger = logging.getLogger(__name__)

CLOSURE_INVALID_PHONE = "Teléfono erróneo"
CLOSURE_BLACKLISTED = "Lista negra"
CLOSURE_NOT_INTERESTED = "No interesado"
CLOSURE_APPOINTMENT = "Cita agendada"
STATUS_LEVEL_APPOINTMENT = "Cita Agendada"
RESULTADO_CONFIRMED = "Cita confirmada"

RETRY_OUTCOMES = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.HANG_UP, Outcome.ERROR})
# Outcomes that end the lead: (closure reason, call_status to record).
CLOSING_OUTCOMES = {
    Outcome.INVALID_PHONE: (CLOSURE_INVALID_PHONE, "error"),
    Outcome.BLACKLISTED: (CLOSURE_BLACKLISTED, "error"),
    Outcome.NOT_INTERESTED: (CLOSURE_NOT_INTERESTED, "completed"),
}

_ID_MAX = 64
_ERROR_MAX = 500
_RAW_MAX = 1_000_000
_INT_RANGE = range(-(2**31), 2**31)

__all__ = [
    "CLOSURE_APPOINTMENT",
    "CLOSURE_BLACKLISTED",
    "CLOSURE_INVALID_PHONE",
    "CLOSURE_NOT_INTERESTED",
    "CallResultProcessed",
    "LeadNotFoundError",
    "close_lead_with_reason",
    "enhanced_process_call_result",
    "get_scheduler_integration_stats",
]


@dataclass(frozen=True)
class CallResultProcessed:
    """What processing one call result did.

    action: 'rescheduled', 'closed', 'completed' (success, lead left open),
    'in_progress' (the call has not ended: nothing written), 'replaced' (the real result of
    a call settled provisionally: applied without counting its attempt again),
    'recorded' (attempt counted on a lead under manual management, nothing
    scheduled), 'duplicate' (this call was already processed: nothing
    changed), 'stale' (a call placed after this one, by call order, was already
    processed: this one is recorded and its attempt counted, the newer state
    stays) or 'ignored' (the lead was already closed: the call is recorded,
    nothing else changes).
    """

    lead_id: int
    outcome: str
    action: str
    cancelled: int = 0
    scheduled_at: datetime | None = None
    closure_reason: str | None = None
    attempts: int | None = None
    pearl_call_row_id: int | None = None
    appointment: Appointment | None = None


@dataclass(frozen=True)
class _Call:
    """The facts of one reported call, extracted and cut to column sizes before any I/O."""

    outcome: str
    call_id: str | None
    request_id: str | None
    pearl_status: int | None
    conversation_status: int | None
    error_message: str | None
    raw_response: str
    appointment: Appointment | None
    started_at: datetime | None  # Pearl's startTime, when it sent a valid one
    call_ref: int | None  # our pearl_calls row id, echoed by Pearl in callData.callRef
    final: bool  # False for a call still running (status 3) or a call-started event


# --- pure helpers ----------------------------------------------------------------------


def _text(value: Any, limit: int) -> str | None:
    """A non-empty string or integer id as text cut to `limit`, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    # A lone surrogate cannot be stored as utf8mb4: replace it rather than fail the row.
    value = value.encode("utf-8", "replace").decode("utf-8").strip()
    return value[:limit] or None


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        value = int(value.strip())
    return value if isinstance(value, int) and value in _INT_RANGE else None


def _raw(call_result: Mapping, pearl_response: Mapping | None) -> str:
    payload = {"call_result": call_result, "pearl_response": pearl_response}
    try:
        # ASCII escapes: lone surrogates and any other unencodable text stay storable.
        text = json.dumps(payload, default=repr, ensure_ascii=True)
    except (ValueError, TypeError, RecursionError):  # circular or absurdly deep junk
        text = json.dumps({"unserialisable": repr(payload)[:_RAW_MAX]})
    return text if len(text) <= _RAW_MAX else text[:_RAW_MAX]


def describe_call(call_result: Any, pearl_response: Any = None) -> _Call:
    """Validate and classify a reported call; raises TypeError for non-mapping input."""
    if not isinstance(call_result, Mapping):
        raise TypeError(f"call_result must be a mapping, got {type(call_result).__name__}")
    if pearl_response is not None and not isinstance(pearl_response, Mapping):
        raise TypeError(
            f"pearl_response must be None or a mapping, got {type(pearl_response).__name__}"
        )
    pearl = pearl_response or {}
    outcome = classify_call_result(call_result, pearl_response)
    return _Call(
        outcome=outcome,
        call_id=_text(pearl.get("id"), _ID_MAX) or _text(call_result.get("call_id"), _ID_MAX),
        request_id=_text(call_result.get("request_id"), _ID_MAX)
        or _text(pearl.get("requestId"), _ID_MAX),
        pearl_status=_code(pearl.get("status")),
        conversation_status=_code(pearl.get("conversationStatus")),
        error_message=_text(call_result.get("error_message"), _ERROR_MAX),
        raw_response=_raw(call_result, pearl_response),
        appointment=extract_appointment(call_result, pearl_response)
        if outcome == Outcome.SUCCESS
        else None,
        started_at=_start_time(pearl.get("startTime")),
        call_ref=_call_ref(call_result, pearl),
        final=is_final_call(call_result, pearl_response),
    )


# Pearl call statuses that end a call: 4 Completed, 5 Busy, 6 Failed, 7 NoAnswer, 8 Canceled.
FINAL_PEARL_STATUSES = frozenset({4, 5, 6, 7, 8})
_START_EVENTS = frozenset({"call_started", "callstarted", "call.started", "started", "start"})


def is_final_call(call_result: Mapping, pearl_response: Mapping | None) -> bool:
    """Whether a reported call has ended. A Pearl call object with a status that is not an
    end status (3 = in progress) or a call-started event is not a result: it must change
    nothing and must not consume the call id its real result will carry."""
    for source in (call_result, pearl_response or {}):
        for key in ("event", "eventType", "type"):
            value = source.get(key)
            if isinstance(value, str) and value.strip().lower() in _START_EVENTS:
                return False
    if pearl_response is None:
        return True
    status = _code(pearl_response.get("status"))
    return status is None or status in FINAL_PEARL_STATUSES


def _call_ref(call_result: Mapping, pearl: Mapping) -> int | None:
    """Our own reference to the pearl_calls row, from callData.callRef (or call_ref)."""
    data = pearl.get("callData")
    candidates = [call_result.get("call_ref")]
    if isinstance(data, Mapping):
        candidates += [data.get("callRef"), data.get("CallRef")]
    for value in candidates:
        ref = _code(value)
        if ref is not None and ref > 0:
            return ref
    return None


def _start_time(value: Any) -> datetime | None:
    """Pearl's ISO 8601 startTime as aware UTC; None when missing or not a sane time."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None or not 2000 <= moment.year <= 2100:
        return None
    return moment.astimezone(UTC)


# --- work inside the transaction ----------------------------------------------------------


def _find_call_row(cur, lead_id: int, call: _Call, row_id: int | None) -> dict | None:
    """The pearl_calls row of this call, locked: the row holding its Pearl call id, else its
    request id, else the dispatcher's own row (given, or echoed by Pearl as callRef). A call
    has exactly one row: when the call was already recorded on another row, the
    dispatcher's in-flight row is removed. Raises ValueError when the call belongs to
    another lead."""
    own = recorded = None
    if row_id is None and call.call_ref is not None:
        ref_lead = db.fetch_one(cur, queries.PEARL_CALL_LEAD, (call.call_ref,))
        if ref_lead is not None and ref_lead["lead_id"] == lead_id:
            row_id = call.call_ref
    if row_id is not None:
        own = db.fetch_one(
            cur,
            queries.PEARL_CALL_BY_ROW_ID,
            {"row_id": row_id, "call_id": call.call_id, "request_id": call.request_id},
        )
    if own is not None:
        other = next(
            (i for i in (own["call_id_row"], own["request_id_row"]) if i not in (None, own["id"])),
            None,
        )
        if other is not None:
            recorded = db.fetch_one(cur, queries.PEARL_CALL_LOCK, (other,))
    else:
        for query, key in (
            (queries.PEARL_CALL_BY_CALL_ID, call.call_id),
            (queries.PEARL_CALL_BY_REQUEST_ID, call.request_id),
        ):
            if recorded is None and key is not None:
                recorded = db.fetch_one(cur, query, (key,))
    for row in (recorded, own):
        if row is not None and row["lead_id"] != lead_id:
            raise ValueError(f"that call belongs to lead {row['lead_id']}, not to lead {lead_id}")
    if recorded is not None and own is not None:
        db.execute(cur, queries.DELETE_IN_FLIGHT_DUPLICATE, (own["id"],))
    return recorded or own


def _newer_call_recorded(row: dict | None) -> bool:
    """Whether a later call of this lead (higher row id: call order, never clocks) already
    has its result. A call recorded without a row of its own is the newest by definition."""
    return row is not None and bool(row.get("newer_call_recorded"))


def _record_call(
    cur,
    lead_id: int,
    call: _Call,
    row: dict | None,
    now: datetime,
    *,
    provisional: bool = False,
    simulated: bool = False,
) -> int:
    params = {
        "provisional": provisional,
        "simulated": simulated,
        "lead_id": lead_id,
        "outcome": call.outcome,
        "call_id": call.call_id,
        "request_id": call.request_id,
        "pearl_status": call.pearl_status,
        "conversation_status": call.conversation_status,
        "error_message": call.error_message,
        "raw_response": call.raw_response,
        "started_at": to_db(call.started_at or now),
        "now": to_db(now),
    }
    if row is not None:
        db.execute(cur, queries.COMPLETE_PEARL_CALL, {**params, "row_id": row["id"]})
        return row["id"]
    db.execute(cur, queries.INSERT_COMPLETED_PEARL_CALL, params)
    return cur.lastrowid


def _record_attempt(cur, lead_id: int, call_status: str, now: datetime, count: bool) -> None:
    if count:
        db.execute(
            cur,
            queries.RECORD_ATTEMPT,
            {"lead_id": lead_id, "now": to_db(now), "call_status": call_status},
        )
    else:
        db.execute(
            cur,
            queries.SET_LEAD_CALL_STATUS,
            {"lead_id": lead_id, "call_status": call_status, "message": None},
        )


def _close_after_call(
    cur, lead_id: int, call_status: str, reason: str, now: datetime, count: bool
) -> None:
    params = {"lead_id": lead_id, "call_status": call_status, "reason": reason, "now": to_db(now)}
    db.execute(cur, queries.CLOSE_LEAD_AFTER_CALL if count else queries.CLOSE_LEAD_NO_COUNT, params)


def _apply(cur, lead: dict, call: _Call, now: datetime, count: bool) -> CallResultProcessed:
    """Move an open, locked lead on according to the call's outcome (its pending calls are
    already cancelled). `count=False`: this call's attempt is already counted."""
    lead_id, outcome = lead["id"], call.outcome
    attempts = lead["call_attempts_count"] + (1 if count else 0)
    if outcome in RETRY_OUTCOMES:
        if outcome == Outcome.ERROR and call.error_message:
            db.execute(
                cur,
                queries.SET_CALL_ERROR_MESSAGE,
                {"lead_id": lead_id, "message": call.error_message},
            )
        result = reschedule_locked_lead(
            cur, lead, outcome, now, scheduler_config.get_config(cur),
            pending_cancelled=True, count_attempt=count,
        )  # fmt: skip
        action = {"rescheduled": "rescheduled", "manual_management": "recorded"}.get(
            result.reason, "closed"
        )
        return CallResultProcessed(
            lead_id, outcome, action, result.cancelled, result.scheduled_at,
            result.closure_reason, result.attempts,
        )  # fmt: skip
    if outcome in CLOSING_OUTCOMES:
        reason, call_status = CLOSING_OUTCOMES[outcome]
        _close_after_call(cur, lead_id, call_status, reason, now, count)
        return CallResultProcessed(
            lead_id, outcome, "closed", closure_reason=reason, attempts=attempts
        )
    # Success.
    appointment = call.appointment
    if appointment is None:
        _record_attempt(cur, lead_id, "completed", now, count)
        return CallResultProcessed(lead_id, outcome, "completed", attempts=attempts)
    for problem in appointment.problems:
        logger.warning("lead %s: appointment data left out: %s", lead_id, mask_digits(problem))
    db.execute(
        cur,
        queries.RECORD_APPOINTMENT,
        {
            "lead_id": lead_id,
            "cita": appointment.fecha,
            "hora_cita": appointment.hora,
            "resultado": RESULTADO_CONFIRMED if appointment.confirmed else None,
        },
    )
    _close_after_call(cur, lead_id, "completed", CLOSURE_APPOINTMENT, now, count)
    return CallResultProcessed(
        lead_id, outcome, "closed", closure_reason=CLOSURE_APPOINTMENT,
        attempts=attempts, appointment=appointment,
    )  # fmt: skip


def _replaces_provisional(row: dict | None, provisional: bool) -> bool:
    """Whether this result is the real one of a call settled provisionally (counted once)."""
    return row is not None and bool(row["provisional"]) and not provisional


def process_call_result(
    lead_id: int,
    call_result: Mapping[str, Any],
    pearl_response: Mapping[str, Any] | None = None,
    *,
    row_id: int | None = None,
    provisional: bool = False,
    simulated: bool = False,
) -> CallResultProcessed:
    """enhanced_process_call_result, plus what the dispatcher knows.

    `row_id`: the pearl_calls row the dispatcher created for this call (also found from
    Pearl's echo of callData.callRef). `provisional`: a settlement made without Pearl's
    result (timeout, uncertain too long); the real result, when it arrives, replaces it
    without counting the attempt again. `simulated`: marks the call record as simulated.
    A call that has not ended (status 3, a call-started event) changes nothing: action
    'in_progress'.
    """
    validate_lead_id(lead_id)
    call = describe_call(call_result, pearl_response)
    if not call.final:
        return CallResultProcessed(lead_id, call.outcome, "in_progress")

    def work(cur) -> CallResultProcessed:
        lead = lock_lead(cur, lead_id)
        row = _find_call_row(cur, lead_id, call, row_id)
        replacing = _replaces_provisional(row, provisional)
        if row is not None and row["outcome"] is not None and not replacing:
            return CallResultProcessed(
                lead_id, row["outcome"], "duplicate", pearl_call_row_id=row["id"]
            )
        now = utc_now()
        record = {"provisional": provisional, "simulated": simulated}
        if _newer_call_recorded(row):
            # A later call already decided the lead's state: record and count this one only.
            row_id_done = _record_call(cur, lead_id, call, row, now, **record)
            if is_open(lead) and not replacing:
                db.execute(cur, queries.COUNT_ATTEMPT_ONLY, {"lead_id": lead_id})
            return CallResultProcessed(
                lead_id, call.outcome, "stale", pearl_call_row_id=row_id_done
            )
        if replacing and not is_open(lead):
            # Reopen only a closure that the provisional settlement itself made.
            reopened = db.execute(
                cur,
                queries.REOPEN_LEAD,
                {"lead_id": lead_id, "closed_at": row["completed_at"]},
            )
            if reopened:
                lead = lock_lead(cur, lead_id)
        cancelled = 0
        if lead["pending_schedule_id"] is not None:
            cancelled = cancel_pending(cur, lead_id, f"Call result processed: {call.outcome}")
        row_id_done = _record_call(cur, lead_id, call, row, now, **record)
        if not is_open(lead):
            return CallResultProcessed(
                lead_id, call.outcome, "ignored", cancelled, pearl_call_row_id=row_id_done
            )
        done = _apply(cur, lead, call, now, count=not replacing)
        return CallResultProcessed(
            **{**done.__dict__, "cancelled": cancelled + done.cancelled,
               "pearl_call_row_id": row_id_done,
               "action": "replaced" if replacing else done.action}
        )  # fmt: skip

    result = db.run_in_transaction(work, name=f"process call result of lead {lead_id}")
    logger.info(
        "lead %s: call result %s -> %s (%s)",
        lead_id, result.outcome, result.action, result.closure_reason or "open",
    )  # fmt: skip
    return result


def enhanced_process_call_result(
    lead_id: int, call_result: dict[str, Any], pearl_response: dict[str, Any] | None = None
) -> CallResultProcessed:
    """Process a finished call (the seed's entry point for Pearl AI results).

    `call_result` is the caller's summary ({'callResult': 'no_answer', 'status':
    'failed', 'outcome': 'no_answer'}, optionally 'success', 'error_message',
    'call_id', 'request_id'); `pearl_response` is Pearl's call object or None.
    Returns a CallResultProcessed. Raises ValueError for a bad lead_id,
    TypeError for non-mapping payloads (nothing is written in either case),
    LeadNotFoundError for an unknown lead, database errors after rollback.
    """
    return process_call_result(lead_id, call_result, pearl_response)


def close_lead_with_reason(lead_id: int, reason: str) -> bool:
    """Close a lead and cancel its pending calls. Idempotent: a lead already closed
    keeps its first reason (its pending calls are still cancelled).

    Returns True if this call closed the lead, False if it was already closed.
    Raises ValueError for bad arguments, LeadNotFoundError for an unknown lead.
    """
    validate_lead_id(lead_id)
    reason = validate_reason(reason)

    def work(cur) -> bool:
        lead = lock_lead(cur, lead_id)
        if not is_open(lead):
            cancel_pending(cur, lead_id, reason)
            return False
        close_locked_lead(cur, lead_id, reason, utc_now())
        return True

    closed = db.run_in_transaction(work, name=f"close lead {lead_id}")
    logger.info("lead %s: %s", lead_id, "closed" if closed else "was already closed")
    return closed


def get_scheduler_integration_stats() -> dict[str, int]:
    """{'scheduled_today': pending calls for today (business-local date),
    'due_now': pending calls due now for open leads, 'closed_last_24h': leads closed}."""
    now = utc_now()
    with db.transaction("integration stats") as cur:
        zone = scheduler_config.get_config(cur).working_time.timezone
        today: date = now.astimezone(zone).date()
        start = datetime.combine(today, time(0), tzinfo=zone)
        end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
        scheduled = db.fetch_one(
            cur,
            queries.COUNT_PENDING_SCHEDULED_BETWEEN,
            {"start": to_db(start), "end": to_db(end)},
        )
        due = db.fetch_one(cur, queries.COUNT_DUE_NOW, {"now": to_db(now)})
        closed = db.fetch_one(
            cur, queries.COUNT_CLOSED_SINCE, {"since": to_db(now - timedelta(hours=24))}
        )
    return {
        "scheduled_today": int(scheduled["total"]),
        "due_now": int(due["total"]),
        "closed_last_24h": int(closed["total"]),
    }
