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
    "Read one lead and lock its row until the transaction ends, with the id of its pending "
    "call if it has one (exact while the lock is held: every writer of pending calls locks "
    "the lead first).",
    """
    SELECT l.id, l.lead_status, l.manual_management, l.call_attempts_count, l.timezone,
           (SELECT cs.id FROM call_schedule cs WHERE cs.pending_lead_id = l.id)
               AS pending_schedule_id
    FROM leads l WHERE l.id = %s FOR UPDATE
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

CLOSE_LEAD_AFTER_CALL = Query(
    "Count the call that ended a lead and close it, in one statement.",
    """
    UPDATE leads
    SET call_attempts_count = call_attempts_count + 1,
        last_call_attempt = %(now)s,
        call_status = %(call_status)s,
        lead_status = 'closed', closure_reason = %(reason)s,
        selected_for_calling = FALSE, closed_at = %(now)s
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

# --- pearl_calls and call results -------------------------------------------------------

PEARL_CALL_BY_ROW_ID = Query(
    "The dispatcher's own pearl_calls row of a call, locked, with in the same round trip: "
    "whether a later call of the lead already has its result, and the ids of any row "
    "holding this call's Pearl call id or request id.",
    """
    SELECT pc.id, pc.lead_id, pc.request_id, pc.call_id, pc.outcome, pc.claimed_at,
           EXISTS (SELECT 1 FROM pearl_calls newer
                   WHERE newer.lead_id = pc.lead_id AND newer.outcome IS NOT NULL
                     AND newer.claimed_at > pc.claimed_at) AS newer_call_recorded,
           (SELECT by_call.id FROM pearl_calls by_call
            WHERE by_call.call_id = %(call_id)s) AS call_id_row,
           (SELECT by_request.id FROM pearl_calls by_request
            WHERE by_request.request_id = %(request_id)s) AS request_id_row
    FROM pearl_calls pc WHERE pc.id = %(row_id)s FOR UPDATE
    """,
)

PEARL_CALL_LOCK = Query(
    "One pearl_calls row by id, locked.",
    """
    SELECT id, lead_id, request_id, call_id, outcome, claimed_at
    FROM pearl_calls WHERE id = %s FOR UPDATE
    """,
)

PEARL_CALL_BY_CALL_ID = Query(
    "The pearl_calls row of a Pearl call id, locked.",
    """
    SELECT id, lead_id, request_id, call_id, outcome, claimed_at
    FROM pearl_calls WHERE call_id = %s FOR UPDATE
    """,
)

PEARL_CALL_BY_REQUEST_ID = Query(
    "The pearl_calls row of a Pearl call request id, locked.",
    """
    SELECT id, lead_id, request_id, call_id, outcome, claimed_at
    FROM pearl_calls WHERE request_id = %s FOR UPDATE
    """,
)

COMPLETE_PEARL_CALL = Query(
    "Record a call's result on its existing pearl_calls row.",
    """
    UPDATE pearl_calls
    SET state = 'completed', outcome = %(outcome)s,
        call_id = COALESCE(%(call_id)s, call_id),
        request_id = COALESCE(%(request_id)s, request_id),
        pearl_status = %(pearl_status)s, conversation_status = %(conversation_status)s,
        error_message = %(error_message)s, raw_response = %(raw_response)s,
        completed_at = %(now)s
    WHERE id = %(row_id)s
    """,
)

INSERT_COMPLETED_PEARL_CALL = Query(
    "Record a reported call that has no pearl_calls row yet (a manual call or a webhook).",
    """
    INSERT INTO pearl_calls
        (lead_id, request_id, call_id, state, outcome, pearl_status, conversation_status,
         error_message, raw_response, claimed_at, completed_at, created_at)
    VALUES (%(lead_id)s, %(request_id)s, %(call_id)s, 'completed', %(outcome)s,
            %(pearl_status)s, %(conversation_status)s, %(error_message)s, %(raw_response)s,
            %(started_at)s, %(now)s, %(now)s)
    """,
)

NEWER_CALL_RECORDED = Query(
    "Whether the lead already has a processed call that started after the given moment.",
    """
    SELECT id FROM pearl_calls
    WHERE lead_id = %(lead_id)s AND outcome IS NOT NULL AND claimed_at > %(started_at)s
    LIMIT 1
    """,
)

