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
from clock import from_db, to_db, utc_now
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
    'recorded' (attempt counted on a lead under manual management, nothing
    scheduled), 'duplicate' (this call was already processed: nothing
    changed), 'stale' (a call that started after this one was already
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


# --- pure helpers ----------------------------------------------------------------------


def _text(value: Any, limit: int) -> str | None:
    """A non-empty string or integer id as text cut to `limit`, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
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
        text = json.dumps(payload, default=repr, ensure_ascii=False)
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
    )


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
    request id, else the dispatcher's own row. A call has exactly one row: when the call was
    already recorded on another row (a webhook beat the dispatcher), the dispatcher's
    in-flight row is removed. Raises ValueError when the call belongs to another lead."""
    own = recorded = None
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


def _started_at(call: _Call, row: dict | None) -> datetime | None:
    """When the call started: the dispatcher's claim time, else Pearl's startTime."""
    if row is not None and row["claimed_at"] is not None:
        return from_db(row["claimed_at"])
    return call.started_at


def _newer_call_recorded(cur, lead_id: int, call: _Call, row: dict | None) -> bool:
    """Whether a call of this lead that started later than this one already has a result."""
    if row is not None and "newer_call_recorded" in row:  # answered by the row lookup
        return bool(row["newer_call_recorded"])
    started_at = _started_at(call, row)
    if started_at is None:
        return False
    found = db.fetch_one(
        cur, queries.NEWER_CALL_RECORDED, {"lead_id": lead_id, "started_at": to_db(started_at)}
    )
    return found is not None


def _record_call(cur, lead_id: int, call: _Call, row: dict | None, now: datetime) -> int:
    params = {
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


def _record_attempt(cur, lead_id: int, call_status: str, now: datetime) -> None:
    db.execute(
        cur,
        queries.RECORD_ATTEMPT,
        {"lead_id": lead_id, "now": to_db(now), "call_status": call_status},
    )


def _close_after_call(cur, lead_id: int, call_status: str, reason: str, now: datetime) -> None:
    db.execute(
        cur,
        queries.CLOSE_LEAD_AFTER_CALL,
        {"lead_id": lead_id, "call_status": call_status, "reason": reason, "now": to_db(now)},
    )


def _apply(cur, lead: dict, call: _Call, now: datetime) -> CallResultProcessed:
    """Move an open, locked lead on according to the call's outcome (its pending calls are
    already cancelled)."""
    lead_id, outcome = lead["id"], call.outcome
    attempts = lead["call_attempts_count"] + 1
    if outcome in RETRY_OUTCOMES:
        if outcome == Outcome.ERROR and call.error_message:
            db.execute(
                cur,
                queries.SET_CALL_ERROR_MESSAGE,
                {"lead_id": lead_id, "message": call.error_message},
            )
        result = reschedule_locked_lead(
            cur, lead, outcome, now, scheduler_config.get_config(cur), pending_cancelled=True
        )
        action = {"rescheduled": "rescheduled", "manual_management": "recorded"}.get(
            result.reason, "closed"
        )
        return CallResultProcessed(
            lead_id, outcome, action, result.cancelled, result.scheduled_at,
            result.closure_reason, result.attempts,
        )  # fmt: skip
    if outcome in CLOSING_OUTCOMES:
        reason, call_status = CLOSING_OUTCOMES[outcome]
        _close_after_call(cur, lead_id, call_status, reason, now)
        return CallResultProcessed(
            lead_id, outcome, "closed", closure_reason=reason, attempts=attempts
        )
    # Success.
    appointment = call.appointment
    if appointment is None:
        _record_attempt(cur, lead_id, "completed", now)
        return CallResultProcessed(lead_id, outcome, "completed", attempts=attempts)
    for problem in appointment.problems:
        logger.warning("lead %s: appointment data left out: %s", lead_id, problem)
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
    _close_after_call(cur, lead_id, "completed", CLOSURE_APPOINTMENT, now)
    return CallResultProcessed(
        lead_id, outcome, "closed", closure_reason=CLOSURE_APPOINTMENT,
        attempts=attempts, appointment=appointment,
    )  # fmt: skip


def process_call_result(
    lead_id: int,
    call_result: Mapping[str, Any],
    pearl_response: Mapping[str, Any] | None = None,
    *,
    row_id: int | None = None,
) -> CallResultProcessed:
    """enhanced_process_call_result, plus `row_id`: the pearl_calls row the dispatcher
    created for this call, when it has neither a call id nor a request id."""
    validate_lead_id(lead_id)
    call = describe_call(call_result, pearl_response)

    def work(cur) -> CallResultProcessed:
        lead = lock_lead(cur, lead_id)
        row = _find_call_row(cur, lead_id, call, row_id)
        if row is not None and row["outcome"] is not None:
            return CallResultProcessed(
                lead_id, row["outcome"], "duplicate", pearl_call_row_id=row["id"]
            )
        now = utc_now()
        if _newer_call_recorded(cur, lead_id, call, row):
            # A later call already decided the lead's state: record and count this one only.
            row_id_done = _record_call(cur, lead_id, call, row, now)
            if is_open(lead):
                started_at = _started_at(call, row) or now
                db.execute(
                    cur,
                    queries.COUNT_ATTEMPT_ONLY,
                    {"lead_id": lead_id, "started_at": to_db(started_at)},
                )
            return CallResultProcessed(
                lead_id, call.outcome, "stale", pearl_call_row_id=row_id_done
            )
        cancelled = 0
        if lead["pending_schedule_id"] is not None:
            cancelled = cancel_pending(cur, lead_id, f"Call result processed: {call.outcome}")
        row_id_done = _record_call(cur, lead_id, call, row, now)
        if not is_open(lead):
            return CallResultProcessed(
                lead_id, call.outcome, "ignored", cancelled, pearl_call_row_id=row_id_done
            )
        done = _apply(cur, lead, call, now)
        return CallResultProcessed(
            **{**done.__dict__, "cancelled": cancelled + done.cancelled,
               "pearl_call_row_id": row_id_done}
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
