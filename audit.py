"""The dashboard's audit trail: who did what to which lead, and when (panel_audit).

    record(username, action, lead_id=None, detail=None)   one row, its own transaction
    for_lead(lead_id) / recent(since)                     rows for the pages, times aware UTC

An action is audited after the library function that performed it returned: the library
commits its own transaction, so the audit row is a second, short one. If that second
write fails the action stands and the failure is logged at ERROR with the same fields
(never a phone number: details are built by the caller from ids, reasons and settings).
"""

from __future__ import annotations

import logging
from datetime import datetime

import db
import queries
from clock import from_db, to_db, utc_now

logger = logging.getLogger(__name__)

DETAIL_MAX = 500
ACTION_MAX = 64


def record(
    username: str, action: str, lead_id: int | None = None, detail: str | None = None
) -> None:
    """Write one audit row at the current time (UTC). `detail` is built by the caller from
    ids, settings and times; free text typed by a person goes through phone.mask_digits
    first. Raises ValueError for an empty user or action."""
    if not username or not action or len(action) > ACTION_MAX:
        raise ValueError("an audit row needs a user and an action of at most 64 characters")
    text = detail[:DETAIL_MAX] if detail else None
    params = {
        "at": to_db(utc_now()),
        "username": username[:64],
        "action": action,
        "lead_id": lead_id,
        "detail": text,
    }
    try:
        db.run_in_transaction(
            lambda cur: db.execute(cur, queries.PANEL_AUDIT_INSERT, params), name="audit"
        )
    except Exception:
        logger.error(
            "audit row not written: user=%s action=%s lead=%s detail=%s",
            params["username"], action, lead_id, text,
        )  # fmt: skip
        raise
    logger.info("audit: %s %s lead=%s %s", params["username"], action, lead_id, text or "")


def _aware(rows: list[dict]) -> list[dict]:
    return [{**row, "at": from_db(row["at"])} for row in rows]


def for_lead(lead_id: int, limit: int = 200) -> list[dict]:
    """The audit rows of one lead, newest first."""
    with db.transaction("read lead audit") as cur:
        rows = db.fetch_all(cur, queries.PANEL_AUDIT_FOR_LEAD, {"lead_id": lead_id, "limit": limit})
    return _aware(rows)


def recent(since: datetime, limit: int = 50) -> list[dict]:
    """Audit rows since `since` (aware), newest first."""
    with db.transaction("read audit") as cur:
        rows = db.fetch_all(
            cur, queries.PANEL_AUDIT_RECENT, {"since": to_db(since), "limit": limit}
        )
    return _aware(rows)