COUNT_ATTEMPT_ONLY = Query(
    "Count a call attempt without touching the lead's state (a late result of an older call).",
    """
    UPDATE leads
    SET call_attempts_count = call_attempts_count + 1,
        last_call_attempt = GREATEST(COALESCE(last_call_attempt, %(started_at)s), %(started_at)s)
    WHERE id = %(lead_id)s
    """,
)

SET_CALL_ERROR_MESSAGE = Query(
    "Keep the latest telephony error on the lead.",
    "UPDATE leads SET call_error_message = %(message)s WHERE id = %(lead_id)s",
)

RECORD_APPOINTMENT = Query(
    "Store a booked appointment on the lead; fields that could not be parsed stay as they were.",
    """
    UPDATE leads
    SET cita = COALESCE(%(cita)s, cita), hora_cita = COALESCE(%(hora_cita)s, hora_cita),
        status_level_1 = 'Cita Agendada',
        resultado_llamada = COALESCE(%(resultado)s, resultado_llamada)
    WHERE id = %(lead_id)s
    """,
)

# --- statistics ---------------------------------------------------------------------------

COUNT_PENDING_SCHEDULED_BETWEEN = Query(
    "Pending calls scheduled in [start, end).",
    """
    SELECT COUNT(*) AS total FROM call_schedule
    WHERE status = 'pending' AND scheduled_at >= %(start)s AND scheduled_at < %(end)s
    """,
)

COUNT_DUE_NOW = Query(
    "Pending calls due now for open leads (the seed's 'Llamadas pendientes ahora').",
    """
    SELECT COUNT(*) AS total
    FROM call_schedule cs
    JOIN leads l ON cs.lead_id = l.id
    WHERE cs.status = 'pending'
      AND cs.scheduled_at <= %(now)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open')
    """,
)

COUNT_CLOSED_SINCE = Query(
    "Leads closed since a moment.",
    "SELECT COUNT(*) AS total FROM leads WHERE closed_at >= %(since)s",
)

# --- dispatcher ---------------------------------------------------------------------------

CLAIM_DUE_CALLS = Query(
    "The seed's pending query, locking the due calls and their leads; rows another "
    "dispatcher or a result processor holds are skipped, never waited for.",
    """
    SELECT cs.id, cs.lead_id, cs.scheduled_at, cs.attempt_number, cs.last_outcome,
           l.nombre, l.apellidos, l.telefono, l.timezone, l.call_status
    FROM call_schedule cs
    JOIN leads l ON cs.lead_id = l.id
    WHERE cs.status = 'pending'
      AND cs.scheduled_at <= %(now)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open')
      AND (l.manual_management IS NULL OR l.manual_management = FALSE)
    ORDER BY cs.scheduled_at ASC, cs.attempt_number ASC
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
    """,
)

PENDING_DUE_CALLS = Query(
    "The seed's pending query, read-only (dry runs and monitoring).",
    """
    SELECT cs.id, cs.lead_id, cs.scheduled_at, cs.attempt_number, cs.last_outcome,
           l.nombre, l.apellidos, l.telefono, l.timezone
    FROM call_schedule cs
    JOIN leads l ON cs.lead_id = l.id
    WHERE cs.status = 'pending'
      AND cs.scheduled_at <= %(now)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open')
      AND (l.manual_management IS NULL OR l.manual_management = FALSE)
    ORDER BY cs.scheduled_at ASC, cs.attempt_number ASC
    LIMIT %(limit)s
    """,
)

MARK_SCHEDULES_COMPLETED = Query(
    "Mark claimed calls 'completed', as the seed's flow does when a call is made.",
    "UPDATE call_schedule SET status = 'completed' WHERE id IN %(ids)s AND status = 'pending'",
)

MOVE_SCHEDULE = Query(
    "Move a pending call to another time.",
    "UPDATE call_schedule SET scheduled_at = %(when)s WHERE id = %(id)s AND status = 'pending'",
)

MARK_LEADS_CALLING = Query(
    "Set call_status 'calling' on the leads being dialled.",
    "UPDATE leads SET call_status = 'calling' WHERE id IN %(ids)s",
)

SET_LEAD_CALL_STATUS = Query(
    "Set one lead's call_status (and the latest telephony error, when given).",
    """
    UPDATE leads
    SET call_status = %(call_status)s,
        call_error_message = COALESCE(%(message)s, call_error_message)
    WHERE id = %(lead_id)s
    """,
)

