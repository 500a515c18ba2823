"""Figure 3: dispatch throughput in simulation.

10,000 due calls (one per open lead; 1 % of the numbers invalid, closed at
claim time) are claimed, given a simulated Pearl result and processed end to
end by `dispatch_due_calls(simulate=True)`, 1,000 per cycle, by 1, 2 and 4
dispatcher processes at once (dispatch_worker.py), until nothing is due.
Working time is configured to contain every instant, so nothing is deferred.
The floor of the 1-process run is figure 1's transaction by hand (one
committed transaction per lead is the least a result needs), measured just
before it; the multi-process runs are compared with the 1-process run. Last,
the cron way: `python despachar_llamadas.py --simulate --limit 1000 --json`
run again and again, a new interpreter per cycle.

    python bench/bench_dispatch.py [--quick] [--json]
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import bench_path
import benchlib
import datagen
import floors
from benchlib import Bench, Figure, Row

GOAL = 1000.0  # leads per second, one process
PROCESSES = (1, 2, 4)
REPEAT = 3  # the 1-process run, full size: the median of three
FLOOR_ID = 10_000_000  # floor leads live far from the dispatched ones


@dataclass
class DispatchRun:
    """What a set of dispatcher processes did: leads handled, wall time, per-cycle memory."""

    processes: int
    handled: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    deferred: int = 0
    ready: list[dict[str, Any]] = field(default_factory=list)
    cycles: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Leads handled per second."""
        return self.handled / self.seconds if self.seconds else 0.0


def fill_due_calls(bench: Bench, count: int, floor_count: int = 0) -> None:
    """Reset the database with always-working time and `count` leads each with one due call,
    plus as many finished calls of those leads and `floor_count` leads for the floor."""
    bench.reset(benchlib.ALWAYS_WORKING)
    rng, now = random.Random(bench.seed + 3), int(time.time())
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(1, count, rng, now, max_attempts_so_far=1,
                                   invalid_phone_share=0.01))  # fmt: skip
        filler.schedules(datagen.pending(range(1, count + 1), rng, now, due=True))
        filler.schedules(datagen.history(count, (1, count), rng, now))
        if floor_count:
            floors.fill_floor_leads(filler, FLOOR_ID, floor_count, now)
        filler.analyze()


def _start_worker(limit: int, seed: int, stderr: Any) -> subprocess.Popen[str]:
    command = [sys.executable, str(bench_path.BENCH_DIR / "dispatch_worker.py"),
               "--limit", str(limit), "--seed", str(seed)]  # fmt: skip
    return subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
    )


def _read(worker: subprocess.Popen[str], stderr: Any) -> dict[str, Any]:
    line = worker.stdout.readline()
    if not line:
        worker.wait()
        stderr.seek(0)
        tail = stderr.read()[-2000:]
        raise RuntimeError(f"dispatch worker exited with {worker.returncode}:\n{tail}")
    return json.loads(line)


def run_dispatchers(bench: Bench, processes: int, limit: int) -> DispatchRun:
    """Start `processes` workers together and wait until they have dispatched everything."""
    result = DispatchRun(processes)
    workers: list[tuple[subprocess.Popen[str], Any]] = []
    with contextlib.ExitStack() as stack:
        stack.callback(_stop_workers, workers)
        for index in range(processes):
            stderr = stack.enter_context(tempfile.TemporaryFile("w+"))
            workers.append((_start_worker(limit, bench.seed + 100 * index, stderr), stderr))
        result.ready = [_read(worker, err) for worker, err in workers]
        started = time.time()
        for worker, _ in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        result.cycles = [_read_until_done(worker, err) for worker, err in workers]
    finished = [lines[-1] for lines in result.cycles]
    result.seconds = max(line["time"] for line in finished) - started
    result.handled = sum(line["handled"] for line in finished)
    result.deferred = sum(line["deferred"] for line in finished)
    result.cpu_seconds = sum(
        lines[-1]["cpu_seconds"] - lines[0]["cpu_seconds"] for lines in result.cycles
    )
    return result


def _read_until_done(worker: subprocess.Popen[str], stderr: Any) -> list[dict[str, Any]]:
    lines = [_read(worker, stderr)]
    while not lines[-1].get("done"):
        lines.append(_read(worker, stderr))
    return lines


def _stop_workers(workers: list[tuple[subprocess.Popen[str], Any]]) -> None:
    for worker, _ in workers:
        if worker.poll() is None:
            worker.kill()
        worker.wait()


