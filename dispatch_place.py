"""Placing calls: claim due calls, pre-flight each right before its POST, settle the answer.

The transitions of `call_lifecycle.py` from `claimed` on:

- `claim_due_calls` takes due schedules with FOR UPDATE SKIP LOCKED and gives each a
  `claimed` pearl_calls row stamped with the run's id and a lease.
- `preflight_claims` runs immediately before a POST, in a short transaction under the
  lead's row lock, with a fresh clock and a fresh configuration: only a lead that is open,
  not under manual management, not a self-test lead, not on the do-not-call list, with no
  other call in flight, inside working time in its zone moves to `placing`.
- `place_one` POSTs it; the answer decides `placed`, `not_placed` (a provable refusal) or
  `uncertain` (the POST may have reached Pearl). Nothing that may have reached Pearl is
  ever sent again by this module.
- `release_claims` undoes claims that never reached the pre-flight.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pymysql

import db
import queries
import scheduler_config
from call_data import build_call_data
from call_lifecycle import Event, preflight, refusal_verdict, sources
from call_manager_scheduler_integration import CLOSURE_INVALID_PHONE
from clock import to_db, utc_now
from pearl_client import PearlAuthError, PearlClient, PearlError
from phone import InvalidPhoneError, mask_digits, normalize_phone
from reprogramar_llamadas_simple import (
    LeadNotFoundError,
    close_locked_lead,
    is_open,
    lead_frame,
    lock_lead,
    next_call_time,
    put_pending,
)
from working_time import is_working_instant, next_working_instant

logger = logging.getLogger(__name__)

# How old the configuration read by a pre-flight may be, in seconds.
PREFLIGHT_CONFIG_MAX_AGE = 5.0
REVIEW_STATUS = "Revisión manual"
REVIEW_REFUSED = "Pearl rechaza la llamada"


@dataclass
class Claim:
    """A due call this run took, with what is needed to place it or give it back."""

    schedule_id: int
    lead_id: int
    row_id: int
    phone: str
    call_data: dict[str, Any]
    previous_call_status: str | None
    last_outcome: str | None
    attempt_number: int = 1


@dataclass
class PlaceCounts:
    """What claiming and placing did (merged into the run's summary)."""

    claimed: int = 0
    deferred: int = 0
    invalid_phone: int = 0
    dropped: int = 0
    lost: int = 0


def claim_due_calls(run_id: str, limit: int, region: str, counts: PlaceCounts) -> list[Claim]:
    """Claim up to `limit` due calls in one transaction, with a fresh clock.

    A due call outside its lead's working time is moved to the next working instant; a
    lead whose number cannot be normalised is closed as 'Teléfono erróneo'.
    """

    def work(cur) -> tuple[list[Claim], int, int]:
        now = utc_now()
        rows = db.fetch_all(cur, queries.CLAIM_DUE_CALLS, {"now": to_db(now), "limit": limit})
        if not rows:
            return [], 0, 0
        config = scheduler_config.get_config(cur)
        wt = config.working_time
        dial, deferred, invalid = [], 0, 0
        for row in rows:
            frame = lead_frame({**row, "id": row["lead_id"]}, wt)
            if not is_working_instant(now, wt, **frame):
                when = next_working_instant(now, wt, **frame)
                db.execute(cur, queries.MOVE_SCHEDULE, {"id": row["id"], "when": to_db(when)})
                deferred += 1
                continue
            try:
                phone = normalize_phone(row["telefono"] or "", region)
            except InvalidPhoneError:
                db.execute(
                    cur,
                    queries.SET_LEAD_CALL_STATUS,
                    {"lead_id": row["lead_id"], "call_status": "error", "message": None},
                )
                close_locked_lead(cur, row["lead_id"], CLOSURE_INVALID_PHONE, now)
                invalid += 1
                continue
            dial.append((row, phone))
        if not dial:
            return [], deferred, invalid
        schedule_ids = tuple(row["id"] for row, _ in dial)
        db.execute(cur, queries.MARK_SCHEDULES_COMPLETED, {"ids": schedule_ids})
        db.execute(cur, queries.MARK_LEADS_SELECTED, {"ids": tuple(r["lead_id"] for r, _ in dial)})
        stamp = to_db(now)
        lease = to_db(now + timedelta(minutes=config.setting("claim_lease_minutes")))
        cur.executemany(
            queries.INSERT_CLAIMED_CALL.sql,
            [
                (row["lead_id"], row["id"], "claimed", run_id, lease, stamp, stamp)
                for row, _ in dial
            ],
        )
        row_ids = {
            r["schedule_id"]: r["id"]
            for r in db.fetch_all(
                cur, queries.CLAIMED_CALL_ROWS, {"ids": schedule_ids, "run_id": run_id}
            )
        }
        mapping = config.dispositions.call_data_mapping
        leads = _leads_for_call_data(cur, [row for row, _ in dial], mapping)
        claims = [
            Claim(
                schedule_id=row["id"],
                lead_id=row["lead_id"],
                row_id=row_ids[row["id"]],
                phone=phone,
                call_data=call_data_for(leads[row["lead_id"]], row, mapping, row_ids[row["id"]]),
                previous_call_status=row["call_status"],
                last_outcome=row.get("last_outcome"),
                attempt_number=row["attempt_number"],
            )
            for row, phone in dial
        ]
        return claims, deferred, invalid

    claims, deferred, invalid = db.run_in_transaction(work, name="claim due calls")
    counts.claimed += len(claims)
    counts.deferred += deferred
    counts.invalid_phone += invalid
    return claims


# Lead columns the claim query already reads: a mapping that names only these (the default
# one does) needs no second read of the leads.
_CLAIM_LEAD_COLUMNS = frozenset(
    {"nombre", "apellidos", "telefono", "timezone", "call_status", "preferencia_horario"}
)


def _leads_for_call_data(
    cur, rows: Sequence[dict], mapping: Mapping[str, str]
) -> dict[int, dict[str, Any]]:
    """Each claimed lead's columns for the agent's variables, by lead id: from the claim rows
    when the mapping names only columns they carry, else every column read again."""
    if all(source in _CLAIM_LEAD_COLUMNS for source in mapping.values()):
        columns = (*_CLAIM_LEAD_COLUMNS, "call_data")
        return {row["lead_id"]: {c: row.get(c) for c in columns} for row in rows}
    ids = tuple(row["lead_id"] for row in rows)
    return {r["id"]: r for r in db.fetch_all(cur, queries.LEADS_FOR_CALL_DATA, {"ids": ids})}


def call_data_for(
    lead: Mapping[str, Any], row: Mapping[str, Any], mapping: Mapping[str, str], row_id: int
) -> dict[str, Any]:
    """The agent's variables for one call: the lead through the configured mapping
    (call_data.build_call_data: sanitised, size-bounded, our callRef first), plus the lead
    id and the attempt number, which the webhook matches calls by (always ours: a lead's
    call_data key of the same name never replaces them)."""
    data: dict[str, Any] = build_call_data(lead, mapping, row_id)
    data["lead_id"] = row["lead_id"]
    data["attempt"] = row["attempt_number"]
    return data


def preflight_claims(claims: Sequence[Claim], run_id: str, counts: PlaceCounts) -> list[Claim]:
    """Re-check each claim under its lead's lock with a fresh clock; return those to POST now.

    Runs in one short transaction (leads locked in id order). A claim this run no longer
    holds (released by another run after its lease expired) is skipped; refused ones are
    settled here without counting an attempt.
    """
    ordered = sorted(claims, key=lambda c: c.lead_id)

    def work(cur) -> tuple[list[Claim], dict[str, int]]:
        config = scheduler_config.get_config(cur, max_age=PREFLIGHT_CONFIG_MAX_AGE)
        wt = config.working_time
        lease_minutes = config.setting("claim_lease_minutes")
        go: list[Claim] = []
        tally = {"deferred": 0, "dropped": 0, "lost": 0}
        for claim in ordered:
            try:
                lead = lock_lead(cur, claim.lead_id)
            except LeadNotFoundError:
                tally["lost"] += 1
                continue
            facts = db.fetch_one(
                cur, queries.PREFLIGHT_CALL, {"row_id": claim.row_id, "phone": claim.phone}
            )
            if facts is None or facts["state"] != "claimed" or facts["run_id"] != run_id:
                tally["lost"] += 1
                continue
            now = utc_now()
            frame = lead_frame(lead, wt)
            working = is_working_instant(now, wt, **frame)
            verdict = preflight(
                lead_open=is_open(lead),
                manual=bool(lead["manual_management"]),
                demo=bool(lead["is_demo"]),
                on_do_not_call=bool(facts["on_do_not_call"]),
                other_in_flight=bool(facts["other_in_flight"]),
                working_now=working,
                next_working=None if working else next_working_instant(now, wt, **frame),
            )
            if verdict.kind == "go":
                db.execute(
                    cur,
                    queries.MARK_CALL_PLACING,
                    {
                        "row_id": claim.row_id,
                        "run_id": run_id,
                        "now": to_db(now),
                        "lease": to_db(now + timedelta(minutes=lease_minutes)),
                    },
                )
                db.execute(cur, queries.MARK_LEAD_CALLING, {"lead_id": claim.lead_id})
                go.append(claim)
                continue
            _not_placed(cur, claim.row_id, Event.PREFLIGHT_REFUSED, verdict.reason, now)
            if verdict.kind == "defer":
                put_pending(
                    cur, claim.lead_id, verdict.when, claim.attempt_number, claim.last_outcome, now
                )
                db.execute(
                    cur,
                    queries.SET_LEAD_CALL_STATUS,
                    {
                        "lead_id": claim.lead_id,
                        "call_status": claim.previous_call_status,
                        "message": None,
                    },
                )
                tally["deferred"] += 1
            elif verdict.kind == "close":
                close_locked_lead(cur, claim.lead_id, verdict.reason, now)
                tally["dropped"] += 1
            else:
                tally["dropped"] += 1
            logger.info("lead %s: not dialled: %s", claim.lead_id, verdict.reason)
        return go, tally

    if not ordered:
        return []
    go, tally = db.run_in_transaction(work, name="pre-flight")
    counts.deferred += tally["deferred"]
    counts.dropped += tally["dropped"]
    counts.lost += tally["lost"]
    return sorted(go, key=lambda c: claims.index(c))


def _not_placed(cur, row_id: int, event: Event, message: str, now: datetime) -> int:
    return db.execute(
        cur,
        queries.MARK_CALL_NOT_PLACED,
        {
            "row_id": row_id,
            "message": message[:500],
            "now": to_db(now),
            "from_states": sources(event),
        },
    )


def place_one(claim: Claim, client: PearlClient, outbound_id: str) -> tuple[str, str]:
    """POST one call that passed its pre-flight; returns (kind, detail).

    kind: 'placed' (detail = request id, saved when possible), 'refused' (provably not
    placed), 'auth' (401/403/404: configuration), 'uncertain' (may have reached Pearl).
    """
    data = {**claim.call_data, "callRef": claim.row_id}
    try:
        request_id = client.make_call(outbound_id, claim.phone, data)
    except PearlAuthError as exc:
        return "auth", str(exc)
    except PearlError as exc:
        if _is_configuration_error(exc):
            return "auth", str(exc)
        return ("uncertain" if exc.call_may_be_placed else "refused"), str(exc)
    except Exception as exc:  # a bug must not lose the lead, nor redial it
        logger.exception("unexpected error placing the call of lead %s", claim.lead_id)
        return "uncertain", type(exc).__name__
    try:
        save_placed(claim.row_id, claim.lead_id, request_id)
    except Exception:
        # The call is placed; the row stays 'placing' until its lease expires, then it is
        # 'uncertain' and reconciliation finds it by its callRef. Never redialled.
        logger.exception("could not record the placed call of lead %s", claim.lead_id)
    return "placed", request_id


def _is_configuration_error(exc: PearlError) -> bool:
    """A 404 on the POST means a wrong outbound id: a configuration error, like 401/403."""
    return type(exc).__name__ == "PearlNotFoundError" or getattr(exc, "status_code", None) == 404


def save_placed(row_id: int, lead_id: int, request_id: str, call_id: str | None = None) -> bool:
    """Record that Pearl has the call (placing/uncertain -> placed). Returns False when the
    row had already moved on (a webhook processed its result first)."""

    def work(cur) -> bool:
        now = utc_now()
        params = {
            "row_id": row_id,
            "request_id": request_id[:64],
            "call_id": (call_id or None) and str(call_id)[:64],
            "now": to_db(now),
        }
        try:
            return bool(db.execute(cur, queries.MARK_CALL_PLACED, params))
        except pymysql.err.IntegrityError:
            # Another row already holds this request id: the call was recorded there (a
            # webhook without our callRef). It keeps the call; this row is the duplicate.
            raise _DuplicateRequest from None

    try:
        return db.run_in_transaction(work, name=f"record placed call of lead {lead_id}")
    except _DuplicateRequest:
        db.run_in_transaction(
            lambda cur: db.execute(cur, queries.DELETE_IN_FLIGHT_DUPLICATE, (row_id,)),
            name=f"drop duplicate row of lead {lead_id}",
        )
        return False


class _DuplicateRequest(Exception):
    pass


def settle_refused(claim: Claim, message: str, *, count_refusal: bool = True) -> str:
    """Pearl provably did not place the call: no attempt counted. The lead returns to pending
    after place_failure_delay_minutes, or goes to manual review after max_refusals
    consecutive refusals. Returns 'retry', 'review' or 'settled' (nothing left to do)."""

    def work(cur) -> str:
        lead = lock_lead(cur, claim.lead_id)
        now = utc_now()
        if not _not_placed(cur, claim.row_id, Event.REFUSED, f"not placed: {message}", now):
            return "settled"
        config = scheduler_config.get_config(cur)
        masked = mask_digits(message)[:500]
        verdict = "retry"
        if count_refusal:
            db.execute(cur, queries.COUNT_REFUSAL, {"lead_id": claim.lead_id, "message": masked})
            verdict = refusal_verdict(
                lead_refusals(cur, claim.lead_id), int(config.setting("max_refusals"))
            )
        if not is_open(lead) or lead["manual_management"]:
            return "settled"
        db.execute(
            cur,
            queries.SET_LEAD_CALL_STATUS,
            {"lead_id": claim.lead_id, "call_status": "error", "message": masked},
        )
        if verdict == "review":
            db.execute(
                cur,
                queries.PUT_LEAD_UNDER_REVIEW,
                {
                    "lead_id": claim.lead_id,
                    "status_level_1": REVIEW_STATUS,
                    "status_level_2": REVIEW_REFUSED,
                    "message": masked,
                },
            )
            return "review"
        delay = config.setting("place_failure_delay_minutes") if count_refusal else 0
        when = next_call_time(lead, now + timedelta(minutes=delay), config)
        put_pending(cur, claim.lead_id, when, claim.attempt_number, claim.last_outcome, now)
        return "retry"

    return db.run_in_transaction(work, name=f"settle refused call of lead {claim.lead_id}")


def lead_refusals(cur, lead_id: int) -> int:
    row = db.fetch_one(cur, queries.LEAD_REFUSALS, (lead_id,))
    return int(row["consecutive_refusals"]) if row else 0


def mark_uncertain(claim: Claim, message: str) -> bool:
    """The POST may have reached Pearl: the call waits for reconciliation, never a redial."""

    def work(cur) -> bool:
        return bool(
            db.execute(
                cur,
                queries.MARK_CALL_UNCERTAIN,
                {"row_id": claim.row_id, "message": mask_digits(message)[:500]},
            )
        )

    return db.run_in_transaction(work, name=f"mark call of lead {claim.lead_id} uncertain")


def release_claims(claims: Sequence[Claim], run_id: str | None) -> int:
    """Undo claims that never reached their pre-flight: the schedule goes back to pending as
    it was, unless the lead is closed, under manual management or has a pending call. Only
    claims this run holds, or (run_id None) claims whose lease expired."""
    released = 0
    for claim in claims:

        def work(cur, claim=claim) -> int:
            lead = lock_lead(cur, claim.lead_id)
            now = utc_now()
            if not db.execute(
                cur,
                queries.RELEASE_CLAIM,
                {"row_id": claim.row_id, "run_id": run_id, "now": to_db(now)},
            ):
                return 0
            if (
                is_open(lead)
                and not lead["manual_management"]
                and lead["pending_schedule_id"] is None
                and claim.schedule_id is not None
            ):
                db.execute(cur, queries.RESTORE_SCHEDULE, (claim.schedule_id,))
            if is_open(lead) and claim.previous_call_status is not None:
                db.execute(
                    cur,
                    queries.SET_LEAD_CALL_STATUS,
                    {
                        "lead_id": claim.lead_id,
                        "call_status": claim.previous_call_status,
                        "message": None,
                    },
                )
            return 1

        try:
            released += db.run_in_transaction(work, name=f"release claim of lead {claim.lead_id}")
        except LeadNotFoundError:
            continue
    return released
