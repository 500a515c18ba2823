"""Where the time of a library operation goes: statements per operation and a cProfile.

    python bench/profile_ops.py dispatch    # dispatch_due_calls(simulate=True), 2,000 due calls
    python bench/profile_ops.py results     # enhanced_process_call_result, 2,000 results
    python bench/profile_ops.py reschedule  # simple_reschedule_failed_call, 2,000 leads
    python bench/profile_ops.py purge       # purge_cancelled over 100,000 old cancelled calls
    python bench/profile_ops.py webhooks    # the webhook handler, 2,000 bodies (20 % repeats)
    options: --count N, --top N, --pstats FILE (keep the raw statistics)

Runs on its own bench_<hex> database, like the benchmarks. It prints how many
statements of each named query (queries.py) one operation sends and in how many
round trips (statements queued by db.defer travel together, with the next statement
or the COMMIT), then the functions with the most time of their own. Statements are
counted by wrapping PyMySQL's cursor and db's batch sender in this process (measurement
only; timings here include the profiler's overhead, so take rates from bench/run.py).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import bench_dispatch
import bench_maintenance
import bench_path
import bench_results
import bench_webhooks
import benchlib
import datagen
import pymysql.connections
import pymysql.cursors
from benchlib import Bench

import db
import queries
from despachar_llamadas import dispatch_due_calls
from mantenimiento import purge_cancelled
from reprogramar_llamadas_simple import simple_reschedule_failed_call
from servidor import decode_json
from webhook_pearl import handle_call_event

_LIBRARY_FILES = re.escape(str(bench_path.REPO_ROOT)) + r"/[a-z_]+\.py:"
_NAMES = {q.sql: name for name, q in vars(queries).items() if isinstance(q, queries.Query)}


ROUND_TRIPS = "(round trips)"  # the key of counting_statements' count of round trips


@contextmanager
def counting_statements() -> Iterator[Counter[str]]:
    """Count statements sent by PyMySQL in this process, by queries.py name, and COMMITs;
    statements queued by db.defer are counted by name when their batch is sent, and under
    ROUND_TRIPS each batch counts once, like every other statement and COMMIT."""
    counts: Counter[str] = Counter()
    cursor, connection = pymysql.cursors.Cursor, pymysql.connections.Connection
    saved = cursor.execute, cursor.executemany, connection.commit, db._send_batch
    inside: list[str] = []  # the executemany in progress: its statements are counted under it
    batching: list[bool] = []  # a db.defer batch is being sent: counted by send_batch

    def execute(self: Any, query: Any, args: Any = None) -> int:
        if batching:
            return saved[0](self, query, args)
        if inside:
            counts[f"{inside[-1]} (sent by executemany)"] += 1
        else:
            text = query if isinstance(query, str) else "?"
            counts[_NAMES.get(text, "(not in queries.py) " + " ".join(text.split())[:50])] += 1
        counts[ROUND_TRIPS] += 1
        return saved[0](self, query, args)

    def executemany(self: Any, query: str, args: Any) -> int:
        inside.append(_NAMES.get(query, "(not in queries.py)"))
        try:
            return saved[1](self, query, args)
        finally:
            inside.pop()

    def commit(self: Any) -> None:
        counts["COMMIT"] += 1
        counts[ROUND_TRIPS] += 1
        return saved[2](self)

    def send_batch(conn: Any, statements: Sequence[db.Deferred], *, commit: bool) -> None:
        for statement in statements:
            counts[_NAMES.get(statement.query.sql, "(not in queries.py)")] += 1
        counts["COMMIT"] += commit
        counts[ROUND_TRIPS] += 1
        batching.append(True)
        try:
            return saved[3](conn, statements, commit=commit)
        finally:
            batching.pop()

    cursor.execute, cursor.executemany, connection.commit = execute, executemany, commit
    db._send_batch = send_batch
    try:
        yield counts
    finally:
        cursor.execute, cursor.executemany, connection.commit, db._send_batch = saved


def _dispatch(bench: Bench, count: int) -> Callable[[], int]:
    bench_dispatch.fill_due_calls(bench, count)

    def work() -> int:
        handled = 0
        while True:
            summary = dispatch_due_calls(simulate=True, limit=1000, seed=bench.seed)
            if not summary.claimed + summary.invalid_phone:
                return handled
            handled += summary.claimed + summary.invalid_phone

    return work


def _results(bench: Bench, count: int) -> Callable[[], int]:
    bench.reset()
    payloads = bench_results._fill(bench, count, random.Random(bench.seed), int(time.time()))

    def work() -> int:
        for payload in payloads:
            bench_results.enhanced_process_call_result(*payload)
        return len(payloads)

    return work


def _reschedule(bench: Bench, count: int) -> Callable[[], int]:
    bench.reset()
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(1, count, random.Random(bench.seed), int(time.time())))

    def work() -> int:
        for lead_id in range(1, count + 1):
            simple_reschedule_failed_call(lead_id, "no_answer")
        return count

    return work


def _purge(bench: Bench, count: int) -> Callable[[], int]:
    bench_maintenance.fill_purge(bench, count)
    return lambda: purge_cancelled(days=bench_maintenance.PURGE_DAYS)["deleted"]


def _webhooks(bench: Bench, count: int) -> Callable[[], int]:
    bench.reset(benchlib.ALWAYS_WORKING)
    bodies = bench_webhooks._calls(bench, 1, round(count * 0.8), random.Random(bench.seed))

    def work() -> int:
        for body in bodies:
            handle_call_event(decode_json(body))
        return len(bodies)

    return work


OPERATIONS = {"dispatch": _dispatch, "results": _results, "reschedule": _reschedule,
              "purge": _purge, "webhooks": _webhooks}  # fmt: skip
DEFAULT_COUNTS = {"dispatch": 2000, "results": 2000, "reschedule": 2000, "purge": 100_000,
                  "webhooks": 2000}  # fmt: skip


def _report(counts: Counter[str], done: int, stats: pstats.Stats, top: int) -> str:
    lines = [f"{done:,} operations; statements per operation:"]
    statements = {name: n for name, n in counts.items() if name != ROUND_TRIPS}
    for name, n in Counter(statements).most_common():
        if n:
            lines.append(f"  {n / done:8.3f}  {name}")
    lines.append(f"  {sum(statements.values()) / done:8.3f}  in all")
    lines.append(f"  {counts[ROUND_TRIPS] / done:8.3f}  round trips (db.defer batches count once)")
    out = io.StringIO()
    stats.stream = out
    print("Library functions by cumulative time:", file=out)
    stats.sort_stats("cumulative").print_stats(_LIBRARY_FILES, top)
    print("All functions by time of their own:", file=out)
    stats.sort_stats("tottime").print_stats(top)
    return "\n".join(lines) + "\n" + out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("operation", choices=OPERATIONS)
    parser.add_argument("--count", type=int)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pstats", help="also write the raw cProfile statistics here")
    args = parser.parse_args(argv)
    count = args.count or DEFAULT_COUNTS[args.operation]
    with benchlib.bench_database() as bench:
        work = OPERATIONS[args.operation](bench, count)
        profiler = cProfile.Profile()
        with counting_statements() as counts:
            profiler.enable()
            done = work()
            profiler.disable()
    if args.pstats:
        profiler.dump_stats(args.pstats)
    print(_report(counts, max(done, 1), pstats.Stats(profiler), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
