"""Figure 1: reschedule throughput.

2,000 `simple_reschedule_failed_call` calls on distinct open leads (no
pending call yet, no attempt so far: each one is rescheduled), against the
floor (floors.py: the same transaction by hand over one open connection),
measured in alternating chunks. Also the same calls done the way the
original system did them: a new connection to read the configuration,
another to read the working hours, another for the update.

    python bench/bench_reschedule.py [--quick] [--json]
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import benchlib
import datagen
import floors
from benchlib import Bench, Figure, Row

import db
import queries
import scheduler_config
from clock import utc_now
from reprogramar_llamadas_simple import (
    lock_lead,
    reschedule_locked_lead,
    simple_reschedule_failed_call,
)

GOAL = 0.8
ROUNDS = 10
WARMUP = 50


def _read_config_on_new_connection(settings: db.DbSettings) -> scheduler_config.SchedulerConfig:
    conn = db.connect(settings)
    try:
        with conn.cursor() as cur:
            rows = db.fetch_all(cur, queries.LOAD_CONFIG)
        conn.commit()
    finally:
        conn.close()
    return scheduler_config.parse_config({r["config_key"]: r["config_value"] for r in rows})


def original_way(settings: db.DbSettings) -> Callable[[tuple[int, str]], None]:
    """The library's reschedule logic with the original system's connections: one new
    connection for the retry configuration, one for the working hours, one for the update."""

    def operation(item: tuple[int, str]) -> None:
        lead_id, outcome = item
        config = _read_config_on_new_connection(settings)
        _read_config_on_new_connection(settings)  # the working hours, read on their own
        conn = db.connect(settings)
        try:
            with conn.cursor() as cur:
                lead = lock_lead(cur, lead_id)
                reschedule_locked_lead(cur, lead, outcome, utc_now(), config)
            conn.commit()
        finally:
            conn.close()

    return operation


def library(item: tuple[int, str]) -> None:
    """The library call; every lead here must end up rescheduled."""
    if not simple_reschedule_failed_call(*item):
        raise AssertionError(f"lead {item[0]} was not rescheduled")


def _items(first_id: int, count: int, rng: random.Random) -> list[tuple[int, str]]:
    return [(i, rng.choice(datagen.RETRY_OUTCOMES)) for i in range(first_id, first_id + count)]


def run(bench: Bench) -> Figure:
    """Measure figure 1."""
    count, original_count = bench.size(2000, 200), bench.size(2000, 50)
    bench.reset()
    rng, now = random.Random(bench.seed + 1), int(time.time())
    sizes = {"library": count, "floor": count, "original": original_count}
    items, next_id = {}, 1
    with benchlib.Filler(bench) as filler:
        for name, size in sizes.items():
            filler.leads(datagen.leads(next_id, size + WARMUP, rng, now))
            items[name] = _items(next_id, size + WARMUP, rng)
            next_id += size + WARMUP
    conn = bench.connect()
    try:
        operations = {
            "library": library,
            "floor": floors.reschedule_by_hand(conn),
            "original": original_way(bench.settings),
        }
        for name, operation in operations.items():
            for item in items[name][:WARMUP]:
                operation(item)
        spent = benchlib.interleaved(
            {name: (operations[name], items[name][WARMUP:]) for name in operations}, ROUNDS
        )
    finally:
        conn.close()
    connect = benchlib.median_seconds(lambda: db.connect(bench.settings).close(), repeat=20)
    return _figure(sizes, spent, connect)


def _figure(sizes: dict[str, int], spent: dict[str, float], connect: float) -> Figure:
    rate = {name: sizes[name] / spent[name] for name in sizes}
    ratio = benchlib.ratio(rate["library"], rate["floor"])
    figure = Figure(1, "Reschedule throughput")
    figure.rows = [
        Row(f"simple_reschedule_failed_call, {sizes['library']:,} leads", rate["library"],
            "ops/s", rate["floor"], "ops/s by hand", ratio, f">= {GOAL}",
            ratio is not None and ratio >= GOAL),
        Row(f"the original way (3 new connections per call), {sizes['original']:,} leads",
            rate["original"], "ops/s", rate["floor"], "ops/s by hand",
            benchlib.ratio(rate["original"], rate["floor"])),
    ]  # fmt: skip
    per_call = {name: 1000 / rate[name] for name in rate}
    figure.notes = [
        "mean per call: library {library:.2f} ms, by hand {floor:.2f} ms, original way "
        "{original:.2f} ms".format(**per_call),
        f"opening a connection (db.connect, median of 20) takes {connect * 1000:.1f} ms here: "
        "the original way pays it three times per call, the library once per thread",
        f"measured in {ROUNDS} alternating chunks per variant, after {WARMUP} warm-up calls each",
    ]
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
