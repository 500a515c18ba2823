"""Run every benchmark and print the results table (see bench/README.md).

    python bench/run.py            # full run, about 10-25 minutes
    python bench/run.py --quick    # small sizes, about a minute
    python bench/run.py --json     # machine-readable
    python bench/run.py --only 1,4 # some figures only

Creates its own database (bench_<hex>) on DB_HOST / DB_PORT / DB_USER /
DB_PASSWORD (default 127.0.0.1:3306, root, empty password) and drops it at
the end, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import bench_dispatch
import bench_galera
import bench_import
import bench_maintenance
import bench_memory
import bench_panel
import bench_pending_query
import bench_reschedule
import bench_results
import bench_webhooks
import benchlib

FIGURES = (
    bench_reschedule.run,
    bench_results.run,
    bench_dispatch.run,
    bench_pending_query.run,
    bench_maintenance.run,
    bench_memory.run,
    bench_webhooks.run,
    bench_import.run,
    bench_galera.run,  # figure 9 (issue 16): needs galera-4; starts its own cluster
    bench_panel.run,  # figure 10 (issue 15): the dashboard's overview
)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    return benchlib.cli(FIGURES, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
