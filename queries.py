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

# The columns of a locked lead that the call-result and reschedule paths decide on, with the
# id of its pending call (exact while the lock is held: every writer of pending calls locks
# the lead first). LOCK_LEAD and LOCK_LEAD_WITH_CALL_ROW both return them, so a lead read
# either way has the same keys.
_LOCKED_LEAD_COLUMNS = """
    l.id, l.lead_status, l.manual_management, l.call_attempts_count, l.timezone,
    l.is_demo, l.closure_reason, l.closed_at, l.telefono, l.preferencia_horario,
    (SELECT cs.id FROM call_schedule cs WHERE cs.pending_lead_id = l.id) AS pending_schedule_id
"""

LOCK_LEAD = Query(
    "Read one lead and lock its row until the transaction ends (_LOCKED_LEAD_COLUMNS), with "
    "the outcome of its latest processed call.",
    f"""
    SELECT {_LOCKED_LEAD_COLUMNS},
           (SELECT pc.outcome FROM pearl_calls pc
            WHERE pc.lead_id = l.id AND pc.outcome IS NOT NULL
            ORDER BY pc.id DESC LIMIT 1) AS previous_outcome
    FROM leads l WHERE l.id = %s FOR UPDATE
    """,  # noqa: S608 - a constant fragment, no input
)

LOCK_LEAD_WITH_CALL_ROW = Query(
    "_LOCKED_LEAD_COLUMNS as LOCK_LEAD, except that its previous_outcome comes as "
    "latest_result, the JSON array [row id, outcome] of the lead's latest call with a result "
    "(NULL when none), and, "
    "in the same statement, the given pearl_calls row when it is this lead's (call_row_* "
    "columns, NULL otherwise), locked lead first (the LEFT JOIN's inner table is read after "
    "its outer one): the row's outcome, provisional flag and completion time, and the ids of "
    "any rows holding this call's Pearl call id or request id. latest_result says both the "
    "lead's previous outcome and whether a later call (a higher row id: call order, never "
    "clocks) already has its result, which an EXISTS over the same rows cost MariaDB about a "
    "third of the statement to plan. One round trip where LOCK_LEAD then "
    "PEARL_CALL_BY_ROW_ID took two. The given row is locked even when it is another lead's: "
    "give only a row the caller names.",
    f"""
    SELECT {_LOCKED_LEAD_COLUMNS},
           (SELECT JSON_ARRAY(prev.id, prev.outcome) FROM pearl_calls prev
            WHERE prev.lead_id = l.id AND prev.outcome IS NOT NULL
            ORDER BY prev.id DESC LIMIT 1) AS latest_result,
           pc.id AS call_row_id, pc.outcome AS call_row_outcome,
           pc.provisional AS call_row_provisional, pc.completed_at AS call_row_completed_at,
           (SELECT by_call.id FROM pearl_calls by_call
            WHERE by_call.call_id = %(call_id)s) AS call_row_call_id_row,
           (SELECT by_request.id FROM pearl_calls by_request
            WHERE by_request.request_id = %(request_id)s) AS call_row_request_id_row
    FROM leads l
    LEFT JOIN pearl_calls pc ON pc.id = %(row_id)s AND pc.lead_id = l.id
    WHERE l.id = %(lead_id)s FOR UPDATE
    """,  # noqa: S608 - a constant fragment, no input
)

RECORD_ATTEMPT = Query(
    "Count one more call attempt on a lead, set its call_status and the dashboards' labels "
    "of this result (a None label keeps the one there), in one statement.",
    """
    UPDATE leads
    SET call_attempts_count = call_attempts_count + 1,
        last_call_attempt = %(now)s,
        call_status = %(call_status)s,
        status_level_1 = COALESCE(%(status_level_1)s, status_level_1),
        status_level_2 = COALESCE(%(status_level_2)s, status_level_2)
    WHERE id = %(lead_id)s
    """,
)

