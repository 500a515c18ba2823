"""Collecting: what became of calls in flight (`call_lifecycle.py` from `placing` on).

One pass, bounded by `collect_budget_seconds` so it can never delay placing for long:

1. Leases: a `placing` call whose lease expired becomes `uncertain` (its POST may have
   reached Pearl); a `claimed` call whose lease expired is released (it never reached the
   pre-flight, so nothing was sent).
2. Placed calls: polled from Pearl (at most `workers` at once); a final result is
   processed; one with no result after `call_result_timeout_minutes` is settled
   provisionally as `error` (its real result, if it comes, replaces that settlement).
3. Uncertain calls: reconciled with Pearl's call-request listing by our `callRef`:
   found -> placed; provably absent after `reconcile_grace_minutes` -> not placed (no
   attempt, pending again); Pearl unreachable -> left uncertain (no new call to that lead)
   until `uncertain_max_hours`, then counted once as `error`.

A row whose processing fails is isolated: the others are still collected and due calls
still placed. After `max_processing_failures` failures it is quarantined and its lead goes
to manual review, never stranded.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import db
import queries
import scheduler_config
from call_lifecycle import Event, sources, uncertain_verdict
from call_manager_scheduler_integration import FINAL_PEARL_STATUSES, process_call_result
from clock import from_db, to_db, utc_now
from dispatch_place import REVIEW_STATUS, Claim, release_claims, save_placed
from pearl_client import CallRequestStatus, PearlAuthError, PearlClient, PearlError
from phone import InvalidPhoneError, mask_digits, normalize_phone
from reprogramar_llamadas_simple import (
    LeadNotFoundError,
    is_open,
    lock_lead,
    next_call_time,
    put_pending,
)

logger = logging.getLogger(__name__)

COLLECT_LIMIT = 500
REVIEW_QUARANTINED = "Resultado en cuarentena"
# How far before a call's pre-flight to look for it in Pearl's listing (clock skew margin).
LISTING_MARGIN = timedelta(minutes=5)


@dataclass
class CollectCounts:
    """What one collect pass did."""

    collected: int = 0
    timed_out: int = 0
    released: int = 0
    reconciled: int = 0
    absent: int = 0
    given_up: int = 0
    failures: int = 0
    quarantined: int = 0
    deferred_to_next_run: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def collect_results(
    client: PearlClient | None,
    outbound_id: str | None,
    counts: CollectCounts,
    *,
    workers: int = 5,
    budget_seconds: float | None = None,
) -> None:
    """One collect pass (see the module docstring). Raises PearlAuthError on 401/403 and
    db.DatabaseError when the database is unusable; every other error stays with its row."""
    config = db.run_in_transaction(scheduler_config.get_config, name="read collect settings")
    budget = (
        budget_seconds if budget_seconds is not None else config.setting("collect_budget_seconds")
    )
    deadline = time.monotonic() + budget
    _expire_leases(counts)
    placed = _calls_in_state("placed")
    _for_each(placed, lambda row: _collect_placed(client, row, config, counts), workers,
              deadline, counts)  # fmt: skip
    uncertain = _calls_in_state("uncertain")
    if uncertain:
        _reconcile(client, outbound_id, uncertain, config, counts, deadline)


def _calls_in_state(state: str) -> list[dict]:
    # run_in_transaction, not transaction(): on a multi-writer cluster even a read can be
    # aborted by a conflict (1213), and it must be retried, not fail the run.
    return db.run_in_transaction(
        lambda cur: db.fetch_all(
            cur, queries.CALLS_IN_STATE, {"state": state, "limit": COLLECT_LIMIT}
        ),
        name=f"read {state} calls",
    )


def _expire_leases(counts: CollectCounts) -> None:
    def work(cur) -> list[dict]:
        now = to_db(utc_now())
        moved = db.execute(cur, queries.EXPIRE_PLACING_LEASES, {"now": now})
        if moved:
            logger.warning(
                "%d call(s) lost their run between pre-flight and save: uncertain", moved
            )
        return db.fetch_all(cur, queries.EXPIRED_CLAIMS, {"now": now, "limit": COLLECT_LIMIT})

    expired = db.run_in_transaction(work, name="expire leases")
    claims = [Claim(r["schedule_id"], r["lead_id"], r["id"], "", {}, None, None) for r in expired]
    counts.released += release_claims(claims, None)


def _for_each(
    rows: list[dict],
    handle: Callable[[dict], None],
    workers: int,
    deadline: float,
    counts: CollectCounts,
) -> None:
    """Run `handle` on every row, `workers` at a time, starting none after `deadline`; a
    failing row is recorded against itself and never stops the others."""

    def guarded(row: dict) -> None:
        if time.monotonic() > deadline:
            counts.deferred_to_next_run += 1
            return
        try:
            handle(row)
        except (PearlAuthError, db.DatabaseUnavailableError, db.CommitUnknownError):
            raise
        except LeadNotFoundError:
            logger.info("lead %s disappeared while its call was in flight", row["lead_id"])
        except Exception as exc:
            record_processing_failure(row, exc, counts)
        finally:
            if workers > 1:
                db.close_connection()

    if workers <= 1 or len(rows) <= 1:
        for row in rows:
            guarded(row)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
        for future in [pool.submit(guarded, row) for row in rows]:
            future.result()


def record_processing_failure(row: dict, exc: BaseException, counts: CollectCounts) -> None:
    """Count one failure against the row; quarantine it (lead to manual review) at the limit."""
    message = mask_digits(f"{type(exc).__name__}: {exc}")[:500]
    logger.error(
        "call %s of lead %s could not be processed: %s", row["id"], row["lead_id"], message
    )
    counts.failures += 1

    def work(cur) -> bool:
        lock_lead(cur, row["lead_id"])
        db.execute(
            cur, queries.RECORD_PROCESSING_FAILURE, {"row_id": row["id"], "message": message}
        )
        limit = int(scheduler_config.get_config(cur).setting("max_processing_failures"))
        if not db.execute(
            cur, queries.QUARANTINE_CALL, {"row_id": row["id"], "max_failures": limit}
        ):
            return False
        db.execute(
            cur,
            queries.PUT_LEAD_UNDER_REVIEW,
            {
                "lead_id": row["lead_id"],
                "status_level_1": REVIEW_STATUS,
                "status_level_2": REVIEW_QUARANTINED,
                "message": message,
            },
        )
        return True

    try:
        if db.run_in_transaction(work, name=f"record failure of call {row['id']}"):
            counts.quarantined += 1
            logger.error(
                "call %s quarantined; lead %s under manual review", row["id"], row["lead_id"]
            )
    except LeadNotFoundError:
        pass


# --- placed calls ---------------------------------------------------------------------------


def _poll(client: PearlClient, row: dict) -> tuple[dict, dict | None] | None:
    """Ask Pearl about one placed call: (call_result, pearl_response) once it is over."""
    request_id = row["request_id"]
    request = client.get_call_request(request_id)
    status = request.get("status")
    if status == CallRequestStatus.BLACKLISTED:
        return {"outcome": "blacklisted", "request_id": request_id}, None
    if status == CallRequestStatus.ERROR:
        message = json.dumps(request.get("errors"), default=str)[:400]
        return {"outcome": "error", "error_message": message, "request_id": request_id}, None
    call_id = request.get("callId") or row["call_id"]
    if not call_id:
        return None
    call = client.get_call(str(call_id))
    if call.get("status") not in FINAL_PEARL_STATUSES:
        return None
    return {"request_id": request_id}, call


def _collect_placed(
    client: PearlClient | None, row: dict, config: Any, counts: CollectCounts
) -> None:
    if row["request_id"] and client is not None:
        try:
            finished = _poll(client, row)
        except PearlAuthError:
            raise
        except (PearlError, ValueError) as exc:
            # Still subject to the timeout below: a call Pearl cannot report on (unknown id,
            # Pearl down, an id the client refuses) must not stay in flight for ever.
            logger.warning("could not read call %s from Pearl: %s", row["id"], exc)
            finished = None
        if finished is not None:
            result = process_call_result(row["lead_id"], *finished, row_id=row["id"])
            counts.collected += 1
            counts.outcomes[result.outcome] = counts.outcomes.get(result.outcome, 0) + 1
            return
    timeout = config.setting("call_result_timeout_minutes")
    since = from_db(row["placed_at"] or row["placing_at"] or row["claimed_at"])
    if utc_now() - since < timedelta(minutes=timeout):
        return
    counts.timed_out += 1
    process_call_result(
        row["lead_id"],
        {
            "outcome": "error",
            "error_message": f"no result from Pearl after {timeout:g} minutes",
            "request_id": row["request_id"],
        },
        row_id=row["id"],
        provisional=True,
    )


# --- uncertain calls ------------------------------------------------------------------------


@dataclass
class _Listing:
    """Pearl's call requests of a time range: by our callRef, and unclaimed ones by number."""

    by_ref: dict[int, Mapping[str, Any]]
    by_phone: dict[str, list[Mapping[str, Any]]]

    def find(self, row: dict) -> Mapping[str, Any] | None:
        """The request of an uncertain row: its callRef, else the only request to its number
        that no row owns (Pearl's listing may not echo callData: a call to the person must
        never be taken for absent)."""
        if row["id"] in self.by_ref:
            return self.by_ref[row["id"]]
        candidates = self.by_phone.get(normalized(row.get("telefono")) or "", [])
        return candidates[0] if candidates else None


