"""Manual review: a person takes a lead out of the automatic loop, decides, and releases it.

    take_under_review(lead_id, reason)    manual_management on: no call is scheduled or placed
    release_from_review(lead_id)          manual_management off and the next call scheduled
                                          at the next working instant (never left stranded)

The dashboard's review queue (panel.py) decides through these and the other library
functions (close_lead_with_reason, schedule_call, do_not_call.record_do_not_call). Each
function is one transaction under the lead's lock, like every writer of a lead.
"""

from __future__ import annotations

import logging
from datetime import datetime

import db
import queries
import scheduler_config
from clock import utc_now
from reprogramar_llamadas_simple import (
    LeadNotCallableError,
    cancel_pending,
    is_open,
    lock_lead,
    next_call_time,
    put_pending,
    validate_lead_id,
    validate_reason,
)

logger = logging.getLogger(__name__)

CANCEL_REASON_REVIEW = "Manual review"


def take_under_review(lead_id: int, reason: str) -> int:
    """Put an open lead under manual management and cancel its pending call; return how
    many calls were cancelled. A call already in flight still delivers its result (which
    is recorded; nothing is scheduled for a lead under review).

    Raises ValueError for bad arguments, LeadNotFoundError for an unknown lead,
    LeadNotCallableError when the lead is closed or already under review.
    """
    validate_lead_id(lead_id)
    reason = validate_reason(reason)

    def work(cur) -> int:
        lead = lock_lead(cur, lead_id)
        if not is_open(lead):
            raise LeadNotCallableError(f"lead {lead_id} is closed")
        if lead["manual_management"]:
            raise LeadNotCallableError(f"lead {lead_id} is already under manual review")
        db.execute(cur, queries.LEAD_REVIEW_STATE, {"lead_id": lead_id, "manual": True})
        return cancel_pending(cur, lead_id, f"{CANCEL_REASON_REVIEW}: {reason}"[:255])

    cancelled = db.run_in_transaction(work, name=f"review lead {lead_id}")
    logger.info("lead %s: under manual review (%d call(s) cancelled)", lead_id, cancelled)
    return cancelled


def release_from_review(lead_id: int, when: datetime | None = None) -> datetime | None:
    """Give a lead under review back to the automatic loop: manual_management off and its
    next call at the first working instant at or after `when` (aware; default now).
    Returns that time (aware UTC), or None when a call of the lead is in flight (its result
    schedules the next one: never two calls to one person at once).

    Raises ValueError for bad arguments, LeadNotFoundError for an unknown lead,
    LeadNotCallableError when the lead is closed or not under review.
    """
    validate_lead_id(lead_id)
    if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
        raise ValueError("when must be an aware datetime or None")

    def work(cur) -> datetime | None:
        lead = lock_lead(cur, lead_id)
        if not is_open(lead):
            raise LeadNotCallableError(f"lead {lead_id} is closed")
        if not lead["manual_management"]:
            raise LeadNotCallableError(f"lead {lead_id} is not under manual review")
        db.execute(cur, queries.LEAD_REVIEW_STATE, {"lead_id": lead_id, "manual": False})
        if db.fetch_one(cur, queries.CALL_IN_FLIGHT_FOR_LEAD, (lead_id,)) is not None:
            return None
        now = utc_now()
        config = scheduler_config.get_config(cur)
        moment = next_call_time(lead, max(now, when or now), config)
        put_pending(cur, lead_id, moment, lead["call_attempts_count"] + 1, None, now)
        return moment

    moment = db.run_in_transaction(work, name=f"release lead {lead_id}")
    logger.info("lead %s: released from review, next call at %s", lead_id, moment)
    return moment