def _floor(bench: Bench, count: int) -> float:
    conn = bench.connect()
    try:
        operation = floors.reschedule_by_hand(conn)
        items = [(FLOOR_ID + i, "no_answer") for i in range(count)]
        started = time.perf_counter()
        for item in items:
            operation(item)
        return count / (time.perf_counter() - started)
    finally:
        conn.close()


def run_cron_style(bench: Bench, limit: int) -> DispatchRun:
    """Run the dispatcher's command line again and again until nothing is claimed."""
    result = DispatchRun(1)
    command = [sys.executable, str(bench_path.REPO_ROOT / "despachar_llamadas.py"),
               "--simulate", "--limit", str(limit), "--json"]  # fmt: skip
    started = time.perf_counter()
    for cycle in range(10_000):
        done = subprocess.run(  # noqa: S603  (the repository's own script, fixed arguments)
            [*command, "--seed", str(bench.seed + cycle)],
            capture_output=True, text=True, check=True, cwd=bench_path.REPO_ROOT,
        )  # fmt: skip
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        handled = summary["claimed"] + summary["invalid_phone"]
        result.handled += handled
        result.deferred += summary["deferred"]
        if not handled and not summary["deferred"]:
            break
    result.seconds = time.perf_counter() - started
    return result


def _single_process(bench: Bench, count: int, limit: int) -> tuple[DispatchRun, float]:
    """The 1-process run (the median of REPEAT) and the floor measured just before each."""
    floor_count = bench.size(2000, 200)
    pairs = []
    for _ in range(bench.size(REPEAT, 1)):
        fill_due_calls(bench, count, floor_count)
        floor = _floor(bench, floor_count)
        pairs.append((run_dispatchers(bench, 1, limit), floor))
    pairs.sort(key=lambda pair: pair[0].rate)
    return pairs[len(pairs) // 2]


def run(bench: Bench) -> Figure:
    """Measure figure 3."""
    count, limit = bench.size(10_000, 1000), bench.size(1000, 250)
    runs = {}
    runs[1], floor = _single_process(bench, count, limit)
    for processes in PROCESSES[1:]:
        fill_due_calls(bench, count)
        runs[processes] = run_dispatchers(bench, processes, limit)
    fill_due_calls(bench, count)
    cron = run_cron_style(bench, limit)
    return _figure(count, limit, runs, floor, cron)


def _figure(
    count: int, limit: int, runs: dict[int, DispatchRun], floor: float, cron: DispatchRun
) -> Figure:
    one = runs[1].rate
    figure = Figure(3, "Dispatch throughput (simulation)")
    figure.rows = [
        Row(
            f"dispatch --simulate, 1 process, {count:,} due calls", one, "leads/s",
            floor=floor, floor_label="ops/s by hand", ratio=benchlib.ratio(one, floor),
            goal=f">= {GOAL:,.0f} leads/s", met=one >= GOAL,
        ),
        *[
            Row(
                f"dispatch --simulate, {p} processes at once", runs[p].rate, "leads/s", floor=one,
                floor_label="leads/s, 1 process", ratio=benchlib.ratio(runs[p].rate, one),
            )
            for p in PROCESSES[1:]
        ],
        Row(
            f"cron way: despachar_llamadas.py --simulate --limit {limit}, repeated", cron.rate,
            "leads/s", floor=one, floor_label="leads/s, 1 process",
            ratio=benchlib.ratio(cron.rate, one),
        ),
    ]  # fmt: skip
    handled = {p: r.handled for p, r in runs.items()} | {"cron": cron.handled}
    figure.notes = [
        f"leads handled (claimed + closed for an invalid number): {handled}; expected {count}",
        f"deferred (must be 0): {sum(r.deferred for r in runs.values()) + cron.deferred}",
        f"{limit} calls claimed per cycle; each process loops until nothing is due; the "
        f"1-process figure is the median of {REPEAT} runs in a full run, each with its floor "
        "measured just before it",
        f"the 1-process run takes {runs[1].seconds:.1f} s, of which the dispatcher's own CPU "
        f"(Python) {runs[1].cpu_seconds:.1f} s: {1000 * runs[1].seconds / count:.2f} ms per lead, "
        f"{1000 * runs[1].cpu_seconds / count:.2f} ms of it in Python, the rest waiting for "
        "the server's answers",
        f"the cron way takes {cron.seconds:.1f} s, interpreter start-up included",
    ]
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