def normalized(phone: Any) -> str | None:
    if not isinstance(phone, str):
        return None
    try:
        return normalize_phone(phone, os.environ.get("PEARL_DEFAULT_REGION", "").strip() or "ES")
    except InvalidPhoneError:
        return None


def _listing(
    client: PearlClient, outbound_id: str, rows: list[dict], deadline: float
) -> _Listing | None:
    """Pearl's call requests covering these rows; None if it could not be read whole."""
    starts = [from_db(r["placing_at"] or r["claimed_at"]) for r in rows]
    since = min(starts) - LISTING_MARGIN
    # A clock set back since the POST must not make the range empty (nor invalid).
    until = max(utc_now(), max(starts)) + LISTING_MARGIN
    requests: list[Mapping[str, Any]] = []
    try:
        for request in client.iter_call_requests(outbound_id, since, until):
            if time.monotonic() > deadline:
                return None
            requests.append(request)
    except PearlAuthError:
        raise
    except PearlError as exc:
        logger.warning("cannot reconcile uncertain calls now: Pearl's listing failed: %s", exc)
        return None
    by_ref = {ref: r for r in requests if (ref := _ref_of(r)) is not None}
    ids = tuple(str(r.get("id")) for r in requests if r.get("id"))
    known: set[str] = set()
    if ids:
        rows = db.run_in_transaction(
            lambda cur: db.fetch_all(cur, queries.KNOWN_REQUEST_IDS, {"ids": ids}),
            name="known request ids",
        )
        known = {row["request_id"] for row in rows}
    by_phone: dict[str, list[Mapping[str, Any]]] = {}
    for request in requests:
        if _ref_of(request) is None and str(request.get("id")) not in known:
            number = normalized(request.get("to"))
            if number:
                by_phone.setdefault(number, []).append(request)
    return _Listing(by_ref, by_phone)


