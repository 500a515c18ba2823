"""The per-lead floor: the smallest transaction that reschedules a lead, done by hand.

Over one open connection: SELECT the lead FOR UPDATE, UPDATE it (one more
attempt), INSERT its next call_schedule row, COMMIT. The statements are the
library's own (queries.LOCK_LEAD, RECORD_ATTEMPT, UPSERT_PENDING_SCHEDULE),
so library/floor measures everything the library adds to the database work:
Python, validation, configuration, working time, retries, logging.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import benchlib
import datagen

import queries

DELAY = timedelta(hours=4)
_CALL_STATUS = {"busy": "busy", "no_answer": "no_answer"}


def reschedule_by_hand(conn: Any) -> Callable[[tuple[int, str]], None]:
    """The floor operation on `conn`: item is (lead_id, outcome)."""

    def operation(item: tuple[int, str]) -> None:
        lead_id, outcome = item
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with conn.cursor() as cur:
            cur.execute(queries.LOCK_LEAD.sql, (lead_id,))
            lead = cur.fetchone()
            cur.execute(
                queries.RECORD_ATTEMPT.sql,
                {
                    "lead_id": lead_id,
                    "now": now,
                    "call_status": _CALL_STATUS.get(outcome, "error"),
                    "status_level_1": None,
                    "status_level_2": None,
                },
            )
            cur.execute(
                queries.UPSERT_PENDING_SCHEDULE.sql,
                {
                    "lead_id": lead_id,
                    "scheduled_at": now + DELAY,
                    "attempt_number": lead["call_attempts_count"] + 2,
                    "last_outcome": outcome,
                    "now": now,
                },
            )
        conn.commit()

    return operation


def fill_floor_leads(filler: benchlib.Filler, first_id: int, count: int, now: int) -> list[int]:
    """Open leads for the floor, with no pending call (as after a call just made)."""
    rng = random.Random(first_id)
    filler.leads(datagen.leads(first_id, count, rng, now))
    return list(range(first_id, first_id + count))


def result_by_hand(conn: Any) -> Callable[[tuple[int, dict[str, Any]]], None]:
    """Figure 2's own floor: the writes of processing one call result, by hand, on `conn`.

    Lock the lead, look the call up by its id, record it in pearl_calls with its raw
    payload, count the attempt, move the lead's pending call, COMMIT: the same statements
    the library runs for a retry, without classification, configuration or Python around
    them. Item: (lead_id, Pearl call object).
    """

    def operation(item: tuple[int, dict[str, Any]]) -> None:
        lead_id, call = item
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with conn.cursor() as cur:
            cur.execute(queries.LOCK_LEAD.sql, (lead_id,))
            lead = cur.fetchone()
            cur.execute(queries.PEARL_CALL_BY_CALL_ID.sql, (call["id"],))
            cur.fetchone()
            cur.execute(
                queries.INSERT_COMPLETED_PEARL_CALL.sql,
                {
                    "state": "completed", "lead_id": lead_id, "request_id": None,
                    "call_id": call["id"], "outcome": "busy", "provisional": False,
                    "simulated": False, "pearl_status": call.get("status"),
                    "conversation_status": call.get("conversationStatus"),
                    "error_message": None, "raw_response": json.dumps(call), "started_at": now,
                    "now": now,
                },
            )  # fmt: skip
            cur.execute(
                queries.RECORD_ATTEMPT.sql,
                {
                    "lead_id": lead_id,
                    "now": now,
                    "call_status": "busy",
                    "status_level_1": "No contactado",
                    "status_level_2": "Ocupado",
                },
            )
            cur.execute(
                queries.UPSERT_PENDING_SCHEDULE.sql,
                {
                    "lead_id": lead_id,
                    "scheduled_at": now + DELAY,
                    "attempt_number": lead["call_attempts_count"] + 2,
                    "last_outcome": "busy",
                    "now": now,
                },
            )
        conn.commit()

    return operation
