"""The cron dispatcher: collect results of earlier calls, claim due calls, place them.

One run has an id; each step takes its own fresh clock (see call_lifecycle.py for the
states and transitions of a call):

1. Collect (dispatch_collect.py), bounded by `collect_budget_seconds`: expired leases,
   results of placed calls (polled, at most --max-concurrent at once), provisional
   settlement of calls past `call_result_timeout_minutes`, reconciliation of uncertain
   calls with Pearl by our callRef.
2. Claim (dispatch_place.py): the seed's pending query with FOR UPDATE SKIP LOCKED; each
   claim is stamped with the run id and a lease (`claim_lease_minutes`), so overlapping
   runs never take, release or settle each other's live claims.
3. Place: immediately before each POST, a pre-flight under the lead's lock with a fresh
   clock and configuration (open, not manual, not a self-test lead, not on the
   do-not-call list, no other call in flight, inside working time); then the POST. A
   refusal counts no attempt (after `max_refusals` in a row the lead goes to manual
   review); a POST that may have reached Pearl is `uncertain` and never resent; 401/403
   or 404 stop the run and give the unplaced claims back.

Exit codes: 0 done; 2 configuration unusable (no API key, 401/403, unknown outbound);
3 database unavailable. `--simulate` places no real call: each claimed call passes the
same pre-flight, then gets a simulated Pearl result, processed at once and marked
simulated.

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
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import db
import heartbeat
import queries
import scheduler_config
import script_errors
from call_manager_scheduler_integration import process_call_result
from clock import from_db, rehearsal_at, to_db, utc_now
from dispatch_collect import CollectCounts, collect_results
from dispatch_place import (
    Claim,
    PlaceCounts,
    claim_due_calls,
    mark_uncertain,
    place_one,
    preflight_claims,
    release_claims,
    settle_refused,
)
from operations import dispatch_paused, is_demo_database
from pearl_client import (
    PearlAccountUnusableError,
    PearlAuthError,
    PearlClient,
    PearlConfigError,
    PearlError,
    PearlSettings,
)
from phone import InvalidPhoneError, mask_phone, normalize_phone
from reprogramar_llamadas_simple import LeadNotFoundError, lead_frame
from working_time import is_working_instant, next_working_instant

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
DEFAULT_MAX_CONCURRENT = 5
# Simulated outcomes and their default shares (the seed's "modo simulación").
DEFAULT_SIMULATION_MIX: Mapping[str, float] = {
    "busy": 0.20,
    "no_answer": 0.25,
    "voicemail": 0.15,
    "appointment": 0.15,
    "not_interested": 0.15,
    "invalid_phone": 0.10,
}
# Pre-flights of simulated calls are batched this many at a time (no POST to wait for).
SIMULATION_PREFLIGHT_BATCH = 50
EXIT_OK, EXIT_ALERT, EXIT_CONFIG, EXIT_DATABASE = (
    script_errors.EXIT_OK,
    script_errors.EXIT_ALERT,
    script_errors.EXIT_CONFIG,
    script_errors.EXIT_DATABASE,
)

__all__ = ["Claim", "DispatchConfigError", "DispatchSummary", "dispatch_due_calls", "main"]


class DispatchConfigError(RuntimeError):
    """The run cannot place calls: missing settings or Pearl refused the credentials."""


@dataclass
class DispatchSummary:
    """What one run did. `would_dial` is filled by dry runs only."""

    run_id: str = ""
    collected: int = 0
    timed_out: int = 0
    claimed: int = 0
    placed: int = 0
    deferred: int = 0
    failed: int = 0
    uncertain: int = 0
    invalid_phone: int = 0
    released: int = 0
    dropped: int = 0
    lost: int = 0
    review: int = 0
    reconciled: int = 0
    not_placed_confirmed: int = 0
    given_up: int = 0
    processing_failures: int = 0
    quarantined: int = 0
    paused: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    simulate: bool = False
    would_dial: list[dict[str, Any]] = field(default_factory=list)
    would_defer: list[dict[str, Any]] = field(default_factory=list)
    would_close: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def count_outcome(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def all_placements_failed(self) -> bool:
        """Calls were to be placed and not one reached Pearl (an outage pages someone)."""
        return self.placed == 0 and (self.failed + self.uncertain) > 0

    def heartbeat(self) -> dict[str, Any]:
        """What the dispatcher_runs row keeps: `due` = calls the run meant to place now."""
        return {**asdict(self), "due": self.claimed}

    def add_place_counts(self, counts: PlaceCounts) -> None:
        self.deferred += counts.deferred
        self.dropped += counts.dropped
        self.lost += counts.lost

    def add_collect_counts(self, counts: CollectCounts) -> None:
        self.collected += counts.collected
        self.timed_out += counts.timed_out
        self.released += counts.released
        self.reconciled += counts.reconciled
        self.not_placed_confirmed += counts.absent
        self.given_up += counts.given_up
        self.processing_failures += counts.failures
        self.quarantined += counts.quarantined
        for outcome, n in counts.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n

    def line(self) -> str:
        """The one-line report printed by the script."""
        mode = " (dry run)" if self.dry_run else " (simulation)" if self.simulate else ""
        text = (
            f"results collected {self.collected} (timed out {self.timed_out}), "
            f"claimed {self.claimed}, placed {self.placed}, deferred {self.deferred}, "
            f"failed {self.failed}, uncertain {self.uncertain}, "
            f"invalid phone {self.invalid_phone}, released {self.released}, "
            f"not dialled {self.dropped}, reconciled {self.reconciled}, "
            f"quarantined {self.quarantined}{mode}"
        )
        if self.outcomes:
            text += "; outcomes " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        if self.paused:
            text += f"; paused: {self.paused}"
        if self.dry_run:
            text = (
                f"would dial {len(self.would_dial)}, would defer {self.deferred}, "
                f"would close {self.invalid_phone} for an invalid phone{mode}"
            )
        return text + (f"; error: {self.error}" if self.error else "")


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


def phone_region(client: PearlClient | None) -> str:
    """The region for numbers written without a country code: the client's, else
    PEARL_DEFAULT_REGION, else ES."""
    if client is not None:
        return client.settings.default_region
    return os.environ.get("PEARL_DEFAULT_REGION", "").strip() or "ES"


# --- placing ---------------------------------------------------------------------------------


def place_calls(
    claims: Sequence[Claim],
    client: PearlClient,
    outbound_id: str,
    max_concurrent: int,
    run_id: str,
    summary: DispatchSummary,
) -> None:
    """Pre-flight and POST each claim (at most `max_concurrent` at once), then settle those
    that were not placed. Raises DispatchConfigError after giving back the unplaced claims
    when Pearl refuses the credentials or the outbound (401/403/404)."""
    stop = threading.Event()
    counts = PlaceCounts()

    def place(claim: Claim) -> tuple[str, Claim, str]:
        if stop.is_set():
            return "unplaced", claim, ""
        if not preflight_claims([claim], run_id, counts):
            return "skipped", claim, ""
        kind, detail = place_one(claim, client, outbound_id)
        if kind == "auth":
            stop.set()
        return kind, claim, detail

    outcomes = run_in_threads(claims, place, max_concurrent)
    summary.add_place_counts(counts)
    auth_message = None
    for kind, claim, detail in outcomes:
        if kind == "placed":
            summary.placed += 1
        elif kind == "refused":
            verdict = settle_refused(claim, detail)
            summary.failed += 1
            summary.review += verdict == "review"
        elif kind == "auth":
            auth_message = auth_message or detail
        elif kind == "uncertain":
            mark_uncertain(claim, f"call may have been placed, no answer from Pearl: {detail}")
            summary.uncertain += 1
    unplaced = [claim for kind, claim, _ in outcomes if kind in ("unplaced", "auth")]
    if unplaced:
        summary.released += release_claims(unplaced, run_id)
    if auth_message is not None:
        raise DispatchConfigError(f"Pearl refused the credentials or the outbound: {auth_message}")


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
    claims: Sequence[Claim], rng: random.Random, mix: Mapping[str, float], run_id: str,
    summary: DispatchSummary, max_concurrent: int = DEFAULT_MAX_CONCURRENT,
) -> None:  # fmt: skip
    """Give each claimed call that passes its pre-flight a simulated result and process them
    at once, `max_concurrent` at a time like real calls, each marked simulated. Outcomes
    are drawn in claim order, so `seed` reproduces them."""
    kinds, weights = list(mix), list(mix.values())
    drawn = {claim.row_id: rng.choices(kinds, weights)[0] for claim in claims}
    counts = PlaceCounts()
    chunks = [
        claims[i : i + SIMULATION_PREFLIGHT_BATCH]
        for i in range(0, len(claims), SIMULATION_PREFLIGHT_BATCH)
    ]

    def lane(chunk: Sequence[Claim]) -> int:
        done = 0
        for claim in preflight_claims(chunk, run_id, counts):
            call = simulated_call(drawn[claim.row_id], f"sim-call-{claim.row_id}", rng, utc_now())
            try:
                result = process_call_result(
                    claim.lead_id, {}, call, row_id=claim.row_id, simulated=True
                )
                done += 1
                with outcomes_lock:
                    summary.count_outcome(result.outcome)
            except LeadNotFoundError:
                logger.info("lead %s disappeared before its simulated result", claim.lead_id)
        return done

    outcomes_lock = threading.Lock()
    placed = sum(run_in_threads(chunks, lane, max_concurrent))
    summary.add_place_counts(counts)
    summary.placed += placed
    summary.collected += placed


# --- one run ---------------------------------------------------------------------------------


def preview_due_calls(limit: int, region: str, summary: DispatchSummary) -> None:
    """Dry run: list what would be dialled now and what would be deferred; write nothing."""
    now = utc_now()
    with db.transaction("dry run") as cur:
        rows = db.fetch_all(cur, queries.PENDING_DUE_CALLS, {"now": to_db(now), "limit": limit})
        wt = scheduler_config.get_config(cur).working_time
    for row in rows:
        frame = lead_frame({**row, "id": row["lead_id"]}, wt)
        entry = {
            "schedule_id": row["id"],
            "lead_id": row["lead_id"],
            "telefono": mask_phone(row["telefono"]),
            "scheduled_at": from_db(row["scheduled_at"]).isoformat(),
            "attempt_number": row["attempt_number"],
        }
        if not is_working_instant(now, wt, **frame):
            summary.deferred += 1
            summary.would_defer.append(
                {**entry, "until": next_working_instant(now, wt, **frame).isoformat()}
            )
            continue
        try:
            normalize_phone(row["telefono"] or "", region)
        except InvalidPhoneError:
            summary.invalid_phone += 1
            summary.would_close.append({**entry, "reason": "Teléfono erróneo"})
            continue
        summary.would_dial.append(entry)


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
    collect_budget_seconds: float | None = None,
) -> DispatchSummary:
    """Run one dispatch cycle and return its summary.

    Real calls need `client` and `outbound_id` (see `main` for building them from the
    environment). `now` rehearses the run as if the clock read that moment when it
    starts (time keeps flowing from there). When Pearl answers 401/403/404 the unplaced
    claims are given back and the summary's `error` says why. Raises ValueError for bad
    arguments, DispatchConfigError when there is no client or outbound id,
    PearlAuthError when collecting results hits 401/403, db.DatabaseError when the
    database is unusable.
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
    with rehearsal_at(now) if now is not None else nullcontext():
        return _run(limit, max_concurrent, dry_run, simulate, seed, mix, client, outbound_id,
                    collect_budget_seconds)  # fmt: skip


