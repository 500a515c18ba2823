"""The call lifecycle on a real 3-node Galera cluster: two dispatcher processes on two nodes,
webhook results through the third, against the fake Pearl server; then the node a running
dispatcher (and the webhook process) uses is SIGKILLed mid-run, and rejoins with equal data.

The properties, each run: every lead POSTed at most once per schedule, attempts counted =
calls that reached Pearl (and = webhook results delivered), no lead lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

import db
from clock import to_db, utc_now
from tests.fake_pearl import CallScript
from tests.galera.conftest import data_hash
from tests.helpers import ROOT, set_config, sql
from tests.test_dispatcher import all_day_working_time, bulk_due_leads, unaccounted_leads

pytestmark = [pytest.mark.galera, pytest.mark.slow, pytest.mark.usefixtures("on_cluster")]

IN_FLIGHT = "('claimed', 'placing', 'placed', 'uncertain')"


def _in_flight() -> int:
    return sql(f"SELECT COUNT(*) AS n FROM pearl_calls WHERE state IN {IN_FLIGHT}")[0]["n"]


def _dispatcher_lane(env: dict, codes: list, stop: threading.Event, max_runs: int = 25) -> None:
    """Run `despachar_llamadas.py` until a run claims nothing (or `stop`); keep exit codes
    (and, as ("stderr", text) items, what each run wrote on stderr)."""
    try:
        for _ in range(max_runs):
            proc = subprocess.run(
                [sys.executable, "despachar_llamadas.py", "--limit", "100",
                 "--max-concurrent", "4", "--json"],
                cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            codes.append(proc.returncode)
            codes.append(("stderr", proc.stderr))
            if proc.returncode not in (0, 3):
                raise AssertionError(f"dispatcher exited {proc.returncode}: {proc.stderr[-2000:]}")
            if proc.returncode == 0 and json.loads(proc.stdout).get("claimed", 0) == 0:
                return
            if stop.is_set():
                return
    finally:
        db.close_connection()


def _exits(lane: list) -> list[int]:
    return [item for item in lane if isinstance(item, int)]


def _stderr(lane: list) -> str:
    return "".join(item[1] for item in lane if isinstance(item, tuple))


def _webhooks(env: dict, leads: list[int], count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.galera.webhook_worker", "--leads",
         ",".join(map(str, leads)), "--count", str(count)],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _webhook_leads(n: int) -> list[int]:
    with db.transaction("webhook leads") as cur:
        cur.executemany(
            "INSERT INTO leads (nombre, telefono) VALUES ('Webhook', %s)",
            [(f"+3469{i:07d}",) for i in range(n)],
        )
    return [r["id"] for r in sql("SELECT id FROM leads WHERE nombre = 'Webhook' ORDER BY id")]


def _settle(pearl_env: dict) -> None:
    """Dispatcher runs on node 1 until no call is placed or under reconciliation (results
    collected); what is left is checked by the properties."""
    for _ in range(10):
        # Every dispatcher has stopped. A call still 'placing' lost its run between the POST
        # and saving the request id (a node killed during that COMMIT): production makes it
        # uncertain when its lease (claim_lease_minutes, 5) runs out and reconciles it by its
        # callRef. Let the lease run out now instead of waiting for it.
        sql(
            "UPDATE pearl_calls SET lease_expires_at = %s WHERE state = 'placing'",
            (to_db(utc_now() - timedelta(seconds=1)),),
        )
        left = sql(
            "SELECT COUNT(*) AS n FROM pearl_calls WHERE state IN ('placing', 'placed', "
            "'uncertain')"
        )[0]["n"]
        if left == 0:
            return
        codes: list[int] = []
        _dispatcher_lane(pearl_env, codes, threading.Event(), max_runs=1)


def _check_properties(fake_pearl, dialled: list[int], webhook_leads: list[int], delivered) -> None:
    posts = Counter(r.json["to"] for r in fake_pearl.requests_for("make_call"))
    assert posts and max(posts.values()) == 1  # every lead POSTed at most once (one schedule)
    leads = {r["id"]: r for r in sql("SELECT id, telefono, call_attempts_count FROM leads")}
    for lead_id in dialled:  # attempts counted = calls that reached Pearl
        counted = leads[lead_id]["call_attempts_count"]
        rows = sql("SELECT * FROM pearl_calls WHERE lead_id = %s", (lead_id,))
        assert counted == posts[leads[lead_id]["telefono"]], (lead_id, rows)
    for lead_id in webhook_leads:  # every webhook result counted exactly once
        assert leads[lead_id]["call_attempts_count"] == delivered.get(str(lead_id), 0), lead_id
    assert unaccounted_leads() == []  # no lead lost
    assert sql(
        "SELECT lead_id FROM call_schedule WHERE status = 'pending' "
        "GROUP BY lead_id HAVING COUNT(*) > 1"
    ) == []  # fmt: skip


def _setup(fake_pearl, leads: int) -> tuple[list[int], list[int]]:
    all_day_working_time()
    set_config("default_max_attempts", "1000")
    set_config("call_result_timeout_minutes", "60")
    fake_pearl.default_script = CallScript(status=7, queued_polls=0, in_progress_polls=0)
    dialled = bulk_due_leads(leads, utc_now() - timedelta(minutes=1))
    return dialled, _webhook_leads(20)


def test_two_dispatchers_on_two_nodes_and_webhooks_through_the_third(on_cluster, fake_pearl):
    dialled, webhook_leads = _setup(fake_pearl, 800)
    pearl = {**fake_pearl.env(), "PEARL_MAX_RETRIES": "0"}
    hooks = _webhooks({"DB_HOST": on_cluster.db_host(3)}, webhook_leads, 300)
    codes: list[list[int]] = [[], []]
    stop = threading.Event()
    lanes = [
        threading.Thread(
            target=_dispatcher_lane, args=({**pearl, "DB_HOST": on_cluster.db_host(n)}, c, stop)
        )
        for n, c in zip((1, 2), codes, strict=True)
    ]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    out, err = hooks.communicate(timeout=300)
    assert hooks.returncode == 0, err[-2000:]
    _settle({**pearl, "DB_HOST": on_cluster.db_host(1)})

    assert all(code == 0 for lane in codes for code in _exits(lane)), codes
    conflicts = sum(_stderr(lane).count("MySQL error 1213") for lane in codes)
    print(f"cross-node conflicts retried by the dispatchers: {conflicts}")
    assert fake_pearl.count("make_call") == 800  # every due lead dialled, by one node or other
    _check_properties(fake_pearl, dialled, webhook_leads, json.loads(out)["delivered"])
    hashes = {n: data_hash(on_cluster, n, os.environ["DB_DATABASE"]) for n in (1, 2, 3)}
    assert len(set(hashes.values())) == 1, hashes


def test_node_killed_under_a_running_dispatcher_and_webhooks(on_cluster, fake_pearl):
    dialled, webhook_leads = _setup(fake_pearl, 300)
    fake_pearl.slow("make_call", 0.03, times=1_000_000)  # runs last long enough to be cut
    pearl = {**fake_pearl.env(), "PEARL_MAX_RETRIES": "0"}
    # Dispatcher A and the webhook process use node 2 first; dispatcher B uses node 1 only.
    hooks = _webhooks({"DB_HOST": on_cluster.db_host(2, 3)}, webhook_leads, 300)
    codes: list[list[int]] = [[], []]
    stop = threading.Event()
    envs = [
        {**pearl, "DB_HOST": on_cluster.db_host(2, 3, 1)},
        {**pearl, "DB_HOST": on_cluster.db_host(1)},
    ]
    lanes = [
        threading.Thread(target=_dispatcher_lane, args=(env, c, stop))
        for env, c in zip(envs, codes, strict=True)
    ]
    for lane in lanes:
        lane.start()
    deadline = time.monotonic() + 120
    while fake_pearl.count("make_call") < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    on_cluster.kill(2)  # mid-run: claims, POSTs and webhook results are in progress
    killed_after = fake_pearl.count("make_call")
    for lane in lanes:
        lane.join()
    out, err = hooks.communicate(timeout=300)
    assert hooks.returncode == 0, err[-2000:]
    # The next run continues: whatever a cut run left due is dialled now.
    _dispatcher_lane(envs[0], codes[0], threading.Event())
    _settle({**pearl, "DB_HOST": on_cluster.db_host(1)})

    assert 60 <= killed_after < 300
    assert all(code in (0, 3) for lane in codes for code in _exits(lane)), codes
    # The kill reached the running dispatcher on node 2: it failed over or exited 3.
    assert "failing over" in _stderr(codes[0]) or 3 in _exits(codes[0]), codes[0]
    _check_properties(fake_pearl, dialled, webhook_leads, json.loads(out)["delivered"])
    assert fake_pearl.count("make_call") + _in_flight() >= 300  # dialled or still held

    assert on_cluster.restart(2) == "IST"  # rejoins incrementally at its recovered position
    on_cluster.wait_size(3)
    hashes = {n: data_hash(on_cluster, n, os.environ["DB_DATABASE"]) for n in (1, 2, 3)}
    assert len(set(hashes.values())) == 1, hashes
