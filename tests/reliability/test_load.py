"""Sustained load: 50,000 leads and 100,000 schedules, dispatched in simulation.

Memory must stay flat and the claim query must stay on its index. Throughput is
printed (run with -s to see it), not asserted: timings on a shared machine are
not a test; bench/ measures them against a floor.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

import db
import queries
from clock import to_db, utc_now
from despachar_llamadas import dispatch_due_calls
from tests.helpers import sql
from tests.test_dispatcher import all_day_working_time, unaccounted_leads

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.slow]
LEADS = 50_000
DISPATCH_SECONDS = 75  # a bound on the work, not an assertion


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fill(now) -> None:
    """50k leads; each has one old completed call, and one pending call: half due now."""
    due, later, old = (
        to_db(now - timedelta(minutes=5)),
        to_db(now + timedelta(days=2)),
        to_db(now - timedelta(days=3)),
    )
    with db.transaction("fill leads") as cur:
        cur.executemany(
            "INSERT INTO leads (nombre, apellidos, telefono) VALUES ('Load', %s, %s)",
            [(str(i), f"+346{10000000 + i:08d}") for i in range(LEADS)],
        )
    with db.transaction("fill schedules") as cur:
        cur.execute(
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
            "SELECT id, %s, 1, 'completed' FROM leads",
            (old,),
        )
        cur.execute(
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
            "SELECT id, IF(id %% 2 = 0, %s, %s), 2, 'pending' FROM leads",
            (due, later),
        )


def test_sustained_dispatch_keeps_memory_flat_and_the_index(capsys):
    all_day_working_time()
    fill(utc_now())
    assert sql("SELECT COUNT(*) AS n FROM call_schedule")[0]["n"] == 2 * LEADS
    batches, rss, claimed = [], [], 0
    deadline = time.monotonic() + DISPATCH_SECONDS
    seed = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        summary = dispatch_due_calls(simulate=True, seed=seed, limit=500)
        seed += 1
        claimed += summary.claimed
        if summary.claimed == 0:
            break
        batches.append(summary.claimed / (time.perf_counter() - started))
        rss.append(rss_kib())
    assert len(batches) >= 5, "too little was dispatched to say anything"
    # Memory: flat, not growing with the rows dispatched (allow 32 MiB of noise).
    assert max(rss) - rss[0] < 32 * 1024, (rss[0], max(rss))
    # The claim query stays on the due index, not a table scan. With two distinct times in
    # the data MariaDB may pick 'ref' on the status over 'range': both read the index in
    # scheduled_at order and stop at the first row not due (index condition pushdown), so
    # what is checked is the rows read, with the backlog of later calls still pending.
    with db.transaction() as cur:
        params = {"now": to_db(utc_now()), "limit": 500}
        cur.execute("EXPLAIN " + queries.CLAIM_DUE_CALLS.sql, params)
        plan = cur.fetchall()
        cur.execute("FLUSH STATUS")
        cur.execute(queries.CLAIM_DUE_CALLS.sql, params)
        due_now = len(cur.fetchall())
        cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        handler = {r["Variable_name"]: int(r["Value"]) for r in cur.fetchall()}
    schedule_step = next(step for step in plan if step["table"] == "cs")
    assert schedule_step["key"] == "idx_call_schedule_due"
    assert schedule_step["type"] in ("range", "ref"), schedule_step
    assert sql("SELECT COUNT(*) AS n FROM call_schedule WHERE status = 'pending'")[0]["n"] > 1000
    assert handler["Handler_read_rnd_next"] == 0  # no table scan
    assert handler["Handler_read_next"] <= 2 * (due_now + 1), (due_now, handler)
    calls = sql("SELECT COUNT(*) AS n, COUNT(DISTINCT schedule_id) AS d FROM pearl_calls")[0]
    assert calls["n"] == calls["d"] == claimed  # every claimed schedule dialled exactly once
    assert unaccounted_leads() == []
    third = max(1, len(batches) // 3)
    with capsys.disabled():
        print(
            f"\nload: {calls['n']} calls in {len(batches)} batches; leads/s first third "
            f"{sum(batches[:third]) / third:.0f}, last third {sum(batches[-third:]) / third:.0f}; "
            f"RSS {rss[0] // 1024} -> {max(rss) // 1024} MiB"
        )
