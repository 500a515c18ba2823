"""Every SQL statement of the system, each named and described once.

Python code runs them by name through db.execute / db.fetch_one / db.fetch_all.
All values are passed as parameters (%s or %(name)s); nothing is formatted into
the SQL text. Times are naive UTC (see clock.to_db).

Lock order, to keep deadlocks rare: a lead's row first (LOCK_LEAD), then its
call_schedule and pearl_calls rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    """A named SQL statement with a one-line description."""

    description: str
    sql: str


# --- scheduler_config -----------------------------------------------------------------

LOAD_CONFIG = Query(
    "Every configuration row, as key and raw text value.",
    "SELECT config_key, config_value FROM scheduler_config",
)

SET_CONFIG = Query(
    "Insert or overwrite one configuration value (the seed's 'Actualización de configuración').",
    """
    INSERT INTO scheduler_config (config_key, config_value, description)
    VALUES (%(key)s, %(value)s, %(description)s)
    ON DUPLICATE KEY UPDATE config_value = %(value)s,
                            description = COALESCE(%(description)s, description)
    """,
)

# --- leads ------------------------------------------------------------------------------

LOCK_LEAD = Query(
    "Read one lead and lock its row until the transaction ends.",
    """
    SELECT id, lead_status, manual_management, call_attempts_count, call_status, timezone
    FROM leads WHERE id = %s FOR UPDATE
    """,
)

RECORD_ATTEMPT = Query(
    "Count one more call attempt on a lead and set its call_status.",
    """
    UPDATE leads
    SET call_attempts_count = call_attempts_count + 1,
        last_call_attempt = %(now)s,
        call_status = %(call_status)s
    WHERE id = %(lead_id)s
    """,
)

CLOSE_LEAD = Query(
    "Close a lead with a reason; it is never called again.",
    """
    UPDATE leads
    SET lead_status = 'closed', closure_reason = %(reason)s,
        selected_for_calling = FALSE, closed_at = %(now)s
    WHERE id = %(lead_id)s
    """,
)

# --- call_schedule ----------------------------------------------------------------------

UPSERT_PENDING_SCHEDULE = Query(
    "Create the lead's pending call, or move the one it already has (one pending row per lead).",
    """
    INSERT INTO call_schedule
        (lead_id, scheduled_at, attempt_number, status, last_outcome, created_at)
    VALUES (%(lead_id)s, %(scheduled_at)s, %(attempt_number)s, 'pending', %(last_outcome)s,
            %(now)s)
    ON DUPLICATE KEY UPDATE scheduled_at = %(scheduled_at)s,
                            attempt_number = %(attempt_number)s,
                            last_outcome = COALESCE(%(last_outcome)s, last_outcome),
                            cancel_reason = NULL
    """,
)

PENDING_SCHEDULE_FOR_LEAD = Query(
    "The lead's pending call, if it has one.",
    """
    SELECT id, lead_id, scheduled_at, attempt_number, status, last_outcome
    FROM call_schedule WHERE pending_lead_id = %s
    """,
)

CANCEL_PENDING_FOR_LEAD = Query(
    "Cancel every pending call of one lead, keeping the reason.",
    """
    UPDATE call_schedule SET status = 'cancelled', cancel_reason = %(reason)s
    WHERE lead_id = %(lead_id)s AND status = 'pending'
    """,
)

CLOSED_LEADS_PENDING_BATCH = Query(
    "Next batch of pending calls whose lead is closed, walking the one-pending index by lead.",
    """
    SELECT cs.id, cs.pending_lead_id
    FROM call_schedule cs
    JOIN leads l ON l.id = cs.lead_id
    WHERE cs.pending_lead_id > %(after_lead_id)s AND l.lead_status = 'closed'
    ORDER BY cs.pending_lead_id
    LIMIT %(batch_size)s
    """,
)

CANCEL_SCHEDULES_BY_ID = Query(
    "Cancel the given calls if they are still pending.",
    """
    UPDATE call_schedule SET status = 'cancelled', cancel_reason = %(reason)s
    WHERE id IN %(ids)s AND status = 'pending'
    """,
)

# --- schema check -------------------------------------------------------------------------

SCHEMA_COLUMNS = Query(
    "Tables and columns of one database.",
    """
    SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s
    """,
)

SCHEMA_INDEXES = Query(
    "Tables and index names of one database.",
    """
    SELECT DISTINCT TABLE_NAME AS table_name, INDEX_NAME AS index_name
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s
    """,
)
