"""Stranded leads: open leads nothing will ever call.

A lead is stranded when it is open, not under manual management, not a self-test lead,
and has neither a pending call nor a call claimed, being placed, placed or uncertain
(a cancelled schedule, a success without appointment, a lead inserted by SQL, a crash).
Monitoring counts them; `python mantenimiento.py stranded --fix` gives each its next call
at the next working instant in its zone, one transaction per lead under the lead's lock
(a lead that got a call meanwhile is left alone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import db
import queries
import scheduler_config
from clock import from_db, utc_now
from phone import mask_phone
from reprogramar_llamadas_simple import lock_lead, next_call_time, put_pending

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000


def count_stranded(cur) -> int:
    """How many leads are stranded now."""
    return int(db.fetch_one(cur, queries.COUNT_STRANDED_LEADS)["total"])


def iter_stranded(page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """Every stranded lead in id order, read a page per short transaction.

    Items: id, telefono (masked), call_attempts_count, call_status, created_at (aware UTC).
    """
    after = 0
    while True:
        with db.transaction("stranded leads") as cur:
            rows = db.fetch_all(
                cur, queries.STRANDED_LEADS, {"after_id": after, "limit": page_size}
            )
        for row in rows:
            yield {
                "id": row["id"],
                "telefono": mask_phone(row["telefono"]),
                "call_attempts_count": row["call_attempts_count"],
                "call_status": row["call_status"],
                "created_at": from_db(row["created_at"]),
            }
        if len(rows) < page_size:
            return
        after = rows[-1]["id"]


def fix_lead(lead_id: int, now: datetime | None = None) -> datetime | None:
    """Give one stranded lead its next call at the next working instant in its zone.

    One transaction holding the lead's lock; the lead is re-checked under the lock and
    left alone (None returned) when it is no longer stranded. Returns the call's time.
    """

    def work(cur) -> datetime | None:
        lead = lock_lead(cur, lead_id)
        if db.fetch_one(cur, queries.IS_LEAD_STRANDED, {"lead_id": lead_id}) is None:
            return None
        moment = now or utc_now()
        when = next_call_time(lead, moment, scheduler_config.get_config(cur))
        put_pending(cur, lead_id, when, lead["call_attempts_count"] + 1, None, moment)
        return when

    when = db.run_in_transaction(work, name=f"schedule stranded lead {lead_id}")
    if when is not None:
        logger.info("stranded lead %s: call scheduled at %s", lead_id, when.isoformat())
    return when


def stranded_report(
    *, fix: bool = False, dry_run: bool = False, sample: int = 50,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """List stranded leads and, with `fix` (and not `dry_run`), schedule each.

    Returns {command, dry_run, found, fixed, skipped, leads: first `sample` (phones masked,
    with `scheduled_at` when fixed)}. `skipped` counts leads that got a call meanwhile.
    """
    found = fixed = skipped = 0
    shown: list[dict[str, Any]] = []
    for lead in iter_stranded():
        found += 1
        if fix and not dry_run:
            when = fix_lead(lead["id"])
            if when is None:
                skipped += 1
            else:
                fixed += 1
            lead = {**lead, "scheduled_at": when}
            if progress is not None:
                progress(fixed)
        if len(shown) < sample:
            shown.append(lead)
    return {"command": "stranded", "dry_run": dry_run, "found": found, "fixed": fixed,
            "skipped": skipped, "leads": shown}  # fmt: skip
