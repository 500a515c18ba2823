"""Figure 7: end-of-call webhooks per second through the real HTTP server.

uvicorn runs servidor:app with 2 worker processes (this machine has 2 cores) against the
bench database, logging as the README's production command does (--no-access-log); a load
generator in this process (asyncio, raw HTTP/1.1 keep-alive connections on loopback, so the
client costs little next to the server) sends Pearl
end-of-call webhooks: 20,000 (2,000 with --quick), of which 20 % are repeated deliveries of
calls already sent, shuffled, each call's object as Pearl sends it (transcript, collected
info, ``callData.callRef`` = its in-flight pearl_calls row). Measured:

1. peak: a closed loop of CONNECTIONS concurrent connections, requests per second with p50
   and p99 latency; every answer must be 200, and afterwards every distinct call must have
   exactly one result and one attempt, the repeats counted as duplicates (nothing lost,
   nothing double-counted);
2. floors, the same requests to endpoints of the same server (bench_server.py: servidor's
   application plus the floors; token check, body read, JSON decoding and database threads
   shared with the webhook): ``POST /bench/floor-write``, one bare database transaction
   writing one row of the call's lead, committed durably (goal: peak >= 0.6 of it);
   ``POST /bench/same-sql``, the webhook's own statements sent by hand without its decisions
   (over fresh calls of its own: it records results); and ``POST /bench/floor``, whose bare
   transaction only reads;
3. latency at 80 % of the peak rate: an open loop (requests sent on a fixed schedule, latency
   counted from the scheduled time so a stall is not hidden) over fresh calls. Goal: p99 <
   100 ms.

    python bench/bench_webhooks.py [--quick] [--json]    # or: python bench/run.py --only 7

BENCH_WEBHOOK_WORKERS=N changes the number of uvicorn workers (default 2).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import bench_sql
import benchlib
import datagen
from benchlib import Bench, Figure, Row

import db
from tests.servidor_process import TOKEN, ServerProcess

WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS", "2"))
CONNECTIONS = 32
DUPLICATE_SHARE = 0.2
PACED_SHARE = 0.8  # of the peak rate
WEBHOOK_PATH = f"/webhooks/pearl/call?token={TOKEN}"
FLOOR_PATH = f"/bench/floor?token={TOKEN}"
WRITE_FLOOR_PATH = f"/bench/floor-write?token={TOKEN}"
SAME_SQL_PATH = f"/bench/same-sql?token={TOKEN}"
GOAL_SHARE = 0.6


@dataclass
class Run:
    """What one load run measured."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


# --- the load generator -----------------------------------------------------------------------


