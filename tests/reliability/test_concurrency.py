"""Concurrent dispatchers with concurrent result processing, and dispatchers killed with
SIGKILL at random points: no schedule dialled twice, no lead lost, attempts counted once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

import db
from call_manager_scheduler_integration import enhanced_process_call_result
from clock import utc_now
from despachar_llamadas import dispatch_due_calls
from pearl_client import PearlClient
from tests.fake_pearl import CallScript
from tests.helpers import set_config, sql
from tests.test_dispatcher import (
    all_day_working_time,
    bulk_due_leads,
    dispatch_lane,
    unaccounted_leads,
)

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_four_dispatchers_and_a_result_processor_at_once():
    all_day_working_time()
    set_config("default_max_attempts", "1000")
    dialled = bulk_due_leads(2000, utc_now() - timedelta(minutes=1))
    originals = {r["id"] for r in sql("SELECT id FROM call_schedule")}
    # Leads that only receive webhook results while the dispatchers run.
    with db.transaction() as cur:
        cur.executemany(
            "INSERT INTO leads (nombre, telefono) VALUES ('Webhook', %s)",
            [(f"+3469{i:07d}",) for i in range(20)],
        )
    others = [r["id"] for r in sql("SELECT id FROM leads WHERE nombre = 'Webhook'")]
    done = threading.Event()
    samples, webhook_errors, delivered = [], [], Counter()

    def webhooks() -> None:
        rng = random.Random(5)
        try:
            while not done.is_set():
                lead_id = rng.choice(others)
                n = delivered[lead_id]
                enhanced_process_call_result(
                    lead_id,
                    {"outcome": rng.choice(["busy", "no_answer"]), "call_id": f"w{lead_id}-{n}"},
                )
                delivered[lead_id] += 1
        except Exception as exc:
            webhook_errors.append(exc)
        finally:
            db.close_connection()

    def sampler() -> None:
        try:
            while not done.is_set():
                rows = sql(
                    "SELECT lead_id, COUNT(*) AS n FROM call_schedule WHERE status = 'pending' "
                    "GROUP BY lead_id HAVING COUNT(*) > 1"
                )
                samples.append(len(rows))
                time.sleep(0.05)
        finally:
            db.close_connection()

    background = [threading.Thread(target=webhooks), threading.Thread(target=sampler)]
    for thread in background:
        thread.start()
    start = threading.Barrier(4)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            lanes = [
                f.result() for f in [pool.submit(dispatch_lane, start, 100, 40) for _ in range(4)]
            ]
    finally:
        done.set()
        for thread in background:
            thread.join(60)

    assert webhook_errors == []
    assert samples and max(samples) == 0  # never two pending calls for one lead
    assert sum(run["claimed"] for lane in lanes for run in lane) == 2000
    calls = sql(
        "SELECT schedule_id, lead_id, outcome FROM pearl_calls WHERE schedule_id IS NOT NULL"
    )
    assert Counter(c["schedule_id"] for c in calls) == Counter(originals)  # each exactly once
    assert all(c["outcome"] for c in calls)
    attempts = {
        r["id"]: r["call_attempts_count"] for r in sql("SELECT id, call_attempts_count FROM leads")
    }
    assert all(attempts[lead_id] == 1 for lead_id in dialled)
    for lead_id in others:  # every webhook counted exactly once
        assert attempts[lead_id] == delivered[lead_id]
    assert unaccounted_leads() == []


def _recover(fake_pearl, at) -> None:
    """Dispatcher runs after the result timeout, until nothing is in flight or due."""
    with time_machine.travel(at, tick=False):
        client = PearlClient(fake_pearl.settings(max_retries=0))
        try:
            for _ in range(10):
                summary = dispatch_due_calls(
                    client=client, outbound_id=fake_pearl.outbound_ids[0], now=at, limit=500
                )
                in_flight = sql(
                    "SELECT COUNT(*) AS n FROM pearl_calls"
                    " WHERE state IN ('claimed', 'placing', 'placed', 'uncertain')"
                )[0]["n"]
                if summary.claimed == 0 and in_flight == 0:
                    return
        finally:
            client.close()
    raise AssertionError("recovery did not settle every call")


def test_dispatchers_killed_at_random_points_lose_nothing(fake_pearl):
    all_day_working_time()
    set_config("call_result_timeout_minutes", "60")
    lead_ids = bulk_due_leads(150, utc_now() - timedelta(minutes=1))
    fake_pearl.default_script = CallScript(status=7, queued_polls=0, in_progress_polls=0)
    fake_pearl.slow("make_call", 0.15, times=1_000_000)
    env = {**fake_pearl.env(), "PEARL_MAX_RETRIES": "0", "PEARL_READ_TIMEOUT": "10"}
    rng = random.Random(20261124)
    for kill in range(25):
        runs_before = sql("SELECT COUNT(*) AS n FROM dispatcher_runs")[0]["n"]
        proc = subprocess.Popen(
            [sys.executable, "despachar_llamadas.py", "--limit", "8", "--max-concurrent", "2"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if kill % 5 == 0:  # some kills land in start-up, timed from the spawn
            time.sleep(rng.uniform(0.0, 0.5))
        else:  # the others timed from the run's start (its heartbeat row), whatever the load
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if sql("SELECT COUNT(*) AS n FROM dispatcher_runs")[0]["n"] > runs_before:
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.8))  # collect, claim, pre-flight, POST, save
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert unaccounted_leads() == []  # pending, in flight, completed or closed
    posts = Counter(r.json["to"] for r in fake_pearl.requests_for("make_call"))
    assert posts and max(posts.values()) == 1  # nobody dialled twice within the timeout

    _recover(fake_pearl, utc_now() + timedelta(hours=2))

    assert unaccounted_leads() == []
    leads = {r["id"]: r for r in sql("SELECT * FROM leads")}
    for lead_id in lead_ids:
        row = leads[lead_id]
        counted = sql(
            "SELECT COUNT(*) AS n FROM pearl_calls WHERE lead_id = %s AND outcome IS NOT NULL",
            (lead_id,),
        )[0]["n"]
        assert row["call_attempts_count"] == counted, lead_id  # each processed call once
        pending = sql(
            "SELECT id FROM call_schedule WHERE lead_id = %s AND status = 'pending'", (lead_id,)
        )
        assert (
            len(pending) == 1
            or (row["lead_status"] == "closed" and row["closure_reason"])
            or row["call_status"] == "completed"
        ), row
