"""Figure 5: the maintenance jobs at scale.

Cleanup: `cleanup_closed_leads_schedules()` over 100,000 pending calls of
closed leads (plus 20,000 pending calls of open leads, which must stay, and
50,000 finished calls). Purge: `mantenimiento.purge_cancelled(days=30)` over
100,000 cancelled calls created 31-400 days ago (plus 10,000 recent
cancelled, 50,000 completed and 10,000 pending calls, which must stay).
Reported: rows per second against the floor (the same change as one bare
statement in one transaction, on the same fill) and the longest single
transaction, timed by wrapping db.run_in_transaction in this process. Goal:
no transaction longer than 1 s, so the dispatcher is never blocked for long.

    python bench/bench_maintenance.py [--quick] [--json]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import bench_sql
import benchlib
import datagen
from benchlib import Bench, Figure, Row

import db
import mantenimiento
import queries
from clock import to_db, utc_now
from reprogramar_llamadas_simple import CANCEL_REASON_LEAD_CLOSED, cleanup_closed_leads_schedules

GOAL_SECONDS = 1.0
PURGE_DAYS = 30


@dataclass
class JobRun:
    """Rows changed, total time and every transaction's duration of one job."""

    rows: int
    seconds: float
    transactions: list[float] = field(default_factory=list)

    @property
    def longest(self) -> float:
        """The longest single transaction, in seconds."""
        return max(self.transactions, default=self.seconds)


