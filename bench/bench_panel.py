"""Figure 10: the dashboard's overview on a big campaign.

1,000,000 leads (20 campaigns, a third closed) and 5,000,000 calls over 90 days (quick run:
50,000 and 250,000), 30,000 pending calls. Measured: the p50 of the full overview page (GET /
through servidor's app as a logged-in supervisor: every query, the health check's alerts,
the SVG charts and the template), against the floor: the median of the single heaviest
query of the page run alone on a raw connection. Goal: page <= 2x floor, and every query an
index range scan (the EXPLAIN of each is printed in the notes).

    python bench/run.py --only 10 [--quick]
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import timedelta
from typing import Any

import bench_sql
import benchlib
from benchlib import Bench, Figure, Row

import queries
from clock import to_db, utc_now

GOAL = 2.0
CAMPAIGN = "campaign-07"


def fill(bench: Bench, leads: int, calls: int) -> float:
    """Fill the bench database; return the seconds it took."""
    started = time.perf_counter()
    conn = bench.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(bench_sql.UTC_SESSION.sql)
            cur.execute(bench_sql.PANEL_DIGITS.sql)
            cur.execute(bench_sql.PANEL_FILL_LEADS.sql, {"total": leads})
            conn.commit()
            step = 500_000
            for first in range(0, calls, step):
                last = min(calls, first + step)
                params = {"leads": leads, "first": first, "last": last}
                cur.execute(bench_sql.PANEL_FILL_CALLS.sql, params)
                conn.commit()
            cur.execute(bench_sql.PANEL_FILL_PENDING.sql, {"leads": min(leads, 90_000)})
            cur.execute(bench_sql.ANALYZE_TABLES.sql)
            cur.fetchall()
            cur.execute("ANALYZE TABLE pearl_calls")
            cur.fetchall()
        conn.commit()
    finally:
        conn.close()
    return time.perf_counter() - started


def page_queries() -> dict[str, tuple[queries.Query, dict[str, Any]]]:
    """Every query the overview runs (its own and the health check's), with its parameters."""
    now = utc_now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    today = now.date()
    return {
        "lead groups": (queries.PANEL_LEAD_GROUPS, {}),
        "lead groups, one campaign": (queries.PANEL_LEAD_GROUPS_IN_CAMPAIGN,
                                      {"campaign": CAMPAIGN}),
        "appointments this week": (queries.PANEL_APPOINTMENTS_BETWEEN,
                                   {"first": today, "last": today + timedelta(days=6),
                                    "campaign": None}),
        "due and overdue": (queries.PANEL_SCHEDULE_COUNTS,
                            {"now": to_db(now), "campaign": None,
                             "overdue_before": to_db(now - timedelta(minutes=15))}),
        "calls by state": (queries.PANEL_CALLS_BY_STATE, {"campaign": None}),
        "calls per hour, 24 h": (queries.PANEL_CALLS_BY_HOUR_ALL,
                                 {"since": to_db(hour - timedelta(hours=23)),
                                  "until": to_db(now)}),
        "calls per day, 30 days": (queries.PANEL_CALLS_BY_HOUR_ALL,
                                   {"since": to_db(now - timedelta(days=30)),
                                    "until": to_db(now)}),
        "calls per day, one campaign": (queries.PANEL_CALLS_BY_HOUR,
                                        {"since": to_db(now - timedelta(days=30)),
                                         "until": to_db(now), "campaign": CAMPAIGN}),
        "queue 48 h": (queries.PANEL_PENDING_BY_HOUR,
                       {"since": to_db(hour), "until": to_db(hour + timedelta(hours=48)),
                        "campaign": None}),
        "campaigns": (queries.PANEL_CAMPAIGNS, {"limit": 500}),
        "alerts: overdue": (queries.COUNT_OVERDUE_CALLS, {"before": to_db(now)}),
        "alerts: stranded": (queries.COUNT_STRANDED_LEADS, {}),
        "alerts: uncertain": (queries.COUNT_CALLS_BY_STATE_BEFORE,
                              {"state": "uncertain", "before": to_db(now)}),
        "alerts: last run": (queries.LAST_FINISHED_DISPATCHER_RUN, {"now": to_db(now)}),
    }  # fmt: skip


def _plan(conn: Any, query: queries.Query, params: dict[str, Any]) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(bench_sql.explain(query).sql, params)
        return list(cur.fetchall())


def _ranged(plan: list[dict]) -> bool:
    """No full table scan and no full index scan on a big table (small derived or
    const tables aside)."""
    for row in plan:
        kind = (row.get("type") or "").lower()
        table = str(row.get("table") or "")
        if table.startswith("<") or kind in ("const", "system", "eq_ref", "ref", "range",
                                              "index_merge", "ref_or_null"):  # fmt: skip
            continue
        if row.get("select_type") == "DEPENDENT SUBQUERY" and kind in ("ref", "eq_ref"):
            continue
        if table == "dispatcher_runs":  # a handful of rows in the bench
            continue
        return False
    return True


def _plan_text(plan: list[dict]) -> str:
    return "; ".join(
        f"{row['table']}: {row['type']} on {row['key']} (rows {row['rows']}"
        f"{', ' + row['Extra'] if row.get('Extra') else ''})"
        for row in plan
    )


def _client() -> Any:
    """A logged-in supervisor's client of servidor's app (in process, no network)."""
    from fastapi.testclient import TestClient

    import panel_auth
    import servidor

    password = secrets.token_urlsafe(16)
    hashed = panel_auth.hash_password(password)
    os.environ.update(PANEL_SECRET_KEY=secrets.token_urlsafe(32), PANEL_COOKIE_SECURE="0",
                      PANEL_USERS=f"bench:supervisor:{hashed}")  # fmt: skip
    servidor.app.state.panel_settings = None
    client = TestClient(servidor.app, follow_redirects=False)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"username": "bench", "password": password,
                                         "csrf_token": token})  # fmt: skip
    if answer.status_code != 303:
        raise AssertionError(f"bench login failed: {answer.status_code}")
    return client