def _ref_of(request: Mapping[str, Any]) -> int | None:
    data = request.get("callData") or request.get("CallData")
    if not isinstance(data, Mapping):
        return None
    value = data.get("callRef", data.get("CallRef"))
    try:
        ref = int(str(value))
    except (TypeError, ValueError):
        return None
    return ref if ref > 0 else None


def _reconcile(
    client: PearlClient | None,
    outbound_id: str | None,
    rows: list[dict],
    config: Any,
    counts: CollectCounts,
    deadline: float,
) -> None:
    listing = None
    if client is not None and outbound_id:
        listing = _listing(client, outbound_id, rows, deadline)
    grace = timedelta(minutes=config.setting("reconcile_grace_minutes"))
    max_age = timedelta(hours=config.setting("uncertain_max_hours"))
    for row in rows:
        try:
            _settle_uncertain(row, listing, grace, max_age, counts)
        except (PearlAuthError, db.DatabaseUnavailableError, db.CommitUnknownError):
            raise
        except LeadNotFoundError:
            continue
        except Exception as exc:
            record_processing_failure(row, exc, counts)


def _settle_uncertain(
    row: dict,
    listing: _Listing | None,
    grace: timedelta,
    max_age: timedelta,
    counts: CollectCounts,
) -> None:
    request = listing.find(row) if listing is not None else None
    now = utc_now()
    verdict = uncertain_verdict(
        found=request is not None,
        listing_complete=listing is not None,
        placing_at=from_db(row["placing_at"]),
        now=now,
        grace=grace,
        max_age=max_age,
    )
    if verdict == "adopt":
        request_id = str(request.get("id") or request.get("Id") or "")
        if request_id and save_placed(row["id"], row["lead_id"], request_id, request.get("callId")):
            counts.reconciled += 1
            logger.info("call %s of lead %s found at Pearl: placed", row["id"], row["lead_id"])
    elif verdict == "absent":
        if give_back(row["id"], row["lead_id"], "never reached Pearl (reconciled)", Event.ABSENT):
            counts.absent += 1
    elif verdict == "give_up":
        counts.given_up += 1
        process_call_result(
            row["lead_id"],
            {"outcome": "error", "error_message": "call placement never confirmed by Pearl"},
            row_id=row["id"],
            provisional=True,
        )


def give_back(
    row_id: int, lead_id: int, message: str, event: Event, earliest: datetime | None = None
) -> bool:
    """A call that provably never reached the person: not placed, no attempt counted, and
    the lead pending again at the first working instant from `earliest` (default now) —
    unless it is closed or under manual management. False when the row had moved on."""

    def work(cur) -> bool:
        lead = lock_lead(cur, lead_id)
        now = utc_now()
        if not db.execute(
            cur,
            queries.MARK_CALL_NOT_PLACED,
            {
                "row_id": row_id,
                "message": message[:500],
                "now": to_db(now),
                "from_states": sources(event),
            },
        ):
            return False
        if is_open(lead) and not lead["manual_management"]:
            config = scheduler_config.get_config(cur)
            when = next_call_time(lead, max(earliest or now, now), config)
            put_pending(cur, lead_id, when, lead["call_attempts_count"] + 1, None, now)
            db.execute(
                cur,
                queries.SET_LEAD_CALL_STATUS,
                {"lead_id": lead_id, "call_status": "error", "message": None},
            )
        return True

    return db.run_in_transaction(work, name=f"give back call of lead {lead_id}")