def _run(
    limit: int, max_concurrent: int, dry_run: bool, simulate: bool, seed: int | None,
    mix: Mapping[str, float] | None, client: PearlClient | None, outbound_id: str | None,
    collect_budget_seconds: float | None,
) -> DispatchSummary:  # fmt: skip
    run_id = str(uuid.uuid4())
    summary = DispatchSummary(run_id=run_id, dry_run=dry_run, simulate=simulate)
    region = phone_region(client)
    if dry_run:
        preview_due_calls(limit, region, summary)
        return summary
    heartbeat.start_run(run_id)
    try:
        _collect_claim_place(limit, max_concurrent, simulate, seed, mix, client, outbound_id,
                             collect_budget_seconds, region, summary)  # fmt: skip
    except BaseException as exc:
        _finish(summary, EXIT_DATABASE if isinstance(exc, db.DatabaseError) else EXIT_CONFIG,
                f"{type(exc).__name__}: {exc}")  # fmt: skip
        raise
    _finish(summary, run_exit_code(summary), summary.error)
    return summary


def run_exit_code(summary: DispatchSummary) -> int:
    """The exit code a finished run reports: 2 when Pearl refused the configuration, 1 when
    every placement failed (a Pearl outage must page someone), else 0."""
    if summary.error:
        return EXIT_CONFIG
    return EXIT_ALERT if summary.all_placements_failed else EXIT_OK