INSERT_CLAIMED_CALL = Query(
    "Create the in-flight pearl_calls row of a claimed call (state passed as a parameter: "
    "PyMySQL batches executemany into one multi-row INSERT only when VALUES holds no literal).",
    """
    INSERT INTO pearl_calls (lead_id, schedule_id, state, claimed_at, created_at)
    VALUES (%s, %s, %s, %s, %s)
    """,
)

CLAIMED_CALL_ROWS = Query(
    "The in-flight rows just created for these schedules.",
    "SELECT id, schedule_id FROM pearl_calls WHERE schedule_id IN %(ids)s AND state = 'claimed'",
)

MARK_CALL_PLACED = Query(
    "Pearl accepted the call: keep its request id.",
    """
    UPDATE pearl_calls SET state = 'placed', request_id = %(request_id)s, placed_at = %(now)s
    WHERE id = %(row_id)s AND state = 'claimed'
    """,
)

MARK_CALL_NOT_PLACED = Query(
    "The call never reached the person; no attempt is counted.",
    """
    UPDATE pearl_calls
    SET state = 'not_placed', error_message = %(message)s, completed_at = %(now)s
    WHERE id = %(row_id)s AND state IN ('claimed', 'placed') AND outcome IS NULL
    """,
)

DELETE_CLAIMED_CALL = Query(
    "Forget a claim that was never placed (the claim is being undone).",
    "DELETE FROM pearl_calls WHERE id = %s AND state = 'claimed'",
)

RESTORE_SCHEDULE = Query(
    "Put a claimed call back to pending exactly as it was.",
    "UPDATE call_schedule SET status = 'pending' WHERE id = %s AND status = 'completed'",
)

IN_FLIGHT_CALLS = Query(
    "Calls claimed or placed whose result has not been processed, oldest first.",
    """
    SELECT id, lead_id, schedule_id, request_id, call_id, state, claimed_at, placed_at
    FROM pearl_calls
    WHERE state IN ('claimed', 'placed')
    ORDER BY claimed_at ASC, id ASC
    LIMIT %(limit)s
    """,
)

DELETE_IN_FLIGHT_DUPLICATE = Query(
    "Remove an in-flight row whose call was already recorded on another row.",
    "DELETE FROM pearl_calls WHERE id = %s AND outcome IS NULL",
)

# --- monitoring (probar_llamadas_programadas.py) -------------------------------------------

SCHEDULE_STATUS_DISTRIBUTION = Query(
    "How many call_schedule rows have each status (the seed's 'Distribución por status').",
    "SELECT status, COUNT(*) AS total FROM call_schedule GROUP BY status ORDER BY status",
)

COUNT_PENDING_LATER = Query(
    "Pending calls scheduled after now.",
    """
    SELECT COUNT(*) AS total FROM call_schedule
    WHERE status = 'pending' AND scheduled_at > %(now)s
    """,
)

CLOSED_SINCE_BY_REASON = Query(
    "Leads closed since a moment, by closure reason.",
    """
    SELECT closure_reason, COUNT(*) AS total FROM leads
    WHERE closed_at >= %(since)s GROUP BY closure_reason ORDER BY total DESC, closure_reason
    """,
)

COUNT_IN_FLIGHT = Query(
    "Calls claimed or placed whose result is not in yet.",
    "SELECT COUNT(*) AS total FROM pearl_calls WHERE state IN ('claimed', 'placed')",
)

OLDEST_DUE_PENDING = Query(
    "The earliest scheduled_at among calls due now for open leads (how far behind dispatch is).",
    """
    SELECT MIN(cs.scheduled_at) AS oldest
    FROM call_schedule cs
    JOIN leads l ON cs.lead_id = l.id
    WHERE cs.status = 'pending'
      AND cs.scheduled_at <= %(now)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open')
      AND (l.manual_management IS NULL OR l.manual_management = FALSE)
    """,
)

INSERT_DEMO_LEAD = Query(
    "Create a clearly marked demo lead for a self-test.",
    """
    INSERT INTO leads (nombre, apellidos, telefono, lead_status, call_status, created_at)
    VALUES (%(nombre)s, %(apellidos)s, %(telefono)s, 'open', 'no_selected', %(now)s)
    """,
)

DELETE_DEMO_LEAD = Query(
    "Remove a demo lead (its schedules and calls go with it); only rows marked as demo.",
    "DELETE FROM leads WHERE id = %(lead_id)s AND nombre = %(nombre)s",
)

