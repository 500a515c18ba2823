"""Figure 4: the pending query and the claim query as call_schedule grows.

One database per size (beside the benchmark's own, dropped with it) holds
call_schedule with 10k, 100k and 1M rows in the same shares: 5 % pending
(one per lead, as the unique index demands: each pending row has a lead of
its own), of which 1 % of all rows due now and 4 % later; 95 % finished
calls (completed or cancelled) of random leads. Measured side by side, in
alternating blocks over the sizes: the median latency of the seed's pending
query (queries.PENDING_DUE_CALLS, LIMIT 100, read-only) and of the claim
query (queries.CLAIM_DUE_CALLS, LIMIT 100, FOR UPDATE SKIP LOCKED, inside a
transaction then rolled back), and their EXPLAIN plans. The floor is the
smallest table: the goal is that the latency follows the due rows read, not
the table (1M/10k <= 1.5).

    python bench/bench_pending_query.py [--quick] [--json]
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import bench_sql
import benchlib
import datagen
from benchlib import Bench, Figure, Row

import queries
from clock import to_db, utc_now

GOAL = 1.5
LIMIT = 100
PLAN_INDEX = "idx_call_schedule_due"
QUERIES = {"pending query": queries.PENDING_DUE_CALLS, "claim query": queries.CLAIM_DUE_CALLS}


@dataclass
class Measurement:
    """Latency and plan of both queries at one table size."""

    rows: int
    seconds: dict[str, float]
    plans: dict[str, list[dict[str, Any]]]
    fill_seconds: float


def fill(bench: Bench, rows: int) -> None:
    """`rows` call_schedule rows with the figure's shares, and the leads they need."""
    rng, now = random.Random(bench.seed + 4), int(time.time())
    pending, due = rows // 20, rows // 100
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(1, pending, rng, now, max_attempts_so_far=2))
        filler.schedules(datagen.history(rows - pending, (1, pending), rng, now))
        filler.schedules(datagen.pending(range(1, due + 1), rng, now, due=True))
        filler.schedules(datagen.pending(range(due + 1, pending + 1), rng, now, due=False))
        filler.analyze()


def _run_query(conn: Any, name: str) -> None:
    with conn.cursor() as cur:
        cur.execute(QUERIES[name].sql, {"now": to_db(utc_now()), "limit": LIMIT})
        if len(cur.fetchall()) != LIMIT:
            raise AssertionError(f"{name} returned fewer than {LIMIT} due calls")
    conn.rollback()  # the claim query's locks are released; nothing was written


def _plan(conn: Any, name: str) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(bench_sql.explain(QUERIES[name]).sql, {"now": to_db(utc_now()), "limit": 1})
        rows = list(cur.fetchall())
    conn.rollback()
    return rows


def measure(bench: Bench, connections: dict[int, Any]) -> dict[int, dict[str, float]]:
    """Each query's latency at each size: in alternating blocks over sizes and queries (so
    drift in the machine's speed hits every size alike), the median of the block medians."""
    blocks, repeat = bench.size(10, 4), bench.size(25, 10)
    samples: dict[tuple[int, str], list[float]] = {
        (size, name): [] for size in connections for name in QUERIES
    }
    for _ in range(blocks):
        for (size, name), values in samples.items():
            conn = connections[size]
            values.append(benchlib.median_seconds(lambda c=conn, n=name: _run_query(c, n), repeat))
    seconds: dict[int, dict[str, float]] = {size: {} for size in connections}
    for (size, name), values in samples.items():
        seconds[size][name] = statistics.median(values)
    return seconds


def run(bench: Bench) -> Figure:
    """Measure figure 4."""
    sizes = (10_000, 100_000) if bench.quick else (10_000, 100_000, 1_000_000)
    with contextlib.ExitStack() as stack:
        connections, fill_seconds = {}, {}
        for size in sizes:
            table = stack.enter_context(bench.sibling(f"rows{size}"))
            started = time.perf_counter()
            fill(table, size)
            fill_seconds[size] = time.perf_counter() - started
            connections[size] = table.connect()
            stack.callback(connections[size].close)
        seconds = measure(bench, connections)
        results = [
            Measurement(size, seconds[size], {n: _plan(connections[size], n) for n in QUERIES},
                        fill_seconds[size])
            for size in sizes
        ]  # fmt: skip
    return _figure(results)


def _plan_text(plan: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{row['table']}: {row['type']} on {row['key']} (rows {row['rows']}"
        f"{', ' + row['Extra'] if row.get('Extra') else ''})"
        for row in plan
    )


def _uses_range(plan: list[dict[str, Any]]) -> bool:
    return any(row["table"] == "cs" and row["type"] == "range" and row["key"] == PLAN_INDEX
               for row in plan)  # fmt: skip


def _figure(results: list[Measurement]) -> Figure:
    smallest = results[0]
    figure = Figure(4, "Pending and claim queries at scale")
    for name in QUERIES:
        floor = smallest.seconds[name] * 1000
        for result in results[1:]:
            value = result.seconds[name] * 1000
            ratio = benchlib.ratio(value, floor)
            ranged = all(_uses_range(r.plans[name]) for r in results)
            last = result is results[-1]
            figure.rows.append(
                Row(f"{name}, LIMIT {LIMIT}, median at {result.rows:,} rows", value, "ms",
                    floor=floor, floor_label=f"ms at {smallest.rows:,}", ratio=ratio,
                    goal=f"<= {GOAL}, range scan" if last else "",
                    met=(ratio is not None and ratio <= GOAL and ranged) if last else None)
            )  # fmt: skip
    for result in results:
        figure.notes += [
            f"{result.rows:,} rows, {name}: {_plan_text(result.plans[name])}" for name in QUERIES
        ]
    fills = ", ".join(f"{r.rows:,} in {r.fill_seconds:.1f} s" for r in results)
    figure.notes.append(f"filling (LOAD DATA, then ANALYZE TABLE): {fills}")
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
