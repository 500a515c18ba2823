"""Moving a locked, open lead on after a call: the disposition of its outcome, applied.

`call_outcome.classify` says what happened, `dispositions.decide` what to do about it;
this module does it inside the caller's transaction (which holds the lead's row lock):

| action      | the lead                                                              |
| ----------- | --------------------------------------------------------------------- |
| retry       | attempt counted; next call after the outcome's delay, or closed at    |
|             | the outcome's max attempts (`Máximo intentos alcanzado`)               |
| callback    | attempt counted; next call at the lead-local time the person asked    |
|             | for, on the first working day where it falls in working time; honoured |
|             | once beyond max attempts; without a usable time it is a retry          |
| appointment | attempt counted; cita/hora stored, labels set, closed                  |
| close       | attempt counted; closed with the closure reason                        |
| review      | attempt counted; manual management on, labels say why                  |
| not_placed  | no attempt (the call never reached the person); pending again after    |
|             | place_failure_delay_minutes                                            |

`add_to_do_not_call` also puts the lead's number on the do-not-call list. The writes whose
results nobody reads are deferred (db.defer): they reach the database together, with the
transaction's COMMIT, under the same guarantees as statements sent one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import db
import do_not_call
import queries
from call_outcome import Appointment, Callback, Classification
from dispositions import Action, Disposition
from phone import InvalidPhoneError, mask_digits
from reprogramar_llamadas_simple import (
    NO_LABELS,
    call_status_for,
    close_lead_after_call,
    lead_frame,
    next_call_time,
    put_pending,
    record_call_on_lead,
    reschedule_locked_lead,
)
from scheduler_config import SchedulerConfig
from working_time import next_callback_instant, next_working_instant

logger = logging.getLogger(__name__)

CLOSURE_APPOINTMENT = "Cita agendada"
RESULTADO_CONFIRMED = "Cita confirmada"
# call_status (an ENUM of seven values) recorded per action, when not a retry.
_CALL_STATUS = {Action.CLOSE: "completed", Action.APPOINTMENT: "completed",
                Action.REVIEW: "completed", Action.CALLBACK: "completed"}  # fmt: skip
_ERROR_CLOSURES = frozenset({"invalid_phone", "blacklisted"})


@dataclass(frozen=True)
class CallResultProcessed:
    """What processing one call result did.

    action: 'rescheduled', 'callback' (called back at the time the person asked for),
    'closed', 'review' (a person must decide: manual management on), 'not_placed' (the
    call never reached the person: no attempt counted, pending again), 'recorded' (attempt
    counted on a lead under manual management, nothing scheduled), 'in_progress' (the call
    has not ended: nothing written), 'duplicate' (this call was already processed: nothing
    changed), 'replaced' (the real result of a call settled provisionally: applied without
    counting its attempt again), 'stale' (a call placed after this one, by call order, was
    already processed: this one is recorded and its attempt counted, the newer state stays)
    or 'ignored' (the lead was already closed: the call is recorded, nothing else changes).
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