LEAD_BY_ID = Query(
    "One lead, without locking.",
    """
    SELECT id, lead_status, closure_reason, call_status, call_attempts_count, cita, hora_cita,
           status_level_1, resultado_llamada, manual_management
    FROM leads WHERE id = %s
    """,
)

# --- maintenance (mantenimiento.py) ---------------------------------------------------------

COUNT_CLOSED_LEADS_PENDING = Query(
    "How many pending calls belong to closed leads.",
    """
    SELECT COUNT(*) AS total FROM call_schedule cs JOIN leads l ON l.id = cs.lead_id
    WHERE cs.status = 'pending' AND l.lead_status = 'closed'
    """,
)

COUNT_CANCELLED_BEFORE = Query(
    "How many cancelled calls were created before a moment.",
    """
    SELECT COUNT(*) AS total FROM call_schedule
    WHERE status = 'cancelled' AND created_at < %(before)s
    """,
)

PURGE_CANCELLED_BATCH = Query(
    "Delete one batch of cancelled calls created before a moment (the seed's monthly purge); "
    "ordered as the (status, created_at) index so no batch sorts the whole backlog.",
    """
    DELETE FROM call_schedule
    WHERE status = 'cancelled' AND created_at < %(before)s
    ORDER BY status, created_at
    LIMIT %(batch_size)s
    """,
)

ORPHAN_SCHEDULES = Query(
    "Calls whose lead no longer exists (the seed's 'schedules huérfanos').",
    """
    SELECT cs.id, cs.lead_id, cs.status, cs.scheduled_at
    FROM call_schedule cs
    LEFT JOIN leads l ON cs.lead_id = l.id
    WHERE l.id IS NULL
    ORDER BY cs.id
    LIMIT %(limit)s
    """,
)

DELETE_ORPHAN_SCHEDULES = Query(
    "Delete the given calls if their lead still does not exist.",
    """
    DELETE cs FROM call_schedule cs
    LEFT JOIN leads l ON cs.lead_id = l.id
    WHERE cs.id IN %(ids)s AND l.id IS NULL
    """,
)

# --- lead import and the do-not-call list (importar_leads.py, do_not_call.py) ------------

DNC_CONTAINS = Query(
    "Whether one E.164 number is on the do-not-call list.",
    "SELECT 1 AS found FROM do_not_call WHERE telefono = %s",
)

DNC_AMONG = Query(
    "Which of the given E.164 numbers are on the do-not-call list.",
    "SELECT telefono FROM do_not_call WHERE telefono IN %(phones)s",
)

DNC_ADD = Query(
    "Put a number on the do-not-call list; a number already there keeps its first source "
    "and date (affected rows: 1 when added, 0 when it was there).",
    """
    INSERT INTO do_not_call (telefono, source, reason, added_at)
    VALUES (%(telefono)s, %(source)s, %(reason)s, %(now)s)
    ON DUPLICATE KEY UPDATE telefono = telefono
    """,
)

IMPORT_LOCK = Query(
    "Take the named lock that keeps two imports into this database from interleaving "
    "(1 when taken; the name includes the database: locks are server-wide).",
    "SELECT GET_LOCK(CONCAT(%(name)s, ':', DATABASE()), %(timeout)s) AS taken",
)

LEADS_MATCHING_IMPORT = Query(
    "Leads that make a file row a duplicate: the same number from the same file (any status: "
    "a re-run imports nothing twice) or an open lead with the same number.",
    """
    SELECT id, telefono, origen_archivo, lead_status FROM leads
    WHERE telefono IN %(phones)s
      AND (origen_archivo = %(origen)s OR lead_status IS NULL OR lead_status = 'open')
    """,
)

INSERT_IMPORTED_LEAD = Query(
    "Insert one imported lead ('open', 'no_selected' passed as parameters: PyMySQL's "
    "executemany sends one multi-row INSERT only when VALUES holds no literal).",
    """
    INSERT INTO leads (nombre, apellidos, telefono, timezone, preferencia_horario, call_data,
                       origen_archivo, lead_status, call_status, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    """,
)

IMPORTED_LEAD_IDS = Query(
    "Ids of a file's leads with the given numbers (to schedule the ones just inserted).",
    "SELECT id, telefono FROM leads WHERE origen_archivo = %(origen)s AND telefono IN %(phones)s",
)

