"""The dispatcher's heartbeat: one `dispatcher_runs` row per run.

The dispatcher calls `start_run` when a run begins and `finish_run` when it ends (also
after an error, with the error's text). Each is its own short transaction, so a run that
dies in between leaves a row with no `finished_at`: monitoring
(probar_llamadas_programadas.py) pages when no run finished recently during working
time, or when the last runs placed no call while calls were due.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import db
import queries
from clock import from_db, to_db, utc_now

logger = logging.getLogger(__name__)

# The counts kept in columns of their own; the whole summary is stored as JSON too.
COUNT_KEYS = ("due", "claimed", "placed", "failed")
_ERROR_LENGTH = 500
_SUMMARY_LENGTH = 60_000


def _check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not 1 <= len(run_id) <= 36:
        raise ValueError(f"run_id must be text of 1-36 characters, got {run_id!r:.60}")
    return run_id


def start_run(run_id: str, now: datetime | None = None) -> None:
    """Record that dispatcher run `run_id` started at `now` (default: the clock).

    Idempotent for the same run id. Raises ValueError for a bad run id or a naive
    `now`, database errors after rollback.
    """
    _check_run_id(run_id)
    started = to_db(now or utc_now())
    db.run_in_transaction(
        lambda cur: db.execute(
            cur, queries.START_DISPATCHER_RUN, {"run_id": run_id, "started_at": started}
        ),
        name=f"start dispatcher run {run_id}",
    )


def _count(summary: Mapping[str, Any], key: str) -> int:
    value = summary.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, value)


def finish_run(
    run_id: str,
    summary: Mapping[str, Any],
    exit_code: int,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record how run `run_id` ended.

    `summary` is the run's counts: `due` (calls due in working time that the run meant
    to place), `claimed`, `placed`, `failed` (placements that failed) are stored in
    their own columns (missing keys count 0); the whole mapping, with any per-outcome
    breakdown, is stored as JSON. `error` is one line (cut to 500 characters; never a
    phone number or secret). A run never started gets its row created here.
    Raises ValueError for a bad run id, database errors after rollback.
    """
    _check_run_id(run_id)
    finished = to_db(now or utc_now())
    text = json.dumps(dict(summary), sort_keys=True, default=str)
    if len(text) > _SUMMARY_LENGTH:
        text = json.dumps({key: _count(summary, key) for key in COUNT_KEYS} | {"truncated": True})
    params = {
        "run_id": run_id,
        "finished_at": finished,
        "exit_code": int(exit_code),
        "summary": text,
        "error": None if error is None else " ".join(str(error).split())[:_ERROR_LENGTH],
        **{key: _count(summary, key) for key in COUNT_KEYS},
    }

    def work(cur) -> None:
        if db.execute(cur, queries.FINISH_DISPATCHER_RUN, params) == 0:
            row = db.fetch_one(cur, queries.DISPATCHER_RUN_BY_RUN_ID, params)
            if row is None:  # start_run failed or was never called: still leave a trace
                db.execute(
                    cur, queries.START_DISPATCHER_RUN, {"run_id": run_id, "started_at": finished}
                )
                db.execute(cur, queries.FINISH_DISPATCHER_RUN, params)

    db.run_in_transaction(work, name=f"finish dispatcher run {run_id}")


def last_finished_run(cur, now: datetime) -> dict | None:
    """The run that finished most recently at or before `now` (times aware UTC), or None."""
    row = db.fetch_one(cur, queries.LAST_FINISHED_DISPATCHER_RUN, {"now": to_db(now)})
    return None if row is None else _aware(row)


def recent_runs(cur, now: datetime, limit: int) -> list[dict]:
    """The last `limit` runs finished at or before `now`, newest first."""
    rows = db.fetch_all(
        cur, queries.RECENT_FINISHED_DISPATCHER_RUNS, {"now": to_db(now), "limit": int(limit)}
    )
    return [_aware(row) for row in rows]


def is_failed_run(run: Mapping[str, Any]) -> bool:
    """A run that placed no call although calls were due, or that ended with an error code."""
    return (run.get("exit_code") or 0) != 0 or (run["due"] > 0 and run["placed"] == 0)


def _aware(row: dict) -> dict:
    return {
        **row,
        "started_at": from_db(row["started_at"]),
        "finished_at": from_db(row["finished_at"]),
    }
