"""Call results from Pearl AI (the seed's `call_manager_scheduler_integration.py`).

`enhanced_process_call_result(lead_id, call_result, pearl_response=None)` is the
one place where a finished call changes a lead. In one transaction holding the
lead's row lock it finds the call's one `pearl_calls` row (by request id, call id
or our callRef), cancels the lead's pending calls (the seed's rule: any call,
scheduled or manual, cancels what was pending), records the call (a result
delivered twice counts once), classifies it (`call_outcome.classify`: collectedInfo
first, then Pearl's codes, text last), and applies its disposition
(`dispositions.decide`, `apply_disposition.py`). A call that has not ended is
acknowledged and changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import db
import queries
import scheduler_config
from apply_disposition import CLOSURE_APPOINTMENT, CallResultProcessed, apply_disposition
from call_outcome import classify
from call_outcome import is_final_call as _is_final_call
from clock import to_db, utc_now
from dispositions import Action, decide
from reprogramar_llamadas_simple import (
    LeadNotFoundError,
    cancel_pending,
    close_locked_lead,
    is_open,
    lock_lead,
    validate_lead_id,
    validate_reason,
)
from safe_json import safe_json

logger = logging.getLogger(__name__)

CLOSURE_INVALID_PHONE = "Teléfono erróneo"
CLOSURE_BLACKLISTED = "Lista negra"
CLOSURE_NOT_INTERESTED = "No interesado"
# Pearl call statuses that end a call: 4 Completed, 5 Busy, 6 Failed, 7 NoAnswer, 8 Canceled.
FINAL_PEARL_STATUSES = frozenset({4, 5, 6, 7, 8})

_ID_MAX = 64
_ERROR_MAX = 500
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
    "is_final_call",
    "process_call_result",
]


@dataclass(frozen=True)
class _Call:
    """The facts of one reported call, extracted and cut to column sizes before any I/O."""

    call_id: str | None
    request_id: str | None
    pearl_status: int | None
    conversation_status: int | None
    error_message: str | None
    raw_response: str
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


def is_final_call(call_result: Mapping[str, Any], pearl_response: Mapping | None = None) -> bool:
    """Whether a reported call has ended (see call_outcome.is_final_call): a call still
    running (status 3) or a call-started event must change nothing and must not consume
    the call id its real result will carry."""
    return _is_final_call(call_result, pearl_response)


def describe_call(call_result: Any, pearl_response: Any = None) -> _Call:
    """Validate and extract a reported call; raises TypeError for non-mapping input."""
    if not isinstance(call_result, Mapping):
        raise TypeError(f"call_result must be a mapping, got {type(call_result).__name__}")
    if pearl_response is not None and not isinstance(pearl_response, Mapping):
        raise TypeError(
            f"pearl_response must be None or a mapping, got {type(pearl_response).__name__}"
        )
    pearl = pearl_response or {}
    return _Call(
        call_id=_text(pearl.get("id"), _ID_MAX) or _text(call_result.get("call_id"), _ID_MAX),
        request_id=_text(call_result.get("request_id"), _ID_MAX)
        or _text(pearl.get("requestId"), _ID_MAX),
        pearl_status=_code(pearl.get("status")),
        conversation_status=_code(pearl.get("conversationStatus")),
        error_message=_text(call_result.get("error_message"), _ERROR_MAX),
        raw_response=safe_json({"call_result": call_result, "pearl_response": pearl_response}),
        started_at=_start_time(pearl.get("startTime")),
        call_ref=_call_ref(call_result, pearl),
        final=is_final_call(call_result, pearl_response),
    )


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
    own = None
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
        return _settle_own_row(cur, lead_id, own)
    recorded = None
    for query, key in (
        (queries.PEARL_CALL_BY_CALL_ID, call.call_id),
        (queries.PEARL_CALL_BY_REQUEST_ID, call.request_id),
    ):
        if recorded is None and key is not None:
            recorded = db.fetch_one(cur, query, (key,))
    if recorded is not None and recorded["lead_id"] != lead_id:
        raise _other_lead(recorded, lead_id)
    return recorded


def _other_lead(row: dict, lead_id: int) -> ValueError:
    return ValueError(f"that call belongs to lead {row['lead_id']}, not to lead {lead_id}")


def _settle_own_row(cur, lead_id: int, own: dict) -> dict:
    """The call's row given its dispatcher's row `own` (locked, with call_id_row and
    request_id_row): the other row already holding the call's Pearl call id (else request
    id), locked, when there is one (`own` is then removed if still in flight), else `own`.
    Raises ValueError when either row belongs to another lead."""
    recorded = None
    other = next(
        (i for i in (own["call_id_row"], own["request_id_row"]) if i not in (None, own["id"])),
        None,
    )
    if other is not None:
        recorded = db.fetch_one(cur, queries.PEARL_CALL_LOCK, (other,))
    for row in (recorded, own):
        if row is not None and row["lead_id"] != lead_id:
            raise _other_lead(row, lead_id)
    if recorded is not None:
        db.execute(cur, queries.DELETE_IN_FLIGHT_DUPLICATE, (own["id"],))
        return recorded
    return own


# LOCK_LEAD_WITH_CALL_ROW's call_row_* columns -> the keys of a call row (PEARL_CALL_BY_ROW_ID)
_CALL_ROW_COLUMNS = {
    "call_row_id": "id",
    "call_row_outcome": "outcome",
    "call_row_provisional": "provisional",
    "call_row_completed_at": "completed_at",
    "call_row_call_id_row": "call_id_row",
    "call_row_request_id_row": "request_id_row",
}


def _lock_lead_and_call_row(
    cur, lead_id: int, call: _Call, row_id: int | None
) -> tuple[dict, dict | None]:
    """lock_lead(lead_id) and then _find_call_row(...): the same rows, locks (lead first) and
    errors, in one statement when the caller names the dispatcher's row (`row_id`: the
    webhook's callRef match and the dispatcher's own calls) and it is this lead's.
    Otherwise, with the lead locked, _find_call_row decides as it always does. Only a row
    the caller names is read this way: the statement locks the row it reads even when it is
    another lead's (as PEARL_CALL_BY_ROW_ID does), which a callRef merely echoed in Pearl's
    payload must not do. Raises LeadNotFoundError for an unknown lead.
    """
    if row_id is None:
        return lock_lead(cur, lead_id), _find_call_row(cur, lead_id, call, None)
    found = db.fetch_one(
        cur,
        queries.LOCK_LEAD_WITH_CALL_ROW,
        {
            "lead_id": lead_id,
            "row_id": row_id,
            "call_id": call.call_id,
            "request_id": call.request_id,
        },
    )
    if found is None:
        raise LeadNotFoundError(f"lead {lead_id} does not exist")
    own = {key: found.pop(column) for column, key in _CALL_ROW_COLUMNS.items()}
    latest = found.pop("latest_result")
    latest_id, found["previous_outcome"] = json.loads(latest) if latest is not None else (0, None)
    if own["id"] is None:  # no such row, or another lead's (refused there): as always
        return found, _find_call_row(cur, lead_id, call, row_id)
    own["lead_id"] = lead_id
    own["newer_call_recorded"] = latest_id > own["id"]
    return found, _settle_own_row(cur, lead_id, own)


def _newer_call_recorded(row: dict | None) -> bool:
    """Whether a later call of this lead (higher row id: call order, never clocks) already
    has its result. A call recorded without a row of its own is the newest by definition."""
    return row is not None and bool(row.get("newer_call_recorded"))


def _record_call(
    cur, lead_id: int, call: _Call, outcome: str, row: dict | None, now: datetime, *,
    provisional: bool, simulated: bool,
) -> int:  # fmt: skip
    params = {
        "state": "not_placed" if outcome == "not_placed" else "completed",
        "provisional": provisional,
        "simulated": simulated,
        "lead_id": lead_id,
        "outcome": outcome,
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
        db.defer(cur, queries.COMPLETE_PEARL_CALL, {**params, "row_id": row["id"]})
        return row["id"]
    db.execute(cur, queries.INSERT_COMPLETED_PEARL_CALL, params)
    return cur.lastrowid


def _classify(call_result: Mapping, pearl_response: Mapping | None, lead: dict, config):
    """The call's classification and disposition under the current configuration. An
    `outcome` the caller forces (the dispatcher's provisional `error`) is honoured."""
    found = classify(
        call_result,
        pearl_response,
        rules=config.dispositions.collected_info_rules,
        previous_outcome=lead.get("previous_outcome"),
    )
    return found, decide(found, config)


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
        return CallResultProcessed(lead_id, "in_progress", "in_progress")

    def work(cur) -> CallResultProcessed:
        lead, row = _lock_lead_and_call_row(cur, lead_id, call, row_id)
        replacing = row is not None and bool(row["provisional"]) and not provisional
        if row is not None and row["outcome"] is not None and not replacing:
            return CallResultProcessed(
                lead_id, row["outcome"], "duplicate", pearl_call_row_id=row["id"]
            )
        now = utc_now()
        config = scheduler_config.get_config(cur)
        found, disposition = _classify(call_result, pearl_response, lead, config)
        outcome = found.outcome
        record = {"provisional": provisional, "simulated": simulated}
        if _newer_call_recorded(row):
            # A later call already decided the lead's state: record and count this one only.
            done_id = _record_call(cur, lead_id, call, outcome, row, now, **record)
            if not replacing and disposition.action != Action.NOT_PLACED:
                db.defer(cur, queries.COUNT_ATTEMPT_ONLY, {"lead_id": lead_id})
            return CallResultProcessed(lead_id, outcome, "stale", pearl_call_row_id=done_id)
        if replacing and not is_open(lead):
            # Reopen only a closure that the provisional settlement itself made.
            reopened = db.execute(
                cur, queries.REOPEN_LEAD, {"lead_id": lead_id, "closed_at": row["completed_at"]}
            )
            if reopened:
                lead = lock_lead(cur, lead_id)
        cancelled = 0
        if lead["pending_schedule_id"] is not None:
            cancelled = cancel_pending(cur, lead_id, f"Call result processed: {outcome}")
        done_id = _record_call(cur, lead_id, call, outcome, row, now, **record)
        if not is_open(lead):
            # The call happened (it reached Pearl before the lead was closed): it counts, and
            # changes nothing else.
            if not replacing and disposition.action != Action.NOT_PLACED:
                db.defer(cur, queries.COUNT_ATTEMPT_ONLY, {"lead_id": lead_id})
            return CallResultProcessed(
                lead_id, outcome, "ignored", cancelled, pearl_call_row_id=done_id
            )
        if replacing and disposition.action == Action.NOT_PLACED:
            disposition = replace(disposition, action=Action.RETRY)  # it was counted already
        done = apply_disposition(
            cur, lead, found, disposition, error_message=call.error_message, now=now,
            config=config, count=not replacing,
        )  # fmt: skip
        return replace(
            done,
            cancelled=cancelled + done.cancelled,
            pearl_call_row_id=done_id,
            action="replaced" if replacing else done.action,
        )

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