CLOSE_LEAD_AFTER_CALL = Query(
    "Count the call that ended a lead, close it and set the labels of this result (a None "
    "label keeps the one there), in one statement.",
    """
    UPDATE leads
    SET call_attempts_count = call_attempts_count + 1,
        last_call_attempt = %(now)s,
        call_status = %(call_status)s,
        lead_status = 'closed', closure_reason = %(reason)s,
        selected_for_calling = FALSE, closed_at = %(now)s,
        status_level_1 = COALESCE(%(status_level_1)s, status_level_1),
        status_level_2 = COALESCE(%(status_level_2)s, status_level_2)
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
    "whether a later call of the lead (a higher row id: call order, never clocks) already "
    "has its result, and the ids of any row "
    "holding this call's Pearl call id or request id.",
    """
    SELECT pc.id, pc.lead_id, pc.request_id, pc.call_id, pc.outcome, pc.claimed_at,
           pc.state, pc.provisional, pc.completed_at,
           EXISTS (SELECT 1 FROM pearl_calls newer
                   WHERE newer.lead_id = pc.lead_id AND newer.outcome IS NOT NULL
                     AND newer.id > pc.id) AS newer_call_recorded,
           (SELECT by_call.id FROM pearl_calls by_call
            WHERE by_call.call_id = %(call_id)s) AS call_id_row,
           (SELECT by_request.id FROM pearl_calls by_request
            WHERE by_request.request_id = %(request_id)s) AS request_id_row
    FROM pearl_calls pc WHERE pc.id = %(row_id)s FOR UPDATE
    """,
)

PEARL_CALL_LOCK = Query(
    "One pearl_calls row by id, locked, with whether a later call of its lead has a result.",
    """
    SELECT pc.id, pc.lead_id, pc.request_id, pc.call_id, pc.outcome, pc.claimed_at, pc.state,
           pc.provisional, pc.completed_at,
           EXISTS (SELECT 1 FROM pearl_calls newer
                   WHERE newer.lead_id = pc.lead_id AND newer.outcome IS NOT NULL
                     AND newer.id > pc.id) AS newer_call_recorded
    FROM pearl_calls pc WHERE pc.id = %s FOR UPDATE
    """,
)

PEARL_CALL_BY_CALL_ID = Query(
    "The pearl_calls row of a Pearl call id, locked, with whether a later call has a result.",
    """
    SELECT pc.id, pc.lead_id, pc.request_id, pc.call_id, pc.outcome, pc.claimed_at, pc.state,
           pc.provisional, pc.completed_at,
           EXISTS (SELECT 1 FROM pearl_calls newer
                   WHERE newer.lead_id = pc.lead_id AND newer.outcome IS NOT NULL
                     AND newer.id > pc.id) AS newer_call_recorded
    FROM pearl_calls pc WHERE pc.call_id = %s FOR UPDATE
    """,
)

PEARL_CALL_BY_REQUEST_ID = Query(
    "The pearl_calls row of a Pearl request id, locked, with whether a later call has a result.",
    """
    SELECT pc.id, pc.lead_id, pc.request_id, pc.call_id, pc.outcome, pc.claimed_at, pc.state,
           pc.provisional, pc.completed_at,
           EXISTS (SELECT 1 FROM pearl_calls newer
                   WHERE newer.lead_id = pc.lead_id AND newer.outcome IS NOT NULL
                     AND newer.id > pc.id) AS newer_call_recorded
    FROM pearl_calls pc WHERE pc.request_id = %s FOR UPDATE
    """,
)

COMPLETE_PEARL_CALL = Query(
    "Record a call's result on its existing pearl_calls row.",
    """
    UPDATE pearl_calls
    SET state = %(state)s, outcome = %(outcome)s, provisional = %(provisional)s,
        simulated = simulated OR %(simulated)s,
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
        (lead_id, request_id, call_id, state, outcome, provisional, simulated, pearl_status,
         conversation_status, error_message, raw_response, claimed_at, completed_at, created_at)
    VALUES (%(lead_id)s, %(request_id)s, %(call_id)s, %(state)s, %(outcome)s,
            %(provisional)s, %(simulated)s,
            %(pearl_status)s, %(conversation_status)s, %(error_message)s, %(raw_response)s,
            %(started_at)s, %(now)s, %(now)s)
    """,
)

COUNT_ATTEMPT_ONLY = Query(
    "Count a call attempt without touching the lead's state (a late result of an older call).",
    "UPDATE leads SET call_attempts_count = call_attempts_count + 1 WHERE id = %(lead_id)s",
)

SET_CALL_ERROR_MESSAGE = Query(
    "Keep the latest telephony error on the lead.",
    "UPDATE leads SET call_error_message = %(message)s WHERE id = %(lead_id)s",
)

REOPEN_LEAD = Query(
    "Undo a closure made by a provisional settlement that the call's real result replaces.",
    """
    UPDATE leads SET lead_status = 'open', closure_reason = NULL, closed_at = NULL
    WHERE id = %(lead_id)s AND lead_status = 'closed' AND closed_at = %(closed_at)s
    """,
)

CLOSE_LEAD_NO_COUNT = Query(
    "Close a lead after a call whose attempt is already counted (a replaced settlement), "
    "with the labels of its result (a None label keeps the one there).",
    """
    UPDATE leads
    SET call_status = %(call_status)s, lead_status = 'closed', closure_reason = %(reason)s,
        selected_for_calling = FALSE, closed_at = %(now)s,
        status_level_1 = COALESCE(%(status_level_1)s, status_level_1),
        status_level_2 = COALESCE(%(status_level_2)s, status_level_2)
    WHERE id = %(lead_id)s
    """,
)

SET_LEAD_PREFERENCE = Query(
    "Keep the part of the day the person asked to be called in ('morning' / 'afternoon').",
    "UPDATE leads SET preferencia_horario = %(preference)s WHERE id = %(lead_id)s",
)

SET_LEAD_LABELS = Query(
    "The dashboards' labels of the lead's latest result (None keeps a label as it was).",
    """
    UPDATE leads
    SET status_level_1 = COALESCE(%(status_level_1)s, status_level_1),
        status_level_2 = COALESCE(%(status_level_2)s, status_level_2)
    WHERE id = %(lead_id)s
    """,
)

RECORD_APPOINTMENT = Query(
    "Store a booked appointment on the lead; fields that could not be parsed stay as they were.",
    """
    UPDATE leads
    SET cita = COALESCE(%(cita)s, cita), hora_cita = COALESCE(%(hora_cita)s, hora_cita),
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
           l.nombre, l.apellidos, l.telefono, l.timezone, l.call_status, l.call_data,
           l.preferencia_horario
    FROM call_schedule cs
    JOIN leads l ON cs.lead_id = l.id
    WHERE cs.status = 'pending'
      AND cs.scheduled_at <= %(now)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open')
      AND (l.manual_management IS NULL OR l.manual_management = FALSE)
      AND l.is_demo = FALSE
    ORDER BY cs.scheduled_at ASC, cs.attempt_number ASC
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
    """,
)

PENDING_DUE_CALLS = Query(
    "The seed's pending query, read-only (dry runs and monitoring).",
    """
    SELECT cs.id, cs.lead_id, cs.scheduled_at, cs.attempt_number, cs.last_outcome,
           l.nombre, l.apellidos, l.telefono, l.timezone, l.preferencia_horario
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

MARK_LEADS_SELECTED = Query(
    "Set call_status 'selected' on the leads whose calls a run just claimed.",
    "UPDATE leads SET call_status = 'selected' WHERE id IN %(ids)s",
)

SET_LEAD_CALL_STATUS = Query(
    "Set an open lead's call_status (and the latest telephony error, when given); a closed "
    "lead's call_status is never overwritten.",
    """
    UPDATE leads
    SET call_status = %(call_status)s,
        call_error_message = COALESCE(%(message)s, call_error_message)
    WHERE id = %(lead_id)s AND (lead_status IS NULL OR lead_status = 'open')
    """,
)

INSERT_CLAIMED_CALL = Query(
    "Create the in-flight pearl_calls row of a claimed call (state passed as a parameter: "
    "PyMySQL batches executemany into one multi-row INSERT only when VALUES holds no literal).",
    """
    INSERT INTO pearl_calls
        (lead_id, schedule_id, state, run_id, lease_expires_at, claimed_at, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    """,
)

CLAIMED_CALL_ROWS = Query(
    "The claims a run just created for these schedules.",
    """
    SELECT id, schedule_id FROM pearl_calls
    WHERE schedule_id IN %(ids)s AND state = 'claimed' AND run_id = %(run_id)s
    """,
)

LEADS_FOR_CALL_DATA = Query(
    "Every column of the claimed leads: the agent's variables may name any lead column "
    "(the pearl_call_data mapping).",
    "SELECT * FROM leads WHERE id IN %(ids)s",
)

MARK_CALL_PLACED = Query(
    "Pearl accepted the call (the POST answered, or reconciliation found it): keep its request "
    "id (and call id when known); the lead's run of refusals ends.",
    """
    UPDATE pearl_calls pc JOIN leads l ON l.id = pc.lead_id
    SET pc.state = 'placed', pc.request_id = %(request_id)s,
        pc.call_id = COALESCE(pc.call_id, %(call_id)s),
        pc.placed_at = COALESCE(pc.placed_at, %(now)s), l.consecutive_refusals = 0
    WHERE pc.id = %(row_id)s AND pc.state IN ('placing', 'uncertain')
    """,
)

MARK_CALL_NOT_PLACED = Query(
    "The call never reached the person; no attempt is counted. Moves only from the states "
    "the caller names (call_lifecycle.sources of its event).",
    """
    UPDATE pearl_calls
    SET state = 'not_placed', error_message = %(message)s, completed_at = %(now)s
    WHERE id = %(row_id)s AND state IN %(from_states)s AND outcome IS NULL
    """,
)

RELEASE_CLAIM = Query(
    "Forget a call that provably never reached Pearl: a claim (by the run holding it, or by "
    "any run once its lease expired) or a POST the run's own Pearl refused with 401/403/404.",
    """
    DELETE FROM pearl_calls
    WHERE id = %(row_id)s AND state IN ('claimed', 'placing') AND outcome IS NULL
      AND (run_id = %(run_id)s OR (state = 'claimed' AND lease_expires_at < %(now)s))
    """,
)

RESTORE_SCHEDULE = Query(
    "Put a claimed call back to pending exactly as it was.",
    "UPDATE call_schedule SET status = 'pending' WHERE id = %s AND status = 'completed'",
)

CALLS_IN_STATE = Query(
    "Calls in one state, oldest first (what a collect pass works on).",
    """
    SELECT pc.id, pc.lead_id, pc.schedule_id, pc.request_id, pc.call_id, pc.state, pc.run_id,
           pc.lease_expires_at, pc.claimed_at, pc.placing_at, pc.placed_at,
           pc.processing_failures, l.telefono
    FROM pearl_calls pc JOIN leads l ON l.id = pc.lead_id
    WHERE pc.state = %(state)s
    ORDER BY pc.id
    LIMIT %(limit)s
    """,
)

EXPIRED_CLAIMS = Query(
    "Claims whose lease expired before their pre-flight (their run died or stalled).",
    """
    SELECT id, lead_id, schedule_id, run_id FROM pearl_calls
    WHERE state = 'claimed' AND lease_expires_at < %(now)s
    ORDER BY id LIMIT %(limit)s
    """,
)

EXPIRE_PLACING_LEASES = Query(
    "Calls between pre-flight and saved request id whose lease expired: the POST may have "
    "reached Pearl, so they become uncertain (reconciled, never redialled).",
    """
    UPDATE pearl_calls
    SET state = 'uncertain',
        error_message = 'lease expired before the request id was saved'
    WHERE state = 'placing' AND lease_expires_at < %(now)s
    """,
)

PREFLIGHT_CALL = Query(
    "The pre-flight's facts about one claimed call, its row locked: its state and run, "
    "whether another call of the lead may be ringing, whether the number is on the "
    "do-not-call list.",
    """
    SELECT pc.state, pc.run_id,
           EXISTS (SELECT 1 FROM pearl_calls o
                   WHERE o.lead_id = pc.lead_id AND o.id <> pc.id
                     AND o.state IN ('placing', 'placed', 'uncertain')) AS other_in_flight,
           EXISTS (SELECT 1 FROM do_not_call d WHERE d.telefono = %(phone)s) AS on_do_not_call
    FROM pearl_calls pc WHERE pc.id = %(row_id)s FOR UPDATE
    """,
)

MARK_CALL_PLACING = Query(
    "The pre-flight passed: the run may POST this call now. Only the run holding the claim.",
    """
    UPDATE pearl_calls
    SET state = 'placing', placing_at = %(now)s, lease_expires_at = %(lease)s
    WHERE id = %(row_id)s AND state = 'claimed' AND run_id = %(run_id)s
    """,
)

MARK_LEAD_CALLING = Query(
    "Set call_status 'calling' on a lead about to be dialled.",
    "UPDATE leads SET call_status = 'calling' WHERE id = %(lead_id)s",
)

MARK_CALL_UNCERTAIN = Query(
    "The POST may have reached Pearl but gave no request id: reconcile, never redial.",
    """
    UPDATE pearl_calls SET state = 'uncertain', error_message = %(message)s
    WHERE id = %(row_id)s AND state = 'placing'
    """,
)

RECORD_PROCESSING_FAILURE = Query(
    "Count one failure to process a call's result, keeping the error.",
    """
    UPDATE pearl_calls
    SET processing_failures = processing_failures + 1, error_message = %(message)s
    WHERE id = %(row_id)s AND state IN ('placing', 'placed', 'uncertain')
    """,
)

QUARANTINE_CALL = Query(
    "Set aside a call whose result failed processing too often.",
    """
    UPDATE pearl_calls SET state = 'quarantined'
    WHERE id = %(row_id)s AND state IN ('placing', 'placed', 'uncertain')
      AND processing_failures >= %(max_failures)s
    """,
)

PUT_LEAD_UNDER_REVIEW = Query(
    "Hand an open lead to a person: manual management on, with the reason.",
    """
    UPDATE leads
    SET manual_management = TRUE, status_level_1 = %(status_level_1)s,
        status_level_2 = %(status_level_2)s,
        call_error_message = COALESCE(%(message)s, call_error_message)
    WHERE id = %(lead_id)s AND (lead_status IS NULL OR lead_status = 'open')
    """,
)

COUNT_REFUSAL = Query(
    "One more call of this lead refused by Pearl; keep the error.",
    """
    UPDATE leads
    SET consecutive_refusals = consecutive_refusals + 1, call_error_message = %(message)s
    WHERE id = %(lead_id)s
    """,
)

KNOWN_REQUEST_IDS = Query(
    "Which of these Pearl request ids already belong to a call row.",
    "SELECT request_id FROM pearl_calls WHERE request_id IN %(ids)s",
)

LEAD_REFUSALS = Query(
    "How many calls of this lead Pearl refused in a row.",
    "SELECT consecutive_refusals FROM leads WHERE id = %s",
)

CALL_IN_FLIGHT_FOR_LEAD = Query(
    "A call of this lead that may be ringing or whose fate is not known yet.",
    """
    SELECT id, state FROM pearl_calls
    WHERE lead_id = %s AND state IN ('claimed', 'placing', 'placed', 'uncertain')
    LIMIT 1
    """,
)

PEARL_CALL_LEAD = Query(
    "The lead a pearl_calls row belongs to (matching a callRef to its lead).",
    "SELECT lead_id FROM pearl_calls WHERE id = %s",
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
    "Calls claimed, being placed or placed whose result is not in yet.",
    """
    SELECT COUNT(*) AS total FROM pearl_calls WHERE state IN ('claimed', 'placing', 'placed')
    """,
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


# --- operations: heartbeat, alerts, pause, stranded leads, self-test leads ------------------
# (heartbeat.py, operations.py, stranded.py, probar_llamadas_programadas.py, mantenimiento.py)

START_DISPATCHER_RUN = Query(
    "Record that a dispatcher run started (its heartbeat row).",
    """
    INSERT INTO dispatcher_runs (run_id, started_at) VALUES (%(run_id)s, %(started_at)s)
    ON DUPLICATE KEY UPDATE started_at = started_at
    """,
)

FINISH_DISPATCHER_RUN = Query(
    "Record how a dispatcher run ended: counts, summary JSON, exit code and error.",
    """
    UPDATE dispatcher_runs
    SET finished_at = %(finished_at)s, exit_code = %(exit_code)s, due = %(due)s,
        claimed = %(claimed)s, placed = %(placed)s, failed = %(failed)s,
        summary = %(summary)s, error = %(error)s
    WHERE run_id = %(run_id)s
    """,
)

DISPATCHER_RUN_BY_RUN_ID = Query(
    "One dispatcher run by its run id.",
    "SELECT * FROM dispatcher_runs WHERE run_id = %(run_id)s",
)

LAST_FINISHED_DISPATCHER_RUN = Query(
    "The most recently finished dispatcher run at or before a moment.",
    """
    SELECT run_id, started_at, finished_at, exit_code, due, claimed, placed, failed, error
    FROM dispatcher_runs
    WHERE finished_at IS NOT NULL AND finished_at <= %(now)s
    ORDER BY finished_at DESC, id DESC LIMIT 1
    """,
)

RECENT_FINISHED_DISPATCHER_RUNS = Query(
    "The last N finished dispatcher runs at or before a moment, newest first.",
    """
    SELECT run_id, started_at, finished_at, exit_code, due, claimed, placed, failed, error
    FROM dispatcher_runs
    WHERE finished_at IS NOT NULL AND finished_at <= %(now)s
    ORDER BY finished_at DESC, id DESC LIMIT %(limit)s
    """,
)

COUNT_OVERDUE_CALLS = Query(
    "Pending calls of open, non-manual, non-demo leads scheduled before a cut-off.",
    """
    SELECT COUNT(*) AS total, MIN(cs.scheduled_at) AS oldest
    FROM call_schedule cs
    JOIN leads l ON cs.lead_id = l.id
    WHERE cs.status = 'pending'
      AND cs.scheduled_at <= %(before)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open')
      AND (l.manual_management IS NULL OR l.manual_management = FALSE)
      AND l.is_demo = FALSE
    """,
)

COUNT_CALLS_BY_STATE_BEFORE = Query(
    "Calls in one pearl_calls state since at or before a moment (placing time, else last change).",
    """
    SELECT COUNT(*) AS total FROM pearl_calls
    WHERE state = %(state)s AND COALESCE(placing_at, updated_at) <= %(before)s
    """,
)

# A stranded lead: open, not under manual management, not a self-test lead, with no
# pending call and no call in flight or under reconciliation. Nothing would ever call it.
_STRANDED_WHERE = """
    (l.lead_status IS NULL OR l.lead_status = 'open')
    AND (l.manual_management IS NULL OR l.manual_management = FALSE)
    AND l.is_demo = FALSE
    AND NOT EXISTS (SELECT 1 FROM call_schedule cs WHERE cs.pending_lead_id = l.id)
    AND NOT EXISTS (
        SELECT 1 FROM pearl_calls pc
        WHERE pc.lead_id = l.id AND pc.state IN ('claimed', 'placing', 'placed', 'uncertain')
    )
"""

STRANDED_LEADS = Query(
    "Stranded leads (see _STRANDED_WHERE) after an id, in id order, at most `limit`.",
    f"""
    SELECT l.id, l.telefono, l.call_attempts_count, l.call_status, l.created_at, l.updated_at
    FROM leads l
    WHERE l.id > %(after_id)s AND {_STRANDED_WHERE}
    ORDER BY l.id LIMIT %(limit)s
    """,  # noqa: S608 - a constant fragment, no input
)

COUNT_STRANDED_LEADS = Query(
    "How many leads are stranded (see _STRANDED_WHERE).",
    f"SELECT COUNT(*) AS total FROM leads l WHERE {_STRANDED_WHERE}",  # noqa: S608
)

IS_LEAD_STRANDED = Query(
    "Whether one lead (already locked by the caller) is still stranded.",
    f"SELECT l.id FROM leads l WHERE l.id = %(lead_id)s AND {_STRANDED_WHERE}",  # noqa: S608
)

DELETE_CONFIG = Query(
    "Remove one configuration key; returns 1 if it existed.",
    "DELETE FROM scheduler_config WHERE config_key = %(key)s",
)

INSERT_SELF_TEST_LEAD = Query(
    "Create a self-test lead, marked is_demo so no dispatcher ever dials it.",
    """
    INSERT INTO leads (nombre, apellidos, telefono, lead_status, call_status, is_demo, created_at)
    VALUES (%(nombre)s, %(apellidos)s, %(telefono)s, 'open', 'no_selected', TRUE, %(now)s)
    """,
)

DELETE_SELF_TEST_LEFTOVERS = Query(
    "Remove self-test leads a killed run left behind (created before a cut-off); their calls "
    "go with them. Older versions did not set is_demo: their fixed number identifies them.",
    """
    DELETE FROM leads
    WHERE nombre = %(nombre)s AND created_at < %(before)s
      AND (is_demo = TRUE OR telefono = %(legacy_telefono)s)
    """,
)

# --- the HTTP server (servidor.py, webhook_pearl.py, api_original.py) ----------------------

SERVER_HEALTH_CHECK = Query(
    "The cheapest statement that proves the database answers (GET /health).",
    "SELECT 1 AS ok",
)

WEBHOOK_LEAD_BY_CALL_ROW = Query(
    "The lead of a pearl_calls row, found by our call reference (the row id), the Pearl call "
    "id or the request id, whichever is given; each key is unique, so at most three rows.",
    """
    SELECT id AS row_id, lead_id, 'callRef' AS matched_by FROM pearl_calls
    WHERE id = %(row_id)s
    UNION ALL
    SELECT id, lead_id, 'callId' FROM pearl_calls WHERE call_id = %(call_id)s
    UNION ALL
    SELECT id, lead_id, 'requestId' FROM pearl_calls WHERE request_id = %(request_id)s
    """,
)

WEBHOOK_LEAD_EXISTS = Query(
    "Whether a lead with this id exists (a call placed from Pearl's dashboard names its lead "
    "in callData).",
    "SELECT id FROM leads WHERE id = %s",
)

OPEN_LEADS_BY_LAST_DIGITS = Query(
    "At most two open leads whose telephone number ends in these digits (the last 9 of the "
    "normalised number, compared on the digits of the stored number only). Scans the open "
    "leads: used only for calls that carry no reference of ours.",
    """
    SELECT id FROM leads
    WHERE (lead_status IS NULL OR lead_status = 'open')
      AND RIGHT(REGEXP_REPLACE(telefono, '[^0-9]', ''), %(width)s) = %(digits)s
    ORDER BY id
    LIMIT 2
    """,
)

# --- lead import and the do-not-call list (importar_leads.py, do_not_call.py) ------------

DNC_CONTAINS = Query(
    "Whether one E.164 number is on the do-not-call list.",
    "SELECT 1 AS found FROM do_not_call WHERE telefono = %s",
)

DNC_AMONG = Query(
    "Which of the given E.164 numbers (one JSON array: a single parameter however many) are "
    "on the do-not-call list.",
    """
    SELECT d.telefono
    FROM JSON_TABLE(%(phones)s, '$[*]' COLUMNS (telefono VARCHAR(32) PATH '$')) AS j
    JOIN do_not_call d ON d.telefono = j.telefono
    """,
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
    "a re-run imports nothing twice) or an open lead with the same number; the file's numbers "
    "come as one JSON array.",
    """
    SELECT l.id, l.telefono, l.origen_archivo, l.lead_status
    FROM JSON_TABLE(%(phones)s, '$[*]' COLUMNS (telefono VARCHAR(32) PATH '$')) AS j
    JOIN leads l ON l.telefono = j.telefono
    WHERE l.origen_archivo = %(origen)s OR l.lead_status IS NULL OR l.lead_status = 'open'
    """,
)

INSERT_IMPORTED_LEADS = Query(
    "Insert a batch of imported leads, 'open' and 'no_selected', in one statement: the rows "
    "come as one JSON array of [nombre, apellidos, telefono, timezone, preferencia_horario, "
    "call_data] (null for an empty value), a single parameter rather than six per row "
    "(escaping those one by one was most of the importer's own time).",
    """
    INSERT INTO leads (nombre, apellidos, telefono, timezone, preferencia_horario, call_data,
                       origen_archivo, lead_status, call_status, created_at)
    SELECT j.nombre, j.apellidos, j.telefono, j.timezone, j.preferencia_horario, j.call_data,
           %(origen)s, 'open', 'no_selected', %(now)s
    FROM JSON_TABLE(%(rows)s, '$[*]' COLUMNS (
        nombre VARCHAR(100) PATH '$[0]',
        apellidos VARCHAR(150) PATH '$[1]',
        telefono VARCHAR(32) PATH '$[2]',
        timezone VARCHAR(64) PATH '$[3]',
        preferencia_horario VARCHAR(16) PATH '$[4]',
        call_data LONGTEXT PATH '$[5]')) AS j
    """,
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

INSERT_FIRST_CALLS = Query(
    "Schedule the first calls (attempt 1, 'pending') of a batch of leads just imported from a "
    "file: one JSON array of [telefono, scheduled_at] pairs, each matched to its lead by "
    "(origen_archivo, telefono) - unique among the file's leads, as the import skips a "
    "number already imported from the same file.",
    """
    INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status, created_at)
    SELECT l.id, j.scheduled_at, 1, 'pending', %(now)s
    FROM JSON_TABLE(%(calls)s, '$[*]' COLUMNS (
        telefono VARCHAR(32) PATH '$[0]',
        scheduled_at DATETIME PATH '$[1]')) AS j
    JOIN leads l ON l.origen_archivo = %(origen)s AND l.telefono = j.telefono
    """,
)

LOCAL_INFILE_ENABLED = Query(
    "Whether the server accepts LOAD DATA LOCAL INFILE (MySQL 8 ships with it off; the import "
    "then inserts through JSON_TABLE).",
    "SELECT @@local_infile AS enabled",
)

LOAD_IMPORTED_LEADS = Query(
    "Insert a batch of imported leads, 'open' and 'no_selected', from a tab-separated file of "
    "nombre, apellidos, telefono, timezone, preferencia_horario, call_data (\\N for NULL): "
    "the fastest way the server takes rows. LOCAL turns a refused row into a warning, so the "
    "caller checks the row count and the warnings (bulk_load.load_file).",
    """
    LOAD DATA LOCAL INFILE %(path)s INTO TABLE leads
    CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'
    (nombre, apellidos, telefono, timezone, preferencia_horario, call_data)
    SET origen_archivo = %(origen)s, lead_status = 'open', call_status = 'no_selected',
        created_at = %(now)s
    """,
)

LOADED_LEAD_IDS = Query(
    "The ids the last load of a file's leads got on this connection: how many rows of the file "
    "have an id from LAST_INSERT_ID() (the load's first id) on, the first and last of them and "
    "the server's id step. Read by primary key: only the batch's rows are visited.",
    """
    SELECT COUNT(*) AS loaded, MIN(id) AS first_id, MAX(id) AS last_id,
           @@auto_increment_increment AS step
    FROM leads FORCE INDEX (PRIMARY)
    WHERE id >= LAST_INSERT_ID() AND origen_archivo = %(origen)s
    """,
)

LOAD_FIRST_CALLS = Query(
    "Schedule the first calls (attempt 1, 'pending') of a batch of leads just loaded, from a "
    "tab-separated file of lead_id, scheduled_at (UTC).",
    """
    LOAD DATA LOCAL INFILE %(path)s INTO TABLE call_schedule
    CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'
    (lead_id, scheduled_at)
    SET attempt_number = 1, status = 'pending', created_at = %(now)s
    """,
)

LOAD_WARNINGS = Query(
    "The warnings of the last statement on this connection (a load's refused rows).",
    "SHOW WARNINGS",
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

# --- the supervisor's dashboard (panel.py, panel_data.py, panel_auth.py, audit.py) ---------
# Every read of the overview is an index range scan (bench/bench_panel.py prints the EXPLAIN).
# Variants "_IN_CAMPAIGN" take the campaign (origen_archivo) and use the index that starts
# with it; the others read every lead through idx_leads_panel.

PANEL_LEAD_GROUPS = Query(
    "Leads counted by status, review flag, attempts, closure reason and first status label "
    "(the overview's counts, funnel and attempts distribution; covering idx_leads_panel).",
    """
    SELECT lead_status, manual_management, call_attempts_count, closure_reason,
           status_level_1, COUNT(*) AS total
    FROM leads FORCE INDEX (idx_leads_panel)
    WHERE lead_status IS NULL OR lead_status IN ('open', 'closed')
    GROUP BY lead_status, manual_management, call_attempts_count, closure_reason, status_level_1
    """,
)

PANEL_LEAD_GROUPS_IN_CAMPAIGN = Query(
    "PANEL_LEAD_GROUPS for the leads of one campaign (origen_archivo, idx_leads_origen).",
    """
    SELECT lead_status, manual_management, call_attempts_count, closure_reason,
           status_level_1, COUNT(*) AS total
    FROM leads
    WHERE origen_archivo = %(campaign)s
    GROUP BY lead_status, manual_management, call_attempts_count, closure_reason, status_level_1
    """,
)

PANEL_APPOINTMENTS_BETWEEN = Query(
    "Appointments (leads.cita) on the business-local dates from `first` to `last`, by date; "
    "optionally of one campaign.",
    """
    SELECT cita, COUNT(*) AS total FROM leads
    WHERE cita BETWEEN %(first)s AND %(last)s
      AND (%(campaign)s IS NULL OR origen_archivo = %(campaign)s)
    GROUP BY cita
    """,
)

PANEL_SCHEDULE_COUNTS = Query(
    "Pending calls of open, non-demo leads: due now (scheduled at or before `now`) and "
    "overdue (at or before `overdue_before`); optionally of one campaign.",
    """
    SELECT COUNT(*) AS due_now, COALESCE(SUM(cs.scheduled_at <= %(overdue_before)s), 0) AS overdue
    FROM call_schedule cs
    JOIN leads l ON l.id = cs.lead_id
    WHERE cs.status = 'pending' AND cs.scheduled_at <= %(now)s
      AND (l.lead_status IS NULL OR l.lead_status = 'open') AND l.is_demo = FALSE
      AND (%(campaign)s IS NULL OR l.origen_archivo = %(campaign)s)
    """,
)

PANEL_CALLS_BY_STATE = Query(
    "Calls in flight or needing attention, by pearl_calls state (idx_pearl_calls_state).",
    """
    SELECT pc.state, COUNT(*) AS total
    FROM pearl_calls pc
    JOIN leads l ON l.id = pc.lead_id
    WHERE pc.state IN ('claimed', 'placing', 'placed', 'uncertain', 'quarantined')
      AND (%(campaign)s IS NULL OR l.origen_archivo = %(campaign)s)
    GROUP BY pc.state
    """,
)

PANEL_CALLS_BY_HOUR = Query(
    "Calls completed from `since` to `until` (UTC), by hour and outcome; optionally of one "
    "campaign (covering idx_pearl_calls_completed).",
    """
    SELECT DATE_FORMAT(pc.completed_at, '%%Y-%%m-%%d %%H:00:00') AS bucket, pc.outcome,
           COUNT(*) AS total
    FROM pearl_calls pc
    JOIN leads l ON l.id = pc.lead_id
    WHERE pc.completed_at >= %(since)s AND pc.completed_at < %(until)s
      AND (%(campaign)s IS NULL OR l.origen_archivo = %(campaign)s)
    GROUP BY bucket, pc.outcome
    """,
)

PANEL_CALLS_BY_HOUR_ALL = Query(
    "PANEL_CALLS_BY_HOUR without a campaign: the index alone, no join.",
    """
    SELECT DATE_FORMAT(completed_at, '%%Y-%%m-%%d %%H:00:00') AS bucket, outcome,
           COUNT(*) AS total
    FROM pearl_calls
    WHERE completed_at >= %(since)s AND completed_at < %(until)s
    GROUP BY bucket, outcome
    """,
)

PANEL_PENDING_BY_HOUR = Query(
    "Pending calls of open leads scheduled from `since` to `until` (UTC), by hour; "
    "optionally of one campaign (range on idx_call_schedule_due).",
    """
    SELECT DATE_FORMAT(cs.scheduled_at, '%%Y-%%m-%%d %%H:00:00') AS bucket, COUNT(*) AS total
    FROM call_schedule cs
    JOIN leads l ON l.id = cs.lead_id
    WHERE cs.status = 'pending' AND cs.scheduled_at >= %(since)s AND cs.scheduled_at < %(until)s
      AND (%(campaign)s IS NULL OR l.origen_archivo = %(campaign)s)
    GROUP BY bucket
    """,
)

PANEL_CAMPAIGNS = Query(
    "The campaigns (origen_archivo values) for the filter, from idx_leads_origen.",
    """
    SELECT DISTINCT origen_archivo FROM leads
    WHERE origen_archivo IS NOT NULL AND origen_archivo > ''
    ORDER BY origen_archivo LIMIT %(limit)s
    """,
)

PANEL_SEARCH_LEADS = Query(
    "Leads matching the search (name prefix, last digits of the number, status, campaign), "
    "newest first, at most `limit`. Empty filters are NULL.",
    """
    SELECT id, nombre, apellidos, telefono, lead_status, manual_management,
           call_attempts_count, closure_reason, status_level_1, status_level_2,
           origen_archivo, updated_at
    FROM leads
    WHERE (%(name)s IS NULL OR nombre LIKE %(name)s OR apellidos LIKE %(name)s)
      AND (%(digits)s IS NULL OR telefono LIKE %(digits)s)
      AND (%(status)s IS NULL
           OR (%(status)s = 'open' AND (lead_status IS NULL OR lead_status = 'open'))
           OR (%(status)s = 'closed' AND lead_status = 'closed')
           OR (%(status)s = 'review' AND manual_management = TRUE
               AND (lead_status IS NULL OR lead_status = 'open')))
      AND (%(campaign)s IS NULL OR origen_archivo = %(campaign)s)
    ORDER BY id DESC LIMIT %(limit)s
    """,
)

PANEL_LEAD = Query(
    "One lead's row for its page.",
    """
    SELECT id, nombre, apellidos, telefono, lead_status, closure_reason, call_status,
           call_attempts_count, last_call_attempt, manual_management, call_error_message,
           status_level_1, status_level_2, resultado_llamada, cita, hora_cita, timezone,
           preferencia_horario, origen_archivo, is_demo, closed_at, created_at, updated_at
    FROM leads WHERE id = %(lead_id)s
    """,
)

PANEL_LEAD_CALLS = Query(
    "A lead's calls, newest first, with what Pearl sent (the raw response is read for the "
    "summary, duration and recording only).",
    """
    SELECT id, schedule_id, state, outcome, provisional, simulated, pearl_status,
           conversation_status, error_message, raw_response, claimed_at, placed_at,
           completed_at, created_at
    FROM pearl_calls WHERE lead_id = %(lead_id)s ORDER BY id DESC LIMIT %(limit)s
    """,
)

PANEL_LEAD_SCHEDULES = Query(
    "A lead's call_schedule rows, newest first (status, time, outcome, cancel reason).",
    """
    SELECT id, scheduled_at, attempt_number, status, last_outcome, cancel_reason,
           created_at, updated_at
    FROM call_schedule WHERE lead_id = %(lead_id)s ORDER BY id DESC LIMIT %(limit)s
    """,
)

PANEL_REVIEW_QUEUE = Query(
    "Open leads a person must decide on (under manual management, or with a quarantined "
    "call), oldest change first.",
    """
    SELECT l.id, l.nombre, l.apellidos, l.telefono, l.status_level_1, l.status_level_2,
           l.call_error_message, l.consecutive_refusals, l.origen_archivo, l.updated_at,
           l.manual_management
    FROM leads l
    WHERE (l.lead_status IS NULL OR l.lead_status = 'open')
      AND (l.manual_management = TRUE
           OR EXISTS (SELECT 1 FROM pearl_calls pc
                      WHERE pc.lead_id = l.id AND pc.state = 'quarantined'))
    ORDER BY l.updated_at, l.id LIMIT %(limit)s
    """,
)

PANEL_LAST_CALL = Query(
    "A lead's latest call with a result, for the review queue's summary.",
    """
    SELECT id, outcome, state, raw_response, completed_at FROM pearl_calls
    WHERE lead_id = %(lead_id)s ORDER BY id DESC LIMIT 1
    """,
)

LEAD_REVIEW_STATE = Query(
    "Put an open lead under manual review, or release it (manual_management on or off).",
    """
    UPDATE leads SET manual_management = %(manual)s
    WHERE id = %(lead_id)s AND (lead_status IS NULL OR lead_status = 'open')
    """,
)

PANEL_USER = Query(
    "One dashboard user of the panel_users table.",
    "SELECT username, password_hash, role, disabled FROM panel_users WHERE username = %(username)s",
)

PANEL_UPSERT_USER = Query(
    "Create a dashboard user or change its password, role and disabled flag.",
    """
    INSERT INTO panel_users (username, password_hash, role, disabled)
    VALUES (%(username)s, %(password_hash)s, %(role)s, %(disabled)s)
    ON DUPLICATE KEY UPDATE password_hash = %(password_hash)s, role = %(role)s,
                            disabled = %(disabled)s
    """,
)

PANEL_AUDIT_INSERT = Query(
    "Record one thing done through the dashboard.",
    """
    INSERT INTO panel_audit (at, username, action, lead_id, detail)
    VALUES (%(at)s, %(username)s, %(action)s, %(lead_id)s, %(detail)s)
    """,
)

PANEL_AUDIT_FOR_LEAD = Query(
    "The audit rows of one lead, newest first.",
    """
    SELECT id, at, username, action, detail FROM panel_audit
    WHERE lead_id = %(lead_id)s ORDER BY at DESC, id DESC LIMIT %(limit)s
    """,
)

PANEL_AUDIT_RECENT = Query(
    "The latest audit rows (the settings page shows who changed what).",
    """
    SELECT id, at, username, action, lead_id, detail FROM panel_audit
    WHERE at >= %(since)s ORDER BY at DESC, id DESC LIMIT %(limit)s
    """,
)

PANEL_CONFIG_ROWS = Query(
    "Every configuration row with its description and last change, for the settings page.",
    "SELECT config_key, config_value, description, updated_at FROM scheduler_config",
)
