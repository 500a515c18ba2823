"""The HTTP server with figure 7's floor endpoints: ``uvicorn bench_server:app --app-dir bench``.

The production application (servidor.app) unchanged, plus three token-protected endpoints that
receive the same requests as Pearl's webhook and share its token check, body read, JSON
decoding, database threads and error mapping (servidor._apply_json), then do a fixed amount of
database work instead of the webhook's:

    POST /bench/floor       one bare transaction that reads one configuration row
    POST /bench/floor-write one bare transaction that writes one row of the call's lead
                            (callData.lead_id) and commits durably
    POST /bench/same-sql    the statements a finished call's webhook sends, by hand: lock the
                            lead and the call row (callData.callRef) in one statement; when
                            that row has no result yet, record the body on it, count the
                            attempt and move the lead's pending call (db.defer: sent with the
                            COMMIT, as the library sends them); no classification, no rules

Only the benchmark starts it; production runs ``servidor:app``, which has none of these.
"""

from __future__ import annotations

import json
from typing import Any

import bench_path  # noqa: F401  (puts the repository root on sys.path)
import bench_sql
from fastapi import Request
from fastapi.responses import JSONResponse

import db
import queries
import servidor
from clock import to_db, utc_now

app = servidor.app

# The by-hand floor records every call as this outcome (one of the commonest: a retry).
SAME_SQL_OUTCOME = "busy"


def _call_data(payload: Any) -> dict[str, Any]:
    data = payload.get("callData") if isinstance(payload, dict) else None
    return data if isinstance(data, dict) else {}


def floor_read(_payload: Any) -> None:
    """/bench/floor's transaction."""
    with db.transaction("bench floor") as cur:
        db.fetch_one(cur, bench_sql.FLOOR_READ)


def floor_write(payload: Any) -> None:
    """/bench/floor-write's transaction."""
    lead_id = _call_data(payload).get("lead_id") or 0
    with db.transaction("bench write floor") as cur:
        db.execute(cur, bench_sql.FLOOR_WRITE, {"now": to_db(utc_now()), "lead_id": lead_id})


def same_sql(payload: Any) -> None:
    """/bench/same-sql's transaction: the library's own statements for a finished call whose
    row the webhook names, in the library's two round trips, without its decisions."""
    data = _call_data(payload)
    lead_id, row_id = data.get("lead_id") or 0, data.get("callRef") or 0
    call_id, request_id = payload.get("id"), payload.get("requestId")
    raw = json.dumps(payload, ensure_ascii=False)

    def work(cur: Any) -> None:
        now = to_db(utc_now())
        found = db.fetch_one(
            cur,
            queries.LOCK_LEAD_WITH_CALL_ROW,
            {"lead_id": lead_id, "row_id": row_id, "call_id": call_id, "request_id": request_id},
        )
        if found is None or found["call_row_outcome"] is not None:
            return  # no such lead, or a repeated delivery: nothing to write
        db.defer(cur, queries.COMPLETE_PEARL_CALL, {
            "state": "completed", "outcome": SAME_SQL_OUTCOME, "provisional": False,
            "simulated": False, "call_id": call_id, "request_id": request_id,
            "pearl_status": payload.get("status"),
            "conversation_status": payload.get("conversationStatus"),
            "error_message": None, "raw_response": raw, "now": now, "row_id": row_id,
        })  # fmt: skip
        db.defer(cur, queries.RECORD_ATTEMPT, {
            "now": now, "call_status": SAME_SQL_OUTCOME, "status_level_1": None,
            "status_level_2": None, "lead_id": lead_id,
        })  # fmt: skip
        db.defer(cur, queries.UPSERT_PENDING_SCHEDULE, {
            "lead_id": lead_id, "scheduled_at": now,
            "attempt_number": found["call_attempts_count"] + 2,
            "last_outcome": SAME_SQL_OUTCOME, "now": now,
        })  # fmt: skip

    db.run_in_transaction(work, name="bench same statements by hand")


def _endpoint(path: str, work: Any) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        answer = await servidor._apply_json(request, work, "floor")
        return answer if isinstance(answer, JSONResponse) else JSONResponse({"status": "ok"})

    app.post(path, include_in_schema=False)(endpoint)


_endpoint("/bench/floor", floor_read)
_endpoint("/bench/floor-write", floor_write)
_endpoint("/bench/same-sql", same_sql)