def fill_cleanup(bench: Bench, closed: int) -> None:
    """Closed leads with a pending call each, open leads with theirs, finished calls."""
    bench.reset()
    rng, now, open_leads = random.Random(bench.seed + 5), int(time.time()), closed // 5
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(1, closed, rng, now, closed=True))
        filler.leads(datagen.leads(closed + 1, open_leads, rng, now))
        filler.schedules(datagen.pending(range(1, closed + 1), rng, now, due=False))
        filler.schedules(datagen.pending(range(closed + 1, closed + open_leads + 1), rng, now,
                                         due=False))  # fmt: skip
        filler.schedules(datagen.history(closed // 2, (1, closed + open_leads), rng, now))
        filler.analyze()


def fill_purge(bench: Bench, old_cancelled: int) -> None:
    """Old cancelled calls to purge, and recent cancelled, completed and pending ones to keep."""
    bench.reset()
    rng, now, leads = random.Random(bench.seed + 6), int(time.time()), old_cancelled // 10
    lead_range = (1, leads)
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(1, leads, rng, now))
        filler.schedules(
            datagen.history(
                old_cancelled,
                lead_range,
                rng,
                now,
                status="cancelled",
                age_days=(PURGE_DAYS + 1, 400),
            )
        )
        filler.schedules(
            datagen.history(
                leads, lead_range, rng, now, status="cancelled", age_days=(0, PURGE_DAYS - 1)
            )
        )
        filler.schedules(
            datagen.history(old_cancelled // 2, lead_range, rng, now, status="completed")
        )
        filler.schedules(datagen.pending(range(1, leads + 1), rng, now, due=False))
        filler.analyze()  # fmt: skip


def run_floor(bench: Bench, query: queries.Query, params: dict[str, Any]) -> JobRun:
    """One bare statement in one transaction, on a connection of its own."""
    conn = bench.connect()
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            changed = cur.execute(query.sql, params)
        conn.commit()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return JobRun(changed, seconds, [seconds])


def run_library(job: Callable[[], int]) -> JobRun:
    """Run a library job, timing each of its transactions."""
    with benchlib.transaction_timer() as transactions:
        started = time.perf_counter()
        changed = job()
        seconds = time.perf_counter() - started
    return JobRun(changed, seconds, list(transactions))


def _count(query: queries.Query, params: dict[str, Any]) -> int:
    with db.transaction("bench count") as cur:
        return int(db.fetch_one(cur, query, params)["total"])


def _cleanup(bench: Bench, size: int) -> tuple[list[Row], list[str]]:
    fill_cleanup(bench, size)
    floor = run_floor(
        bench, bench_sql.FLOOR_CANCEL_CLOSED_PENDING, {"reason": CANCEL_REASON_LEAD_CLOSED}
    )
    fill_cleanup(bench, size)
    plan = _plan(bench, queries.CLOSED_LEADS_PENDING_BATCH, {"after_lead_id": 0, "batch_size": 1})
    job = run_library(cleanup_closed_leads_schedules)
    left = _count(queries.COUNT_CLOSED_LEADS_PENDING, {})
    notes = [_job_note("cleanup", "cancelled", job, floor, left), f"cleanup batch plan: {plan}"]
    return _rows("cleanup_closed_leads_schedules", job, floor), notes


def _purge(bench: Bench, size: int) -> tuple[list[Row], list[str]]:
    before = {"before": to_db(utc_now() - timedelta(days=PURGE_DAYS))}
    fill_purge(bench, size)
    floor = run_floor(bench, bench_sql.FLOOR_PURGE_CANCELLED, before)
    fill_purge(bench, size)
    plan = _plan(bench, queries.PURGE_CANCELLED_BATCH, {**before, "batch_size": 1000})
    job = run_library(lambda: mantenimiento.purge_cancelled(days=PURGE_DAYS)["deleted"])
    left = _count(queries.COUNT_CANCELLED_BEFORE, before)
    notes = [_job_note("purge", "deleted", job, floor, left), f"purge batch plan: {plan}"]
    return _rows("purge_cancelled(days=30)", job, floor), notes


def _purge_batch_at(bench: Bench, backlog: int) -> float:
    """The time of the first batch of purge_cancelled (its own statement and transaction)
    with `backlog` old cancelled calls waiting."""
    bench.reset()
    rng, now = random.Random(bench.seed + 7), int(time.time())
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(1, 10_000, rng, now))
        filler.schedules(datagen.history(backlog, (1, 10_000), rng, now, status="cancelled",
                                         age_days=(PURGE_DAYS + 1, 400)))  # fmt: skip
        filler.analyze()
    params = {"before": to_db(utc_now() - timedelta(days=PURGE_DAYS)), "batch_size": 1000}
    started = time.perf_counter()
    db.run_in_transaction(lambda cur: db.execute(cur, queries.PURGE_CANCELLED_BATCH, params))
    return time.perf_counter() - started


def run(bench: Bench) -> Figure:
    """Measure figure 5."""
    size, backlog = bench.size(100_000, 10_000), bench.size(1_000_000, 100_000)
    cleanup_rows, cleanup_notes = _cleanup(bench, size)
    purge_rows, purge_notes = _purge(bench, size)
    small, large = _purge_batch_at(bench, size), _purge_batch_at(bench, backlog)
    figure = Figure(5, "Maintenance at scale")
    figure.rows = [
        *cleanup_rows,
        *purge_rows,
        Row(f"purge_cancelled, one batch of 1,000 with {backlog:,} waiting", large, "s",
            floor=small, floor_label=f"s with {size:,} waiting", ratio=benchlib.ratio(large, small),
            goal=f"<= {GOAL_SECONDS:g} s", met=large <= GOAL_SECONDS),
    ]  # fmt: skip
    figure.notes = [
        *cleanup_notes,
        *purge_notes,
        "batches of 1,000 rows (the library's default); the last row is one batch of the purge "
        "(its statement, PURGE_CANCELLED_BATCH, in its own transaction) with a larger backlog",
    ]
    return figure


def _job_note(name: str, verb: str, job: JobRun, floor: JobRun, left: int) -> str:
    times = job.transactions or [job.seconds]
    full = times[:-1] or times  # the last batch is the partial one that ends the job
    return (
        f"{name}: {job.rows:,} {verb} in {len(times)} transactions, {job.seconds:.1f} s "
        f"(one statement: {floor.seconds:.1f} s); batch times: first {full[0]:.3f} s, median "
        f"{statistics.median(full):.3f} s, last full batch {full[-1]:.3f} s; left behind: {left}"
    )


def _plan(bench: Bench, query: queries.Query, params: dict[str, Any]) -> str:
    conn = bench.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(bench_sql.explain(query).sql, params)
            rows = cur.fetchall()
        conn.rollback()
    finally:
        conn.close()
    return "; ".join(
        f"{r['table']}: {r['type']} on {r['key']} (rows {r['rows']}, {r['Extra']})" for r in rows
    )


def _rows(name: str, job: JobRun, floor: JobRun) -> list[Row]:
    rate, floor_rate = job.rows / job.seconds, floor.rows / floor.seconds
    return [
        Row(f"{name}, {job.rows:,} rows", rate, "rows/s", floor=floor_rate,
            floor_label="rows/s, one statement", ratio=benchlib.ratio(rate, floor_rate)),
        Row(f"{name}, longest transaction", job.longest, "s", floor=floor.longest,
            floor_label="s, one statement", ratio=benchlib.ratio(job.longest, floor.longest),
            goal=f"<= {GOAL_SECONDS:g} s", met=job.longest <= GOAL_SECONDS),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
