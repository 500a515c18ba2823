"""The life of one call (a `pearl_calls` row), written down once: states, transitions, rules.

Pure: no I/O. The dispatcher (`despachar_llamadas.py`) and result processing
(`call_manager_scheduler_integration.py`) perform the transitions; every SQL
statement that moves a row names the states it may move from, so a row can
only follow this table even when several processes act on it at once.

| state       | meaning                                                     | attempt counted |
| ----------- | ----------------------------------------------------------- | --------------- |
| claimed     | a dispatcher run holds the schedule (run_id + lease); no    | no              |
|             | request has been sent                                       |                 |
| placing     | the pre-flight passed with a fresh clock right before the   | not yet         |
|             | POST; the POST may be under way                             |                 |
| placed      | Pearl accepted the call: its request id is saved            | not yet         |
| uncertain   | the POST may have reached Pearl, but no request id was      | not yet         |
|             | saved; reconciled with Pearl's call-request listing by our  |                 |
|             | `callRef` (= the row id, sent in callData)                  |                 |
| completed   | the call's result was processed (outcome set). provisional: | yes, once       |
|             | settled as `error` without Pearl's result; the real result  |                 |
|             | replaces it once, without counting again                    |                 |
| not_placed  | provably never reached the person                           | no              |
| quarantined | its result failed processing max_processing_failures times; | no              |
|             | the lead goes to manual review                              |                 |

| from        | event             | to          | who                                             |
| ----------- | ----------------- | ----------- | ----------------------------------------------- |
| claimed     | preflight_ok      | placing     | the run holding the lease, fresh clock          |
| claimed     | preflight_refused | not_placed  | lead closed / manual / demo / DNC / in flight / |
|             |                   |             | outside working time (deferred)                 |
| claimed     | released          | (deleted)   | its own run (401/403, stop), or any run once    |
|             |                   |             | the lease expired: schedule back to pending     |
| placing     | accepted          | placed      | the POST returned a request id                  |
| placing     | refused           | not_placed  | Pearl answered 4xx (not 401/403/404/429)        |
| placing     | auth_refused      | (deleted)   | 401/403/404: configuration; the run stops and   |
|             |                   |             | gives the claim back as it was                  |
| placing     | maybe_sent        | uncertain   | timeout, 5xx, reset, crash in the POST          |
| placing     | lease_expired     | uncertain   | the run died (or stalled) between pre-flight    |
|             |                   |             | and saving the request id                       |
| uncertain   | accepted / found  | placed      | late save, or reconciliation found its callRef  |
| uncertain   | absent            | not_placed  | Pearl's listing provably lacks it after the     |
|             |                   |             | grace period                                    |
| uncertain   | give_up           | completed*  | unresolved after uncertain_max_hours            |
| placed      | timeout           | completed*  | no result after call_result_timeout_minutes     |
| placing,    | result            | completed   | a final result matched by request id, call id   |
| placed,     |                   |             | or callRef (webhook or poll)                    |
| uncertain   |                   |             |                                                 |
| placed,     | not_reached       | not_placed  | Pearl status 8: the call never reached anyone   |
| uncertain   |                   |             |                                                 |
| completed*  | result            | completed   | the real result replaces the provisional one    |
| placed,     | processing_failed | quarantined | after max_processing_failures failures          |
| uncertain,  |                   |             |                                                 |
| placing     |                   |             |                                                 |

(* = provisional.) A non-final Pearl call (status 3, a call-started event) is no
event at all: nothing changes and the call id stays free for the real result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CallState(StrEnum):
    """States of a pearl_calls row (the `state` column)."""

    CLAIMED = "claimed"
    PLACING = "placing"
    PLACED = "placed"
    UNCERTAIN = "uncertain"
    COMPLETED = "completed"
    NOT_PLACED = "not_placed"
    QUARANTINED = "quarantined"


class Event(StrEnum):
    """What can happen to a call."""

    PREFLIGHT_OK = "preflight_ok"
    PREFLIGHT_REFUSED = "preflight_refused"
    RELEASED = "released"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    AUTH_REFUSED = "auth_refused"
    MAYBE_SENT = "maybe_sent"
    LEASE_EXPIRED = "lease_expired"
    FOUND = "found"
    ABSENT = "absent"
    GIVE_UP = "give_up"
    TIMEOUT = "timeout"
    RESULT = "result"
    NOT_REACHED = "not_reached"
    PROCESSING_FAILED = "processing_failed"


S, E = CallState, Event

# The state machine. None as a target: the row is deleted (a released claim).
TRANSITIONS: dict[tuple[CallState, Event], CallState | None] = {
    (S.CLAIMED, E.PREFLIGHT_OK): S.PLACING,
    (S.CLAIMED, E.PREFLIGHT_REFUSED): S.NOT_PLACED,
    (S.CLAIMED, E.RELEASED): None,
    (S.PLACING, E.ACCEPTED): S.PLACED,
    (S.PLACING, E.REFUSED): S.NOT_PLACED,
    (S.PLACING, E.AUTH_REFUSED): None,
    (S.PLACING, E.MAYBE_SENT): S.UNCERTAIN,
    (S.PLACING, E.LEASE_EXPIRED): S.UNCERTAIN,
    (S.PLACING, E.RESULT): S.COMPLETED,
    (S.PLACING, E.PROCESSING_FAILED): S.QUARANTINED,
    (S.UNCERTAIN, E.ACCEPTED): S.PLACED,
    (S.UNCERTAIN, E.FOUND): S.PLACED,
    (S.UNCERTAIN, E.ABSENT): S.NOT_PLACED,
    (S.UNCERTAIN, E.GIVE_UP): S.COMPLETED,
    (S.UNCERTAIN, E.RESULT): S.COMPLETED,
    (S.UNCERTAIN, E.NOT_REACHED): S.NOT_PLACED,
    (S.UNCERTAIN, E.PROCESSING_FAILED): S.QUARANTINED,
    (S.PLACED, E.TIMEOUT): S.COMPLETED,
    (S.PLACED, E.RESULT): S.COMPLETED,
    (S.PLACED, E.NOT_REACHED): S.NOT_PLACED,
    (S.PLACED, E.PROCESSING_FAILED): S.QUARANTINED,
    (S.COMPLETED, E.RESULT): S.COMPLETED,  # only while provisional
    (S.QUARANTINED, E.RESULT): S.COMPLETED,
}

# Rows that stand for a call that may be ringing or whose fate is not known yet: while a
# lead has one, no other call is placed to it.
IN_FLIGHT = frozenset({S.CLAIMED, S.PLACING, S.PLACED, S.UNCERTAIN})
# Rows whose POST may have reached Pearl: never redialled by any timeout path.
MAYBE_AT_PEARL = frozenset({S.PLACING, S.PLACED, S.UNCERTAIN})


class IllegalTransitionError(ValueError):
    """A call was asked to move along an edge the state machine does not have."""


def next_state(state: CallState | str, event: Event | str) -> CallState | None:
    """The state after `event`; raises IllegalTransitionError for a missing edge."""
    key = (CallState(state), Event(event))
    if key not in TRANSITIONS:
        raise IllegalTransitionError(f"a {key[0]} call cannot take the event {key[1]}")
    return TRANSITIONS[key]


def sources(event: Event | str) -> tuple[str, ...]:
    """Every state an event may move a row from, for the SQL `WHERE state IN (...)`."""
    event = Event(event)
    return tuple(sorted(str(s) for (s, e) in TRANSITIONS if e == event))


# --- the dispatcher's decisions ----------------------------------------------------------------


def lease_alive(lease_expires_at: datetime | None, now: datetime) -> bool:
    """Whether a claim's lease still protects it from other runs."""
    return lease_expires_at is not None and now < lease_expires_at