REFRESH_IMPORTED_LEAD = Query(
    "Refresh an open lead's data from an import row (--update); empty cells keep the old value.",
    """
    UPDATE leads
    SET nombre = COALESCE(%(nombre)s, nombre),
        apellidos = COALESCE(%(apellidos)s, apellidos),
        timezone = COALESCE(%(timezone)s, timezone),
        preferencia_horario = COALESCE(%(preferencia_horario)s, preferencia_horario),
        call_data = COALESCE(%(call_data)s, call_data)
    WHERE id = %(lead_id)s AND (lead_status IS NULL OR lead_status = 'open')
    """,
)

INSERT_FIRST_CALL = Query(
    "Schedule a new lead's first call (attempt 1, 'pending' passed as parameters, so "
    "executemany sends one multi-row INSERT).",
    """
    INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status, created_at)
    VALUES (%s, %s, %s, %s, %s)
    """,
)

LAST_FIRST_CALL_BY_ZONE = Query(
    "Per lead time zone, the latest pending first call of a file's leads: a re-run continues "
    "the --per-hour spread where the interrupted run stopped.",
    """
    SELECT l.timezone, MAX(cs.scheduled_at) AS last_at
    FROM leads l JOIN call_schedule cs ON cs.lead_id = l.id
    WHERE l.origen_archivo = %(origen)s AND cs.status = 'pending' AND cs.attempt_number = 1
    GROUP BY l.timezone
    """,
)

# --- upgrading a database in place (migraciones.py, migrations/) ---------------------------

UPGRADE_COLUMNS = Query(
    "Every column of one database with its type, nullability, default and generation.",
    """
    SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, COLUMN_TYPE AS column_type,
           IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default, EXTRA AS extra
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s
    ORDER BY TABLE_NAME, ORDINAL_POSITION
    """,
)

UPGRADE_INDEXES = Query(
    "Every index of one database: name, uniqueness and columns in order.",
    """
    SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique,
           COLUMN_NAME AS column_name
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
    """,
)

UPGRADE_FOREIGN_KEYS = Query(
    "Every foreign key of one database: child columns, parent table and columns, rules.",
    """
    SELECT k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS constraint_name,
           k.COLUMN_NAME AS column_name, k.REFERENCED_TABLE_NAME AS ref_table,
           k.REFERENCED_COLUMN_NAME AS ref_column, r.DELETE_RULE AS delete_rule,
           r.UPDATE_RULE AS update_rule
    FROM information_schema.KEY_COLUMN_USAGE k
    JOIN information_schema.REFERENTIAL_CONSTRAINTS r
      ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
     AND r.TABLE_NAME = k.TABLE_NAME
    WHERE k.TABLE_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL
    ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
    """,
)

UPGRADE_LOCK = Query(
    "Take the named lock that keeps two upgrades of one database apart (1 when taken).",
    "SELECT GET_LOCK(%(name)s, %(timeout)s) AS taken",
)

UPGRADE_UNLOCK = Query(
    "Release the upgrade's named lock.",
    "SELECT RELEASE_LOCK(%(name)s) AS released",
)

CREATE_SCHEMA_MIGRATIONS = Query(
    "The record of applied data migrations (created by the upgrade itself).",
    """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version     VARCHAR(64)  NOT NULL,
        description VARCHAR(255) NULL,
        applied_at  DATETIME     NOT NULL,
        baseline    BOOLEAN      NOT NULL DEFAULT FALSE,
        PRIMARY KEY (version)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    """,
)

APPLIED_MIGRATIONS = Query(
    "Versions of the data migrations already applied (or baselined).",
    "SELECT version FROM schema_migrations",
)

RECORD_MIGRATION = Query(
    "Record a data migration as applied (in the migration's own transaction).",
    """
    INSERT INTO schema_migrations (version, description, applied_at, baseline)
    VALUES (%(version)s, %(description)s, %(now)s, %(baseline)s)
    """,
)

CONFIG_KEYS = Query(
    "The configuration keys present.",
    "SELECT config_key FROM scheduler_config",
)

COUNT_NULLS = Query(
    "How many rows hold NULL in one column (table and column are checked identifiers).",
    "SELECT COUNT(*) AS total FROM `{table}` WHERE `{column}` IS NULL",
)

DISTINCT_VALUES = Query(
    "The distinct values of one column with their row counts (checked identifiers).",
    "SELECT `{column}` AS value, COUNT(*) AS total FROM `{table}` GROUP BY `{column}`",
)

LONGEST_VALUE = Query(
    "The longest text in one column, in characters (checked identifiers).",
    "SELECT MAX(CHAR_LENGTH(`{column}`)) AS longest FROM `{table}`",
)
