"""One dispatcher process for figures 3 and 6 (started by them, not by hand).

Loops `dispatch_due_calls(simulate=True, limit=...)` until nothing is due.
Talks JSON lines on stdout: {"ready": ...} once the imports are done, then it
waits for one line on stdin (so several workers start together), then one
line per cycle and a last {"done": true, ...}. Each line carries the
process's resident set size now and at its peak (KiB). DB_DATABASE in the
environment names the benchmark database.

    python bench/dispatch_worker.py --limit 1000 --seed 7 [--profile out.pstats]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import benchlib

import db
import queries
from clock import to_db, utc_now
from despachar_llamadas import dispatch_due_calls

MAX_IDLE_CYCLES = 500  # another worker still holds its claim: wait, but not for ever


def _say(**fields: Any) -> None:
    stamp = {"time": time.time(), "cpu_seconds": time.process_time()}
    print(json.dumps({**fields, **benchlib.memory_kib(), **stamp}), flush=True)


def _nothing_due() -> bool:
    with db.transaction("bench: anything due?") as cur:
        row = db.fetch_one(cur, queries.COUNT_DUE_NOW, {"now": to_db(utc_now())})
    return int(row["total"]) == 0


def dispatch_until_done(limit: int, seed: int) -> dict[str, int]:
    """Run dispatch cycles until no call is due; report each cycle; return the totals."""
    totals = {"handled": 0, "claimed": 0, "invalid_phone": 0, "deferred": 0, "cycles": 0}
    idle = 0
    while idle < MAX_IDLE_CYCLES:
        summary = dispatch_due_calls(simulate=True, limit=limit, seed=seed + totals["cycles"])
        totals["cycles"] += 1
        handled = summary.claimed + summary.invalid_phone
        totals["handled"] += handled
        totals["claimed"] += summary.claimed
        totals["invalid_phone"] += summary.invalid_phone
        totals["deferred"] += summary.deferred
        if handled or summary.deferred:
            idle = 0
            _say(cycle=totals["cycles"], handled=totals["handled"])
        elif _nothing_due():
            break
        else:
            idle += 1
            time.sleep(0.005)
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="A dispatcher process for the benchmarks.")
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--seed", type=int, default=benchlib.SEED)
    parser.add_argument("--profile", help="write cProfile statistics of the run to this file")
    args = parser.parse_args(argv)
    _say(ready=True)
    sys.stdin.readline()
    _say(started=True)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    totals = dispatch_until_done(args.limit, args.seed)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    # Retries by MySQL error code (1213: deadlocks and Galera certification conflicts).
    _say(done=True, retries={str(k): v for k, v in db.retry_stats.items()}, **totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