@dataclass(frozen=True)
class Preflight:
    """The pre-flight's verdict for one claimed call.

    kind: 'go' (place it now), 'defer' (outside working time: pending again at
    `when`, no attempt), 'drop' (the lead must not be called now: closed, under
    manual review, a demo lead, or another call in flight; nothing scheduled),
    'close' (close the lead with `reason`: on the do-not-call list).
    """

    kind: str
    reason: str
    when: datetime | None = None


def preflight(
    *,
    lead_open: bool,
    manual: bool,
    demo: bool,
    on_do_not_call: bool,
    other_in_flight: bool,
    working_now: bool,
    next_working: datetime | None,
) -> Preflight:
    """Decide, with facts read under the lead's lock and a fresh clock, whether to POST."""
    if not lead_open:
        return Preflight("drop", "lead closed")
    if demo:
        return Preflight("drop", "self-test lead: never dialled")
    if manual:
        return Preflight("drop", "lead under manual management")
    if on_do_not_call:
        return Preflight("close", "Lista negra")
    if other_in_flight:
        return Preflight("drop", "another call to this lead is in flight")
    if not working_now:
        return Preflight("defer", "outside working time", next_working)
    return Preflight("go", "ok")


def uncertain_verdict(
    *,
    found: bool,
    listing_complete: bool,
    placing_at: datetime | None,
    now: datetime,
    grace: timedelta,
    max_age: timedelta,
) -> str:
    """What to do with an uncertain call: 'adopt' (Pearl has it), 'absent' (provably never
    placed: no attempt, pending again), 'give_up' (unresolved too long: counted once as
    error), or 'wait' (ask again next run)."""
    if found:
        return "adopt"
    age = now - placing_at if placing_at is not None else max_age
    if listing_complete and age >= grace:
        return "absent"
    if age >= max_age:
        return "give_up"
    return "wait"


def refusal_verdict(consecutive_refusals: int, max_refusals: int) -> str:
    """After one more refusal by Pearl: 'retry' later, or 'review' by a person."""
    return "review" if consecutive_refusals >= max_refusals else "retry"