def _finish(summary: DispatchSummary, exit_code: int, error: str | None) -> None:
    try:
        heartbeat.finish_run(summary.run_id, summary.heartbeat(), exit_code, error)
    except db.DatabaseError as exc:  # the run's own outcome matters more than its record
        logger.error("could not record the end of run %s: %s", summary.run_id, exc)


def _collect_claim_place(
    limit: int, max_concurrent: int, simulate: bool, seed: int | None,
    mix: Mapping[str, float] | None, client: PearlClient | None, outbound_id: str | None,
    collect_budget_seconds: float | None, region: str, summary: DispatchSummary,
) -> None:  # fmt: skip
    run_id = summary.run_id
    collected = CollectCounts()
    collect_results(
        None if simulate else client, outbound_id, collected,
        workers=max_concurrent, budget_seconds=collect_budget_seconds,
    )  # fmt: skip
    summary.add_collect_counts(collected)
    paused, reason = db.run_in_transaction(dispatch_paused, name="read the pause switch")
    if paused:
        summary.paused = reason or "paused"
        logger.warning("dispatch is paused (%s): results collected, nothing claimed", reason)
        return
    if client is not None and not simulate:
        try:
            client.check_account_usable()
        except PearlAccountUnusableError as exc:
            summary.error = f"Pearl account cannot place calls: {exc}"
            return
        except PearlAuthError as exc:
            summary.error = f"Pearl refused the credentials: {exc}"
            return
        except PearlError as exc:  # unknown account state: the POSTs will tell
            logger.warning("could not read Pearl's account status: %s", exc)
    counts = PlaceCounts()
    claims = claim_due_calls(run_id, limit, region, counts)
    summary.claimed += counts.claimed
    summary.invalid_phone += counts.invalid_phone
    summary.add_place_counts(counts)
    if simulate:
        simulate_calls(
            claims, random.Random(seed), mix or DEFAULT_SIMULATION_MIX, run_id, summary,
            max_concurrent,
        )  # fmt: skip
    elif claims:
        try:
            place_calls(claims, client, outbound_id, max_concurrent, run_id, summary)
        except DispatchConfigError as exc:
            summary.error = str(exc)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Place due scheduled calls through Pearl AI and collect their results.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="cron: * * * * * cd /srv/llamadas && .venv/bin/python despachar_llamadas.py "
        ">> /var/log/llamadas/dispatch.log 2>&1\n\n" + script_errors.EXIT_CODES_HELP
        + "  (1 here: every placement of the run failed, e.g. Pearl is down)",
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="calls to claim (50)")
    parser.add_argument(
        "--max-concurrent", type=int, default=DEFAULT_MAX_CONCURRENT,
        help="calls placed (and results polled) at once by this run; Pearl limits how many "
        "calls an outbound runs at once, so keep it at or below that (5)",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be dialled, deferred or closed"
    )
    parser.add_argument(
        "--simulate", action="store_true",
        help="no real calls: simulated results, only on a demo database (probar --demo)",
    )  # fmt: skip
    parser.add_argument(
        "--simulate-on-real-leads", action="store_true",
        help="allow --simulate on a database that is not a demo one (asks for confirmation)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, help="random seed for --simulate")
    parser.add_argument(
        "--mix", help="simulated shares, e.g. busy=0.2,no_answer=0.3,appointment=0.5"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--now", metavar="ISO", help="rehearse the run at this moment (demo databases only)"
    )
    script_errors.add_verbose_flag(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    script_errors.configure_logging(args.verbose)
    db.load_env_file()
    return script_errors.run_script(lambda: _main(args), verbose=args.verbose)


def _main(args: argparse.Namespace) -> int:
    mix = parse_mix(args.mix) if args.mix else None
    now = _parse_now(args.now) if args.now else None
    if args.simulate or now is not None:
        _refuse_real_leads(args)
    client, outbound_id = None, None
    if not args.dry_run and not args.simulate:
        try:
            settings = PearlSettings.from_env()
        except PearlConfigError as exc:
            raise DispatchConfigError(str(exc)) from None
        outbound_id = settings.outbound_id
        if not outbound_id:
            raise DispatchConfigError("PEARL_OUTBOUND_ID is not set: it names the Pearl campaign")
        client = PearlClient(settings)
    try:
        summary = dispatch_due_calls(
            limit=args.limit, max_concurrent=args.max_concurrent, dry_run=args.dry_run,
            simulate=args.simulate, seed=args.seed, mix=mix, client=client,
            outbound_id=outbound_id, now=now,
        )  # fmt: skip
    finally:
        if client is not None:
            client.close()
    stamp = utc_now().isoformat(timespec="seconds")
    print(json.dumps(asdict(summary), sort_keys=True) if args.json else f"{stamp} {summary.line()}")
    if summary.error:
        print(f"error: {summary.error}", file=sys.stderr)
    elif summary.all_placements_failed:
        print("alert: every placement of this run failed (is Pearl down?)", file=sys.stderr)
    return EXIT_OK if args.dry_run else run_exit_code(summary)


def _parse_now(text: str) -> datetime:
    with db.transaction("read the business zone") as cur:
        zone = scheduler_config.get_config(cur).working_time.timezone
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise script_errors.ConfigurationError(
            f"--now takes an ISO date and time, e.g. 2026-12-01T10:00, got {text[:40]!r}"
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _refuse_real_leads(args: argparse.Namespace) -> None:
    """--simulate and --now write invented outcomes or act at a made-up time: only on a demo
    database, or with --simulate-on-real-leads confirmed on a terminal."""
    with db.transaction("is this a demo database") as cur:
        if is_demo_database(cur):
            return
    what = "--simulate" if args.simulate else "--now"
    if not args.simulate_on_real_leads:
        raise script_errors.ConfigurationError(
            f"{what} runs only on a demo database (python probar_llamadas_programadas.py "
            "--demo creates one); this one holds real leads"
        )
    if not sys.stdin.isatty():
        raise script_errors.ConfigurationError(
            "--simulate-on-real-leads asks for confirmation on a terminal"
        )
    answer = input("Simulated outcomes will be written to REAL leads. Type 'simulate' to go on: ")
    if answer.strip() != "simulate":
        raise script_errors.ConfigurationError("not confirmed; nothing was written")


if __name__ == "__main__":
    sys.exit(main())
