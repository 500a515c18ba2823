"""The cron dispatcher: collect results of earlier calls, claim due calls, place them.

One run (the seed's "Procesamiento de Llamadas Programadas"):

1. Collect: poll Pearl for calls in flight and hand each finished one to
   `process_call_result`. A call with no result after
   `call_result_timeout_minutes` is given up: never placed (no request id) ->
   the lead goes back to pending without counting an attempt; placed -> it is
   processed as outcome `error`.
2. Claim: the seed's pending query with FOR UPDATE SKIP LOCKED, so overlapping
   runs never claim the same call. In the same transaction the call is marked
   'completed', the lead 'calling', and its pearl_calls row created in flight.
   A due call outside the lead's working time is moved, not dialled; a lead
   whose number cannot be normalised is closed as 'Teléfono erróneo'.
3. Place: at most --max-concurrent calls at once. A call Pearl refused or that
   could not be sent counts no attempt and goes back to pending; a call whose
   answer never came may have dialled the person, so it is processed as
   `error` and never resent at once. 401/403 stop the run and put the unplaced
   claims back.

Exit codes: 0 done; 2 configuration unusable (no API key, 401/403); 3 database
unavailable. `--simulate` places no real call: each claimed call gets a
simulated Pearl result, processed at once.

    python despachar_llamadas.py                 # from cron, every minute
    python despachar_llamadas.py --dry-run       # what would be dialled now
    python despachar_llamadas.py --simulate --seed 7 --json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import db
import queries
import scheduler_config
from call_manager_scheduler_integration import CLOSURE_INVALID_PHONE, process_call_result
from clock import from_db, to_db, utc_now
from pearl_client import (
    CallRequestStatus,
    PearlAuthError,
    PearlClient,
    PearlConfigError,
    PearlError,
    PearlSettings,
)
from phone import InvalidPhoneError, mask_phone, normalize_phone
from reprogramar_llamadas_simple import (
    LeadNotFoundError,
    close_locked_lead,
    is_open,
    lead_zone,
    lock_lead,
    next_call_time,
    put_pending,
)
from working_time import WorkingTime, is_working_instant, next_working_instant

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
DEFAULT_MAX_CONCURRENT = 5
COLLECT_LIMIT = 500
FINISHED_CALL_STATUSES = frozenset({4, 5, 6, 7, 8})
# Simulated outcomes and their default shares (the seed's "modo simulación").
DEFAULT_SIMULATION_MIX: Mapping[str, float] = {
    "busy": 0.20,
    "no_answer": 0.25,
    "voicemail": 0.15,
    "appointment": 0.15,
    "not_interested": 0.15,
    "invalid_phone": 0.10,
}
EXIT_OK, EXIT_CONFIG, EXIT_DATABASE = 0, 2, 3


class DispatchConfigError(RuntimeError):
    """The run cannot place calls: missing settings or Pearl refused the credentials."""


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


@dataclass
class DispatchSummary:
    """What one run did. `would_dial` is filled by dry runs only."""

    collected: int = 0
    timed_out: int = 0
    claimed: int = 0
    placed: int = 0
    deferred: int = 0
    failed: int = 0
    uncertain: int = 0
    invalid_phone: int = 0
    released: int = 0
    dry_run: bool = False
    simulate: bool = False
    would_dial: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        """The one-line report printed by the script."""
        mode = " (dry run)" if self.dry_run else " (simulation)" if self.simulate else ""
        text = (
            f"results collected {self.collected} (timed out {self.timed_out}), "
            f"claimed {self.claimed}, placed {self.placed}, deferred {self.deferred}, "
            f"failed {self.failed}, uncertain {self.uncertain}, "
            f"invalid phone {self.invalid_phone}, released {self.released}{mode}"
        )
        if self.dry_run:
            text = (
                f"would dial {len(self.would_dial)}, would defer {self.deferred}, "
                f"would close {self.invalid_phone} for an invalid phone{mode}"
            )
        return text + (f"; error: {self.error}" if self.error else "")


# --- collecting results -------------------------------------------------------------------


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
    if call.get("status") not in FINISHED_CALL_STATUSES:
        return None
    return {"request_id": request_id}, call


def give_back(
    row_id: int, lead_id: int, earliest: datetime, message: str, last_outcome: str | None = None
) -> bool:
    """A call that never reached the person: record it as not placed and put the lead back to
    pending at the first working instant from `earliest`, counting no attempt. Returns False
    when the call was already settled by someone else."""

    def work(cur) -> bool:
        lead = lock_lead(cur, lead_id)
        now = utc_now()
        if not db.execute(
            cur,
            queries.MARK_CALL_NOT_PLACED,
            {"row_id": row_id, "message": message, "now": to_db(now)},
        ):
            return False
        db.execute(
            cur,
            queries.SET_LEAD_CALL_STATUS,
            {"lead_id": lead_id, "call_status": "error", "message": message[:500]},
        )
        if is_open(lead) and not lead["manual_management"]:
            config = scheduler_config.get_config(cur)
            when = next_call_time(lead, max(earliest, now), config)
            put_pending(cur, lead_id, when, lead["call_attempts_count"] + 1, last_outcome, now)
        return True

    return db.run_in_transaction(work, name=f"give back call of lead {lead_id}")


def collect_results(client: PearlClient | None, now: datetime, summary: DispatchSummary) -> None:
    """Process finished in-flight calls and give up on those past the timeout."""
    with db.transaction("read in-flight calls") as cur:
        rows = db.fetch_all(cur, queries.IN_FLIGHT_CALLS, {"limit": COLLECT_LIMIT})
        timeout = scheduler_config.get_config(cur).setting("call_result_timeout_minutes")
    for row in rows:
        try:
            _collect_one(client, row, now, timeout, summary)
        except LeadNotFoundError:
            logger.info("lead %s disappeared while its call was in flight", row["lead_id"])


def _collect_one(
    client: PearlClient | None, row: dict, now: datetime, timeout: float, summary: DispatchSummary
) -> None:
    if row["request_id"] and client is not None:
        try:
            finished = _poll(client, row)
        except PearlAuthError:
            raise
        except (PearlError, ValueError) as exc:
            # Still subject to the timeout below: a call Pearl cannot report on (unknown id,
            # Pearl down, an id the client refuses) must not stay in flight forever.
            logger.warning("could not read call %s from Pearl: %s", row["id"], exc)
            finished = None
        if finished is not None:
            process_call_result(row["lead_id"], *finished, row_id=row["id"])
            summary.collected += 1
            return
    if now - from_db(row["claimed_at"]) < timedelta(minutes=timeout):
        return
    summary.timed_out += 1
    if not row["request_id"]:
        give_back(row["id"], row["lead_id"], now, "never placed: the dispatcher stopped first")
        return
    message = f"no result from Pearl after {timeout:g} minutes"
    process_call_result(
        row["lead_id"],
        {"outcome": "error", "error_message": message, "request_id": row["request_id"]},
        row_id=row["id"],
    )


# --- claiming --------------------------------------------------------------------------------


def _row_zone(row: dict, working_time: WorkingTime) -> ZoneInfo:
    """The working-time zone of a due-call row (whose own `id` is the schedule's)."""
    return lead_zone({"id": row["lead_id"], "timezone": row["timezone"]}, working_time)


def phone_region(client: PearlClient | None) -> str:
    """The region for numbers written without a country code: the client's, else
    PEARL_DEFAULT_REGION, else ES."""
    if client is not None:
        return client.settings.default_region
    return os.environ.get("PEARL_DEFAULT_REGION", "").strip() or "ES"


def claim_due_calls(
    now: datetime, limit: int, region: str, summary: DispatchSummary
) -> list[Claim]:
    """Claim up to `limit` due calls in one transaction (see the module docstring)."""

    def work(cur) -> tuple[list[Claim], int, int]:
        rows = db.fetch_all(cur, queries.CLAIM_DUE_CALLS, {"now": to_db(now), "limit": limit})
        if not rows:
            return [], 0, 0
        config = scheduler_config.get_config(cur)
        wt = config.working_time
        dial, deferred, invalid = [], 0, 0
        for row in rows:
            zone = _row_zone(row, wt)
            if not is_working_instant(now, wt, zone):
                when = next_working_instant(now, wt, zone)
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
        db.execute(cur, queries.MARK_LEADS_CALLING, {"ids": tuple(r["lead_id"] for r, _ in dial)})
        stamp = to_db(now)
        cur.executemany(
            queries.INSERT_CLAIMED_CALL.sql,
            [(row["lead_id"], row["id"], "claimed", stamp, stamp) for row, _ in dial],
        )
        row_ids = {
            r["schedule_id"]: r["id"]
            for r in db.fetch_all(cur, queries.CLAIMED_CALL_ROWS, {"ids": schedule_ids})
        }
        claims = [
            Claim(
                schedule_id=row["id"],
                lead_id=row["lead_id"],
                row_id=row_ids[row["id"]],
                phone=phone,
                call_data=_call_data(row),
                previous_call_status=row["call_status"],
                last_outcome=row.get("last_outcome"),
            )
            for row, phone in dial
        ]
        return claims, deferred, invalid

    claims, deferred, invalid = db.run_in_transaction(work, name="claim due calls")
    summary.claimed += len(claims)
    summary.deferred += deferred
    summary.invalid_phone += invalid
    return claims


def _call_data(row: dict) -> dict[str, Any]:
    data = {"lead_id": row["lead_id"], "attempt": row["attempt_number"]}
    for key in ("nombre", "apellidos"):
        if row.get(key):
            data[key] = str(row[key])[:200]
    return data


def release_claims(claims: Sequence[Claim]) -> int:
    """Undo claims that were never placed: each schedule back to pending as it was."""
    released = 0
    for claim in claims:

        def work(cur, claim=claim) -> int:
            lock_lead(cur, claim.lead_id)
            if not db.execute(cur, queries.DELETE_CLAIMED_CALL, (claim.row_id,)):
                return 0
            has_pending = db.fetch_one(cur, queries.PENDING_SCHEDULE_FOR_LEAD, (claim.lead_id,))
            if has_pending is None:
                db.execute(cur, queries.RESTORE_SCHEDULE, (claim.schedule_id,))
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


# --- threads ------------------------------------------------------------------------------

T = TypeVar("T")
R = TypeVar("R")


def run_in_threads(items: Sequence[T], work: Callable[[T], R], workers: int) -> list[R]:
    """Apply `work` to every item on at most `workers` threads; results in item order.

    Each thread takes every workers-th item, reuses one database connection for all of
    them and closes it when done. The first exception is raised after every thread ends.
    """
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []

    def lane(start: int) -> None:
        try:
            for index in range(start, len(items), workers):
                results[index] = work(items[index])
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close_connection()

    if len(items) <= 1 or workers == 1:
        return [work(item) for item in items]
    threads = [
        threading.Thread(target=lane, args=(i,), name=f"dispatch-{i}")
        for i in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# --- placing ---------------------------------------------------------------------------------


def _mark_placed(claim: Claim, request_id: str) -> None:
    def work(cur) -> None:
        db.execute(
            cur,
            queries.MARK_CALL_PLACED,
            {"row_id": claim.row_id, "request_id": request_id[:64], "now": to_db(utc_now())},
        )

    db.run_in_transaction(work, name=f"record placed call of lead {claim.lead_id}")


def place_calls(
    claims: Sequence[Claim],
    client: PearlClient,
    outbound_id: str,
    max_concurrent: int,
    summary: DispatchSummary,
) -> None:
    """Place the claimed calls through Pearl, then settle every one that was not placed.

    Raises DispatchConfigError after undoing unplaced claims when Pearl answers 401/403.
    """
    stop = threading.Event()
    failure_delay = None

    def place(claim: Claim) -> tuple[str, Claim, str]:
        if stop.is_set():
            return "unplaced", claim, ""
        try:
            request_id = client.make_call(outbound_id, claim.phone, claim.call_data)
        except PearlAuthError as exc:
            stop.set()
            return "auth", claim, str(exc)
        except PearlError as exc:
            return ("uncertain" if exc.call_may_be_placed else "refused"), claim, str(exc)
        except Exception as exc:  # a bug must not lose the lead: settle it as uncertain
            logger.exception("unexpected error placing the call of lead %s", claim.lead_id)
            return "uncertain", claim, f"{type(exc).__name__}"
        try:
            _mark_placed(claim, request_id)
        except Exception:
            # The call is placed; the row stays 'claimed' and the timeout settles it later.
            # Settling the other claims of this run matters more than this one record.
            logger.exception("could not record the placed call of lead %s", claim.lead_id)
        return "placed", claim, request_id

    outcomes = run_in_threads(claims, place, max_concurrent)

    unplaced = [claim for kind, claim, _ in outcomes if kind in ("auth", "unplaced")]
    auth_message = next((msg for kind, _, msg in outcomes if kind == "auth"), None)
    for kind, claim, detail in outcomes:
        if kind == "placed":
            summary.placed += 1
        elif kind == "refused":
            if failure_delay is None:
                failure_delay = scheduler_config.get_config().setting("place_failure_delay_minutes")
            earliest = utc_now() + timedelta(minutes=failure_delay)
            give_back(
                claim.row_id,
                claim.lead_id,
                earliest,
                f"not placed: {detail}"[:500],
                claim.last_outcome,
            )
            summary.failed += 1
        elif kind == "uncertain":
            # The person may have been dialled: count it, retry after the error delay.
            message = f"call may have been placed, no answer from Pearl: {detail}"[:500]
            process_call_result(
                claim.lead_id, {"outcome": "error", "error_message": message}, row_id=claim.row_id
            )
            summary.uncertain += 1
    if unplaced:
        summary.released += release_claims(unplaced)
    if auth_message is not None:
        raise DispatchConfigError(f"Pearl refused the credentials: {auth_message}")


# --- simulation ------------------------------------------------------------------------------


def parse_mix(text: str) -> dict[str, float]:
    """'busy=0.2,no_answer=0.3' -> shares; raises ValueError for unknown names or bad numbers."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in DEFAULT_SIMULATION_MIX:
            raise ValueError(
                f"--mix takes NAME=SHARE with NAME in {', '.join(DEFAULT_SIMULATION_MIX)}"
            )
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"--mix share for {name} is not a number: {value!r}") from None
        if not 0 <= share <= 1e6:
            raise ValueError(f"--mix share for {name} must be >= 0")
        mix[name] = share
    if sum(mix.values()) <= 0:
        raise ValueError("--mix needs at least one positive share")
    return mix


def simulated_call(kind: str, call_id: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    """A Pearl call object as Pearl would report a call of that kind."""
    base: dict[str, Any] = {
        "id": call_id,
        "duration": rng.randint(0, 240),
        "summary": "Simulated call",
    }
    if kind == "busy":
        return {**base, "status": 5, "duration": 0}
    if kind == "no_answer":
        return {**base, "status": 7, "duration": 0}
    if kind == "voicemail":
        return {**base, "status": 4, "conversationStatus": 70}
    if kind == "not_interested":
        return {**base, "status": 4, "conversationStatus": 110}
    if kind == "invalid_phone":
        return {**base, "status": 6, "conversationStatus": 150, "duration": 0}
    day = (now + timedelta(days=rng.randint(1, 10))).strftime("%d-%m-%Y")
    hour = f"{rng.randint(10, 18):02d}:{rng.choice(('00', '30'))}"
    return {
        **base,
        "status": 4,
        "conversationStatus": 100,
        "collectedInfo": [
            {"id": "fechaDeseada", "name": "Fecha deseada", "value": day},
            {"id": "horaDeseada", "name": "Hora deseada", "value": hour},
            {"id": "callResult", "name": "Resultado", "value": "Cita reservada"},
        ],
    }


def simulate_calls(
    claims: Sequence[Claim], rng: random.Random, mix: Mapping[str, float], now: datetime,
    summary: DispatchSummary, max_concurrent: int = DEFAULT_MAX_CONCURRENT,
) -> None:  # fmt: skip
    """Give each claimed call a simulated result and process them at once, `max_concurrent`
    at a time like real calls. Outcomes are drawn in claim order, so `seed` reproduces them."""
    kinds, weights = list(mix), list(mix.values())
    calls = [
        (
            claim,
            simulated_call(rng.choices(kinds, weights)[0], f"sim-call-{claim.row_id}", rng, now),
        )
        for claim in claims
    ]

    def process(item: tuple[Claim, dict]) -> None:
        claim, call = item
        try:
            process_call_result(claim.lead_id, {}, call, row_id=claim.row_id)
        except LeadNotFoundError:
            logger.info("lead %s disappeared before its simulated result", claim.lead_id)

    run_in_threads(calls, process, max_concurrent)
    summary.placed += len(calls)
    summary.collected += len(calls)


# --- one run ---------------------------------------------------------------------------------


def preview_due_calls(now: datetime, limit: int, region: str, summary: DispatchSummary) -> None:
    """Dry run: list what would be dialled now and what would be deferred; write nothing."""
    with db.transaction("dry run") as cur:
        rows = db.fetch_all(cur, queries.PENDING_DUE_CALLS, {"now": to_db(now), "limit": limit})
        wt = scheduler_config.get_config(cur).working_time
    for row in rows:
        if not is_working_instant(now, wt, _row_zone(row, wt)):
            summary.deferred += 1
            continue
        try:
            normalize_phone(row["telefono"] or "", region)
        except InvalidPhoneError:
            summary.invalid_phone += 1
            continue
        summary.would_dial.append(
            {
                "schedule_id": row["id"],
                "lead_id": row["lead_id"],
                "telefono": mask_phone(row["telefono"]),
                "scheduled_at": from_db(row["scheduled_at"]).isoformat(),
                "attempt_number": row["attempt_number"],
            }
        )


def dispatch_due_calls(
    *,
    limit: int = DEFAULT_LIMIT,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    dry_run: bool = False,
    simulate: bool = False,
    seed: int | None = None,
    mix: Mapping[str, float] | None = None,
    now: datetime | None = None,
    client: PearlClient | None = None,
    outbound_id: str | None = None,
) -> DispatchSummary:
    """Run one dispatch cycle and return its summary.

    Real calls need `client` and `outbound_id` (see `main` for building them from
    the environment). When Pearl answers 401/403 the unplaced claims are given
    back and the summary's `error` says why. Raises ValueError for bad
    arguments, DispatchConfigError when there is no client or outbound id,
    PearlAuthError when collecting results hits 401/403, db.DatabaseError when
    the database is unusable.
    """
    for name, value, top in (("limit", limit, 10_000), ("max_concurrent", max_concurrent, 100)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"{name} must be an integer from 1 to {top}, got {value!r}")
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("now must be an aware datetime")
    if not dry_run and not simulate and (client is None or not outbound_id):
        raise DispatchConfigError(
            "no Pearl client or outbound id: set PEARL_API_KEY and PEARL_OUTBOUND_ID"
        )
    now = now or utc_now()
    summary = DispatchSummary(dry_run=dry_run, simulate=simulate)
    region = phone_region(client)
    if dry_run:
        preview_due_calls(now, limit, region, summary)
        return summary
    collect_results(None if simulate else client, now, summary)
    claims = claim_due_calls(now, limit, region, summary)
    if simulate:
        simulate_calls(
            claims, random.Random(seed), mix or DEFAULT_SIMULATION_MIX, now, summary,
            max_concurrent,
        )  # fmt: skip
    elif claims:
        try:
            place_calls(claims, client, outbound_id, max_concurrent, summary)
        except DispatchConfigError as exc:
            summary.error = str(exc)
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Place due scheduled calls through Pearl AI and collect their results.",
        epilog="cron: * * * * * cd /srv/llamadas && .venv/bin/python despachar_llamadas.py "
        ">> /var/log/llamadas/dispatch.log 2>&1",
    )
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="calls to claim (50)")
    parser.add_argument(
        "--max-concurrent", type=int, default=DEFAULT_MAX_CONCURRENT,
        help="calls placed at once (5; Pearl limits agents)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="show what would be dialled")
    parser.add_argument("--simulate", action="store_true", help="no real calls: simulated results")
    parser.add_argument("--seed", type=int, help="random seed for --simulate")
    parser.add_argument(
        "--mix", help="simulated shares, e.g. busy=0.2,no_answer=0.3,appointment=0.5"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--verbose", action="store_true", help="log every step")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    db.load_env_file()
    client = None
    try:
        mix = parse_mix(args.mix) if args.mix else None
        outbound_id = None
        if not args.dry_run and not args.simulate:
            try:
                settings = PearlSettings.from_env()
            except PearlConfigError as exc:
                raise DispatchConfigError(
                    f"{exc}; or run with --simulate to see the system work without calling anyone"
                ) from None
            outbound_id = settings.outbound_id
            if not outbound_id:
                raise DispatchConfigError(
                    "PEARL_OUTBOUND_ID is not set: it names the Pearl campaign"
                )
            client = PearlClient(settings)
        summary = dispatch_due_calls(
            limit=args.limit, max_concurrent=args.max_concurrent, dry_run=args.dry_run,
            simulate=args.simulate, seed=args.seed, mix=mix, client=client,
            outbound_id=outbound_id,
        )  # fmt: skip
    except (DispatchConfigError, PearlAuthError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except db.DatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    finally:
        if client is not None:
            client.close()
    print(json.dumps(asdict(summary), sort_keys=True) if args.json else summary.line())
    if summary.error:
        print(f"error: {summary.error}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