def _request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes):
    """Send one request on a kept-alive connection; return (status, body)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")
    )
    return status, await reader.readexactly(length)


async def _load(
    port: int, requests: list[bytes], *, rate: float | None = None, connections: int = CONNECTIONS
) -> Run:
    """Send every request over `connections` keep-alive connections: as fast as answered
    (closed loop) or, with `rate`, each at its scheduled instant (open loop)."""
    run = Run()
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for index, raw in enumerate(requests):
        queue.put_nowait((index, raw))
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                index, raw = queue.get_nowait()
                due = started + index / rate if rate else loop.time()
                if rate and due > loop.time():
                    await asyncio.sleep(due - loop.time())
                status, body = await _exchange(reader, writer, raw)
                run.latencies.append(loop.time() - due)
                run.statuses[status] += 1
                run.answers[json.loads(body).get("status", "?")] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    run.seconds = loop.time() - started
    return run


# --- data -------------------------------------------------------------------------------------


def _calls(bench: Bench, first: int, count: int, rng: random.Random) -> list[bytes]:
    """`count` leads from id `first`, each with a placed call, and their end-of-call webhook
    bodies plus DUPLICATE_SHARE repeats, shuffled (a repeat may come before its original)."""
    now = int(time.time())
    last = first + count - 1
    with benchlib.Filler(bench) as filler:
        filler.leads(datagen.leads(first, count, rng, now))
    with db.transaction("bench placed calls") as cur:
        db.execute(cur, bench_sql.PLACED_CALL_PER_LEAD, {"first": first, "last": last})
        rows = db.fetch_all(cur, bench_sql.PLACED_CALL_ROWS, {"first": first, "last": last})
        phones = {
            r["id"]: r["telefono"]
            for r in db.fetch_all(cur, bench_sql.LEAD_PHONES, {"first": first, "last": last})
        }
    kinds = datagen.call_kinds(count, rng)
    bodies = []
    for row, kind in zip(sorted(rows, key=lambda r: r["lead_id"]), kinds, strict=True):
        _, call = datagen.pearl_call(
            kind, f"bench-call-{row['lead_id']}", phones[row["lead_id"]], rng
        )
        call["callData"] = {"callRef": row["id"], "lead_id": row["lead_id"]}
        bodies.append(json.dumps(call).encode())
    repeats = rng.sample(bodies, round(count * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE)))
    bodies += repeats
    rng.shuffle(bodies)
    return bodies


def _totals(first: int, count: int) -> dict[str, int]:
    with db.transaction("bench totals") as cur:
        row = db.fetch_one(
            cur, bench_sql.WEBHOOK_RUN_TOTALS, {"first": first, "last": first + count - 1}
        )
    return {k: int(v) for k, v in row.items()}


# --- the figure -------------------------------------------------------------------------------


def run(bench: Bench) -> Figure:
    """Measure figure 7."""
    total = bench.size(20_000, 2_000)
    distinct = round(total * (1 - DUPLICATE_SHARE))
    paced_distinct = bench.size(4_000, 800)
    bench.reset(benchlib.ALWAYS_WORKING)
    rng = random.Random(bench.seed + 7)
    warm = _calls(bench, 1, 200, rng)
    peak_first = 1 + 200
    peak_bodies = _calls(bench, peak_first, distinct, rng)
    paced_first = peak_first + distinct
    paced_bodies = _calls(bench, paced_first, paced_distinct, rng)
    same_first = paced_first + paced_distinct
    same_bodies = (  # the by-hand floor records results: fresh calls for each of its runs
        _calls(bench, same_first, distinct, rng),
        _calls(bench, same_first + distinct, distinct, rng),
    )
    server = ServerProcess(
        workers=WORKERS, access_log=False, app="bench_server:app", app_dir="bench"
    )  # the production command's logging: one request line per request, no access log
    with server:
        port = server.port

        def load(path: str, bodies: list[bytes], rate: float | None = None) -> Run:
            requests = [_request(port, path, body) for body in bodies]
            return asyncio.run(_load(port, requests, rate=rate))

        load(WEBHOOK_PATH, warm)
        load(FLOOR_PATH, warm)
        load(WRITE_FLOOR_PATH, warm)
        load(SAME_SQL_PATH, warm)
        floor_before = load(FLOOR_PATH, peak_bodies)
        write_before = load(WRITE_FLOOR_PATH, peak_bodies)
        same_before = load(SAME_SQL_PATH, same_bodies[0])
        peak = load(WEBHOOK_PATH, peak_bodies)
        same_after = load(SAME_SQL_PATH, same_bodies[1])
        write_after = load(WRITE_FLOOR_PATH, peak_bodies)
        floor_after = load(FLOOR_PATH, peak_bodies)
        paced = load(WEBHOOK_PATH, paced_bodies, rate=PACED_SHARE * peak.rate)
    runs = (floor_before, floor_after, write_before, write_after, same_before, same_after)
    for floor_run in runs:
        if set(floor_run.statuses) != {200}:
            raise RuntimeError(f"a floor endpoint answered {dict(floor_run.statuses)}")
    totals = _totals(peak_first, distinct)
    floors = {
        "read": (floor_before.rate + floor_after.rate) / 2,
        "write": (write_before.rate + write_after.rate) / 2,
        "same": (same_before.rate + same_after.rate) / 2,
    }
    return _figure(total, distinct, peak, floors, paced, totals, runs)


def _figure(
    total: int,
    distinct: int,
    peak: Run,
    floors: dict[str, float],
    paced: Run,
    totals: dict[str, int],
    runs: tuple[Run, ...],
) -> Figure:
    repeats = total - distinct
    exact = (
        peak.statuses == Counter({200: total})
        and peak.answers["processed"] == distinct
        and peak.answers["duplicate"] == repeats
        and totals == {"results": distinct, "call_ids": distinct, "attempts": distinct}
    )
    share = benchlib.ratio(peak.rate, floors["write"])
    read_share = benchlib.ratio(peak.rate, floors["read"])
    same_share = benchlib.ratio(peak.rate, floors["same"])
    sql_share = benchlib.ratio(floors["same"], floors["write"])
    figure = Figure(7, "Webhooks through the HTTP server")
    figure.rows = [
        Row(f"end-of-call webhooks, {total:,} ({repeats:,} repeats), {WORKERS} workers",
            peak.rate, "req/s", floors["write"], "req/s bare write transaction", share,
            f">= {GOAL_SHARE}", share is not None and share >= GOAL_SHARE),
        Row("the same, against a bare read-only transaction", peak.rate, "req/s",
            floors["read"], "req/s bare read transaction", read_share),
        Row("the same, against its own statements sent by hand", peak.rate, "req/s",
            floors["same"], "req/s same statements by hand", same_share),
        Row("its statements by hand, against the bare write transaction", floors["same"],
            "req/s", floors["write"], "req/s bare write transaction", sql_share),
        Row(f"p99 at 80 % of peak ({paced.rate:,.0f} req/s)", paced.percentile(0.99), "ms",
            goal="< 100 ms", met=paced.percentile(0.99) < 100),
        Row("nothing lost or double-counted", 1.0 if exact else 0.0, "", goal="1",
            met=exact),
    ]  # fmt: skip
    figure.notes = [
        f"peak latency p50 {peak.percentile(0.5):.1f} ms, p99 {peak.percentile(0.99):.1f} ms "
        f"over {CONNECTIONS} connections; at 80 %: p50 {paced.percentile(0.5):.1f} ms",
        f"floor runs before/after: read {runs[0].rate:,.0f} / {runs[1].rate:,.0f} req/s, "
        f"write {runs[2].rate:,.0f} / {runs[3].rate:,.0f} req/s, "
        f"same statements by hand {runs[4].rate:,.0f} / {runs[5].rate:,.0f} req/s",
        "the goal is judged against the write floor: one bare transaction writing one row and "
        "committing durably (innodb_flush_log_at_trx_commit=1), the least a webhook that records "
        "a result must do; the read-only floor never waits for the log to reach the disk",
        "a webhook's transaction is process_call_result's (lock the lead, find and record the "
        "call with its payload, count the attempt, move the schedule: about 5 statements and a "
        "durable commit)",
        "answers: " + ", ".join(f"{k} {n}" for k, n in sorted(peak.answers.items()))
        + f"; database: {totals}",
    ]  # fmt: skip
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
