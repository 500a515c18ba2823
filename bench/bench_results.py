"""Figure 2: result processing throughput.

2,000 `enhanced_process_call_result` calls, one per open lead, with the
payloads a webhook hands over (the caller's summary and Pearl's full call
object with transcript and collected info), in the dispatcher's default mix:
busy 20 %, no answer 25 %, voicemail 15 %, appointment 15 %, not interested
15 %, invalid number 10 %. Leads have 0-2 earlier attempts (so some retries
close the lead at the maximum) and half of them a pending call (cancelled by
the result). Against its own floor (floors.result_by_hand: the same writes —
lock the lead, find and record the call with its payload, count the attempt,
move its schedule — by hand over one connection), and figure 1's floor for
reference, measured in alternating chunks.

    python bench/bench_results.py [--quick] [--json]
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from typing import Any

import benchlib
import datagen
import floors
from benchlib import Bench, Figure, Row

from call_manager_scheduler_integration import enhanced_process_call_result

ROUNDS = 10
GOAL_RATIO = 0.8  # issue 11: of the same writes by hand
WARMUP = 50

Payload = tuple[int, dict[str, Any], dict[str, Any]]


def _fill(bench: Bench, count: int, rng: random.Random, now: int) -> list[Payload]:
    """Leads for the library calls (ids 1..count) and their payloads."""
    lead_rows = list(datagen.leads(1, count, rng, now, max_attempts_so_far=2))
    with_pending = [row[0] for row in lead_rows if rng.random() < 0.5]
    with benchlib.Filler(bench) as filler:
        filler.leads(lead_rows)
        filler.schedules(datagen.pending(with_pending, rng, now, due=False))
    kinds = datagen.call_kinds(count, rng)
    return [
        (row[0], *datagen.pearl_call(kind, f"bench-call-{row[0]}", row[3], rng))
        for row, kind in zip(lead_rows, kinds, strict=True)
    ]


def run(bench: Bench) -> Figure:
    """Measure figure 2."""
    count = bench.size(2000, 200)
    bench.reset()
    rng, now = random.Random(bench.seed + 2), int(time.time())
    payloads = _fill(bench, count + WARMUP, rng, now)
    floor_first = count + WARMUP + 1
    with benchlib.Filler(bench) as filler:
        floor_ids = floors.fill_floor_leads(filler, floor_first, count + WARMUP, now)
    floor_items = [
        (i, datagen.pearl_call(kind, f"bench-floor-call-{i}", "+34612000000", rng)[1])
        for i, kind in zip(floor_ids, datagen.call_kinds(len(floor_ids), rng), strict=True)
    ]
    actions: Counter[str] = Counter()

    def library(payload: Payload) -> None:
        actions[enhanced_process_call_result(*payload).action] += 1

    conn = bench.connect()
    try:
        floor = floors.result_by_hand(conn)
        for payload, item in zip(payloads[:WARMUP], floor_items[:WARMUP], strict=True):
            library(payload)
            floor(item)
        actions.clear()
        spent = benchlib.interleaved(
            {"library": (library, payloads[WARMUP:]), "floor": (floor, floor_items[WARMUP:])},
            ROUNDS,
        )
    finally:
        conn.close()
    return _figure(count, spent, actions)


def _figure(count: int, spent: dict[str, float], actions: Counter[str]) -> Figure:
    library, floor = count / spent["library"], count / spent["floor"]
    ratio = benchlib.ratio(library, floor)
    figure = Figure(2, "Result processing throughput")
    figure.rows = [
        Row(f"enhanced_process_call_result, {count:,} results", library, "ops/s", floor,
            "ops/s by hand", ratio, goal=f">= {GOAL_RATIO}",
            met=ratio is not None and ratio >= GOAL_RATIO),
    ]  # fmt: skip
    figure.notes = [
        f"mean per call: library {1000 / library:.2f} ms, by hand {1000 / floor:.2f} ms",
        "actions: " + ", ".join(f"{name} {n}" for name, n in sorted(actions.items())),
        "the floor is this figure's own: the same writes by hand (lock the lead, look up "
        "and record the call with its payload, count the attempt, move the schedule)",
    ]
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