def apply_disposition(
    cur,
    lead: dict,
    found: Classification,
    disposition: Disposition,
    *,
    error_message: str | None,
    now: datetime,
    config: SchedulerConfig,
    count: bool,
) -> CallResultProcessed:
    """Apply `disposition` to an open lead the caller holds locked (its pending calls already
    cancelled). `count=False`: this call's attempt is already counted."""
    lead_id, outcome, action = lead["id"], found.outcome, disposition.action
    attempts = lead["call_attempts_count"] + (1 if count else 0)
    if found.preference:
        db.execute(
            cur, queries.SET_LEAD_PREFERENCE, {"lead_id": lead_id, "preference": found.preference}
        )
        lead = {**lead, "preferencia_horario": found.preference}
    if disposition.add_to_do_not_call and lead.get("telefono"):
        try:
            do_not_call.add_to_do_not_call(
                cur, lead["telefono"], "call result", f"asked during a call ({outcome})", now=now
            )
        except InvalidPhoneError:
            logger.warning("lead %s: number not valid, not added to the do-not-call list", lead_id)
    if action == Action.NOT_PLACED:
        delay = config.setting("place_failure_delay_minutes")
        when = next_call_time(lead, now + timedelta(minutes=delay), config)
        put_pending(cur, lead_id, when, lead["call_attempts_count"] + 1, outcome, now)
        return CallResultProcessed(
            lead_id, outcome, "not_placed", scheduled_at=when,
            attempts=lead["call_attempts_count"],
        )  # fmt: skip
    if outcome == "error" and error_message:
        db.defer(
            cur, queries.SET_CALL_ERROR_MESSAGE, {"lead_id": lead_id, "message": error_message}
        )
    labels = _labels(disposition)
    if action == Action.CALLBACK and found.callback is not None:
        done = _callback(cur, lead, found.callback, now, config, count, labels)
        if done is not None:
            return done
        action = Action.RETRY  # no working instant at that time, or honoured once already
    if action == Action.RETRY:
        result = reschedule_locked_lead(
            cur, lead, outcome, now, config, pending_cancelled=True, count_attempt=count,
            labels=labels,
        )  # fmt: skip
        kind = {"rescheduled": "rescheduled", "manual_management": "recorded"}.get(
            result.reason, "closed"
        )
        return CallResultProcessed(
            lead_id, outcome, kind, result.cancelled, result.scheduled_at,
            result.closure_reason, result.attempts,
        )  # fmt: skip
    if action == Action.REVIEW:  # the labels are written with the review flag below
        record_call_on_lead(cur, lead_id, "completed", now, count, NO_LABELS)
        db.defer(
            cur,
            queries.PUT_LEAD_UNDER_REVIEW,
            {
                "lead_id": lead_id,
                "status_level_1": disposition.status_level_1,
                "status_level_2": disposition.status_level_2,
                "message": None,
            },
        )
        for problem in found.problems:
            logger.warning("lead %s: to review: %s", lead_id, mask_digits(problem))
        return CallResultProcessed(
            lead_id, outcome, "review", attempts=attempts, appointment=found.appointment
        )
    if action == Action.APPOINTMENT and found.appointment is not None:
        appointment = found.appointment
        for problem in appointment.problems:
            logger.warning("lead %s: appointment data left out: %s", lead_id, mask_digits(problem))
        db.defer(
            cur,
            queries.RECORD_APPOINTMENT,
            {
                "lead_id": lead_id,
                "cita": appointment.fecha,
                "hora_cita": appointment.hora,
                "resultado": RESULTADO_CONFIRMED if appointment.confirmed else None,
            },
        )
        reason = disposition.closure_reason or CLOSURE_APPOINTMENT
        close_lead_after_call(cur, lead_id, "completed", reason, now, count, labels)
        return CallResultProcessed(
            lead_id, outcome, "closed", closure_reason=reason, attempts=attempts,
            appointment=appointment,
        )  # fmt: skip
    # close (or an appointment configured without data: closed with its reason)
    reason = disposition.closure_reason or outcome
    status = "error" if outcome in _ERROR_CLOSURES else _CALL_STATUS.get(action, "completed")
    close_lead_after_call(cur, lead_id, status, reason, now, count, labels)
    return CallResultProcessed(lead_id, outcome, "closed", closure_reason=reason, attempts=attempts)


def _labels(disposition: Disposition) -> Mapping[str, str | None]:
    """The dashboards' labels of this result (None keeps the lead's), written together with
    the attempt or the closure: one statement on the hot path."""
    return {
        "status_level_1": disposition.status_level_1,
        "status_level_2": disposition.status_level_2,
    }


def _callback(
    cur, lead: dict, callback: Callback, now: datetime, config: SchedulerConfig, count: bool,
    labels: Mapping[str, str | None],
) -> CallResultProcessed | None:  # fmt: skip
    """Schedule the call the person asked for; None to fall back to a retry."""
    lead_id = lead["id"]
    attempts = lead["call_attempts_count"] + (1 if count else 0)
    retry = config.retry_for("callback")
    if attempts >= retry.max_attempts and lead.get("previous_outcome") == "callback":
        return None  # honoured once beyond the maximum already
    when = callback_instant(lead, callback, now, config)
    if when is None:
        return None
    record_call_on_lead(cur, lead_id, call_status_for("callback"), now, count, labels)
    put_pending(cur, lead_id, when, attempts + 1, "callback", now)
    return CallResultProcessed(
        lead_id, "callback", "callback", scheduled_at=when, attempts=attempts
    )


def callback_instant(
    lead: dict, callback: Callback, now: datetime, config: SchedulerConfig
) -> datetime | None:
    """The requested lead-local time on the first working day, from the requested date (or
    today), where it falls inside working time and is still ahead (a date without a time:
    that day's first working instant for the lead). None when there is no such day soon."""
    wt = config.working_time
    frame = lead_frame(lead, wt)
    if callback.hora is None:
        start = datetime.combine(callback.fecha, time(0), tzinfo=frame["zone"])
        return next_working_instant(max(start, now), wt, **frame)
    return next_callback_instant(
        now, wt, frame["zone"], callback.hora, callback.fecha,
        preference=frame["preference"], country=frame["country"],
    )  # fmt: skip


__all__ = ["CallResultProcessed", "apply_disposition", "callback_instant"]
