"""Figure 9: simulated dispatch on a 3-node Galera cluster, one writer node vs two.

The same run three times: N due calls dispatched by two dispatcher processes
(dispatch_worker.py, `dispatch_due_calls(simulate=True)`, L claims per cycle)
until nothing is due, (a) on the single server the other figures use (the
floor), (b) on the cluster with both processes writing through node 1 (one
writer node: the mode the README recommends), (c) on the cluster with one
process on node 1 and one on node 2 (two writer nodes: their claims collide and
lose to Galera certification, error 1213, and are re-run). Each cluster run is
reported as a ratio to (a), with the 1213 conflicts retried per 1,000 claims
(db.retry_stats, counted in db.run_in_transaction's retry path). The cluster is
started by tests/galera/cluster.py in a temporary folder on free loopback ports
(about 15 s) and stopped afterwards; all three nodes share this machine's cores.

    python bench/bench_galera.py [--quick] [--json]
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_dispatch
import bench_path
import benchlib
from benchlib import Bench, Figure, Row

import db
import scheduler_config
from tests.galera.cluster import Cluster, ClusterError, find_free_base_port, provider_path

PROCESSES = 2


@dataclasses.dataclass
class GaleraRun:
    """Two dispatcher processes' totals: leads handled, wall time, 1213 conflicts."""

    label: str
    handled: int = 0
    claimed: int = 0
    seconds: float = 0.0
    conflicts: int = 0
    deferred: int = 0
    other_retries: int = 0

    @property
    def rate(self) -> float:
        return self.handled / self.seconds if self.seconds else 0.0

    @property
    def conflicts_per_1000(self) -> float:
        return 1000 * self.conflicts / self.claimed if self.claimed else 0.0


def _start(limit: int, seed: int, stderr: Any, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, str(bench_path.BENCH_DIR / "dispatch_worker.py"),
               "--limit", str(limit), "--seed", str(seed)]  # fmt: skip
    return subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
        env={**os.environ, **env},
    )  # fmt: skip


def run_pair(bench: Bench, label: str, hosts: list[str], limit: int) -> GaleraRun:
    """Start one worker per DB_HOST in `hosts` together; wait until nothing is due."""
    result = GaleraRun(label)
    workers: list[tuple[subprocess.Popen[str], Any]] = []
    env = {"DB_DATABASE": bench.settings.database, "DB_PORT": str(bench.settings.port)}
    with contextlib.ExitStack() as stack:
        stack.callback(bench_dispatch._stop_workers, workers)
        for index, host in enumerate(hosts):
            stderr = stack.enter_context(tempfile.TemporaryFile("w+"))
            worker = _start(limit, bench.seed + 100 * index, stderr, {**env, "DB_HOST": host})
            workers.append((worker, stderr))
        for worker, err in workers:
            bench_dispatch._read(worker, err)
        started = time.time()
        for worker, _ in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        done = [bench_dispatch._read_until_done(w, e)[-1] for w, e in workers]
    result.seconds = max(line["time"] for line in done) - started
    result.handled = sum(line["handled"] for line in done)
    result.claimed = sum(line["claimed"] for line in done)
    result.deferred = sum(line["deferred"] for line in done)
    for line in done:
        retries = {int(code): n for code, n in line.get("retries", {}).items()}
        result.conflicts += retries.pop(1213, 0)
        result.other_retries += sum(retries.values())
    return result


@contextlib.contextmanager
def _cluster() -> Any:
    root = Path(tempfile.mkdtemp(prefix="bench-galera-"))
    cluster = Cluster(root, find_free_base_port())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def run(bench: Bench) -> Figure:
    """Measure figure 9."""
    figure = Figure(9, "Dispatch on a Galera cluster (simulation)")
    count, limit = bench.size(4000, 600), bench.size(500, 100)
    try:
        provider_path()
    except ClusterError as exc:
        figure.notes = [f"not measured: {exc}"]
        return figure
    own = f"{bench.settings.host}:{bench.settings.port}"
    bench_dispatch.fill_due_calls(bench, count)
    single = run_pair(bench, "single server", [own] * PROCESSES, limit)
    started = time.perf_counter()
    with _cluster() as cluster:
        up = time.perf_counter() - started
        on_cluster = Bench(
            dataclasses.replace(bench.settings, host="127.0.0.1", port=cluster.nodes[1].port),
            bench.quick,
            bench.seed,
        )
        saved = {key: os.environ.get(key) for key in ("DB_HOST", "DB_PORT")}
        # Bench.reset writes the configuration through the library (DB_* in the environment).
        os.environ.update(DB_HOST="127.0.0.1", DB_PORT=str(cluster.nodes[1].port))
        db.close_connection()
        try:
            bench_dispatch.fill_due_calls(on_cluster, count)
            one = run_pair(on_cluster, "one writer", [cluster.db_host(1)] * PROCESSES, limit)
            bench_dispatch.fill_due_calls(on_cluster, count)
            two = run_pair(
                on_cluster, "two writers", [cluster.db_host(1), cluster.db_host(2)], limit
            )
        finally:
            db.close_connection()
            os.environ.update({k: v for k, v in saved.items() if v is not None})
            scheduler_config.clear_config_cache()
    figure.rows = [
        Row(f"{PROCESSES} dispatchers, single server, {count:,} due calls", single.rate,
            "leads/s", floor=single.rate, floor_label="leads/s, single server", ratio=1.0),
        *[
            Row(
                f"{PROCESSES} dispatchers, Galera, {run_.label} "
                f"({run_.conflicts_per_1000:.0f} conflicts/1,000 claims)",
                run_.rate, "leads/s", floor=single.rate, floor_label="leads/s, single server",
                ratio=benchlib.ratio(run_.rate, single.rate),
            )
            for run_ in (one, two)
        ],
    ]  # fmt: skip
    figure.notes = [
        f"leads handled: single {single.handled}, one writer {one.handled}, two writers "
        f"{two.handled}; expected {count} each; deferred (must be 0): "
        f"{single.deferred + one.deferred + two.deferred}",
        "1213 conflicts retried per 1,000 claims: "
        + ", ".join(
            f"{r.label} {r.conflicts_per_1000:.1f} ({r.conflicts})" for r in (single, one, two)
        )
        + f"; other retries: {one.other_retries + two.other_retries}; each conflict re-runs a "
        f"whole claim transaction (up to {limit} rows)",
        f"{limit} claims per cycle; the 3 nodes (64M buffer pool each, "
        "innodb_flush_log_at_trx_commit=2, certification on every commit) share this "
        f"machine's cores with the dispatchers; cluster start-up {up:.0f} s (not timed)",
    ]
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