def run(bench: Bench) -> Figure:
    """Measure figure 10."""
    leads, calls = bench.size(1_000_000, 50_000), bench.size(5_000_000, 250_000)
    fill_seconds = fill(bench, leads, calls)
    repeat = bench.size(15, 5)
    conn = bench.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(bench_sql.UTC_SESSION.sql)
        named = page_queries()
        seconds, plans = {}, {}
        for name, (query, params) in named.items():

            def once(q=query, p=params) -> None:
                with conn.cursor() as cur:
                    cur.execute(q.sql, p)
                    cur.fetchall()

            seconds[name] = benchlib.median_seconds(once, repeat, warmup=2)
            plans[name] = _plan(conn, query, params)
    finally:
        conn.close()
    client = _client()

    def render() -> None:
        answer = client.get("/")
        if answer.status_code != 200 or answer.text.count("<svg") != 5:
            raise AssertionError(f"overview failed: {answer.status_code}")

    page = benchlib.median_seconds(render, repeat, warmup=2)
    # The floor is the heaviest query the rendered page (all campaigns) runs; the campaign
    # variants are measured and EXPLAINed too, but "/" does not run them.
    heaviest = max((n for n in seconds if "one campaign" not in n), key=seconds.get)
    floor = seconds[heaviest] * 1000
    ratio = benchlib.ratio(page * 1000, floor)
    ranged = {name: _ranged(plan) for name, plan in plans.items()}
    figure = Figure(10, "Dashboard overview on a big campaign")
    figure.rows.append(Row(
        f"overview page p50 ({leads:,} leads, {calls:,} calls)", page * 1000, "ms",
        floor=floor, floor_label=f"ms ({heaviest} alone)", ratio=ratio,
        goal=f"<= {GOAL}, index range scans",
        met=ratio is not None and ratio <= GOAL and all(ranged.values())))  # fmt: skip
    for name in named:
        figure.notes.append(
            f"{name}: {seconds[name] * 1000:.1f} ms{'' if ranged[name] else ' **NOT RANGED**'}; "
            f"{_plan_text(plans[name])}"
        )
    figure.notes.append(f"fill (INSERT ... SELECT, ANALYZE): {fill_seconds:.0f} s")
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
