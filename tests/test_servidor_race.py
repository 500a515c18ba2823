"""Webhooks racing the dispatcher's poll for the same calls: every call counted exactly once.

Real parts only: the dispatcher places calls through the fake Pearl HTTP server; then, at
the same time, two dispatcher processes poll Pearl for those calls while a pool of threads
delivers each call's webhooks (a start event, the end event twice, some in PascalCase, in
shuffled order) to the server running with two worker processes.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

import db
from clock import to_db, utc_now
from despachar_llamadas import dispatch_due_calls
from pearl_client import PearlClient
from tests.fake_pearl import CallScript, FakePearl
from tests.helpers import run_script, set_config, sql
from tests.servidor_process import TOKEN, ServerProcess

pytestmark = pytest.mark.usefixtures("clean_db")

LEADS = 40


def all_day_working_time() -> None:
    """Every instant is working time (subprocesses use the real clock)."""
    offset = (12 - utc_now().hour + 12) % 24 - 12
    set_config("timezone", "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}")
    set_config("working_days", "1,2,3,4,5,6,7")
    set_config("working_hours_start", "00:00")
    set_config("working_hours_end", "23:59:59")
    set_config("holidays", "")


def phone(n: int) -> str:
    return f"+34612{n:06d}"


def due_leads(count: int) -> list[int]:
    with db.transaction("race leads") as cur:
        cur.executemany(
            "INSERT INTO leads (nombre, apellidos, telefono) VALUES ('Race', %s, %s)",
            [(str(i), phone(i)) for i in range(count)],
        )
        cur.execute(
            "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
            "SELECT id, %s, 1, 'pending' FROM leads WHERE nombre = 'Race'",
            (to_db(utc_now() - timedelta(minutes=1)),),
        )
        cur.execute("SELECT id FROM leads WHERE nombre = 'Race' ORDER BY id")
        return [row["id"] for row in cur.fetchall()]


def pascal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


@pytest.fixture(scope="module")
def server(test_database) -> Iterator[ServerProcess]:
    with ServerProcess(workers=2) as running:
        yield running


def test_webhooks_and_two_dispatchers_race_for_the_same_calls(server, fake_pearl: FakePearl):
    all_day_working_time()
    lead_ids = due_leads(LEADS)
    for i in range(LEADS):  # a mix of results: success, busy, no answer
        status = (4, 5, 7)[i % 3]
        fake_pearl.script(
            phone(i),
            CallScript(status=status, conversation_status=100 if status == 4 else 10,
                       queued_polls=0, in_progress_polls=0),
        )  # fmt: skip
    with PearlClient(fake_pearl.settings()) as client:
        placed = dispatch_due_calls(client=client, outbound_id=fake_pearl.outbound_ids[0])
        assert placed.placed == LEADS
        events: list[tuple[str, dict]] = []
        for request in fake_pearl.placed_calls():
            call_id = client.get_call_request(request["id"])["callId"]
            call = client.get_call(call_id) | {"callData": request["callData"]}
            assert call["status"] in (4, 5, 7)
            start = {"id": call_id, "status": 3, "to": call["to"]}
            end = pascal(call) if len(events) % 4 == 0 else call
            events += [(call_id, start), (call_id, end), (call_id, end)]
    random.Random(12).shuffle(events)

    answers: list[tuple[str, int, dict]] = []
    lock = threading.Lock()
    go = threading.Barrier(3)

    def deliver(batch: list[tuple[str, dict]]) -> None:
        with httpx.Client(base_url=server.url(""), timeout=60) as http:
            go.wait(timeout=60)
            for call_id, event in batch:
                answer = http.post("/webhooks/pearl/call", params={"token": TOKEN}, json=event)
                with lock:
                    answers.append((call_id, answer.status_code, answer.json()))

    def dispatcher() -> list[dict]:
        go.wait(timeout=60)
        runs = []
        for _ in range(2):
            proc = run_script("despachar_llamadas.py", "--json", env=fake_pearl.env())
            assert proc.returncode == 0, proc.stderr
            runs.append(json.loads(proc.stdout))
        return runs

    with ThreadPoolExecutor(max_workers=4) as pool:
        lanes = [pool.submit(dispatcher), pool.submit(dispatcher)]
        deliver(events)  # the third party of the barrier
        runs = [run for lane in lanes for run in lane.result()]

    assert len(answers) == len(events)
    assert {code for _, code, _ in answers} == {200}
    statuses = Counter(body["status"] for _, _, body in answers)
    assert statuses["ignored"] >= LEADS  # at least every start event
    processed = Counter(call_id for call_id, _, body in answers if body["status"] == "processed")
    assert max(processed.values(), default=0) == 1  # never applied twice by webhooks
    assert sum(run["collected"] for run in runs) + processed.total() >= LEADS

    rows = sql("SELECT lead_id, call_id, outcome, state FROM pearl_calls ORDER BY lead_id")
    assert sorted(r["lead_id"] for r in rows) == lead_ids  # exactly one row per call
    assert all(r["state"] == "completed" and r["outcome"] and r["call_id"] for r in rows)
    assert len({r["call_id"] for r in rows}) == LEADS
    attempts = sql("SELECT call_attempts_count AS n FROM leads WHERE nombre = 'Race'")
    assert [r["n"] for r in attempts] == [1] * LEADS
    outcomes = Counter(r["outcome"] for r in rows)
    assert outcomes["busy"] == len(range(1, LEADS, 3))
    assert outcomes["no_answer"] == len(range(2, LEADS, 3))
