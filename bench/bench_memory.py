"""Figure 6: the dispatcher's memory over a long run.

One dispatcher process (dispatch_worker.py) dispatches 10,000 due calls in
simulation, 1,000 per cycle, and reports its resident set size after every
cycle. The figure is its peak RSS after all 10,000 leads against its peak
after the first 2,000 (the floor): memory must stay flat, not grow with the
number of rows handled (ratio about 1).

    python bench/bench_memory.py [--quick] [--json]
"""

from __future__ import annotations

import sys

import bench_dispatch
import benchlib
from benchlib import Bench, Figure, Row

GOAL = 1.1
KIB_PER_MIB = 1024


def run(bench: Bench) -> Figure:
    """Measure figure 6."""
    count, limit = bench.size(10_000, 1000), bench.size(1000, 100)
    early = count // 5
    bench_dispatch.fill_due_calls(bench, count)
    result = bench_dispatch.run_dispatchers(bench, 1, limit)
    lines = result.cycles[0]
    at_early = next(line for line in lines if line.get("handled", 0) >= early)
    final = lines[-1]
    peak_early, peak_final = at_early["peak_kib"], final["peak_kib"]
    ratio = benchlib.ratio(peak_final, peak_early)
    figure = Figure(6, "Dispatcher memory")
    figure.rows = [
        Row(f"dispatcher peak RSS after {final['handled']:,} leads", peak_final / KIB_PER_MIB,
            "MiB", floor=peak_early / KIB_PER_MIB,
            floor_label=f"MiB after {at_early['handled']:,}", ratio=ratio,
            goal=f"<= {GOAL} (flat)", met=ratio is not None and ratio <= GOAL),
    ]  # fmt: skip
    per_cycle = ", ".join(f"{line['rss_kib'] / KIB_PER_MIB:.1f}" for line in lines[1:-1])
    figure.notes = [
        f"RSS after imports {result.ready[0]['rss_kib'] / KIB_PER_MIB:.1f} MiB; after each "
        f"cycle of {limit}: {per_cycle} MiB",
    ]
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
