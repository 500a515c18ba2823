"""The benchmarks' own SQL: filling tables fast, the floors, plans. Named, like queries.py.

Statements the library already names (locking a lead, recording an attempt,
the pending and claim queries, ...) are taken from `queries` and never
repeated here. Everything below exists only for the benchmarks.

Times in the fill files are Unix epoch seconds turned into DATETIME by the
server (FROM_UNIXTIME in a '+00:00' session is UTC), so Python never formats
a million dates.
"""

from __future__ import annotations

import bench_path  # noqa: F401  (puts the repository root on sys.path)

from queries import Query

# --- database lifecycle (the name is checked against DATABASE_NAME before formatting) -------

DROP_DATABASE = Query(
    "Drop the benchmark's own database.",
    "DROP DATABASE IF EXISTS `{database}`",
)

SERVER_VERSION = Query("The server's version string.", "SELECT VERSION() AS version")

SERVER_SETTINGS = Query(
    "Server settings that bound the figures (commit flush, buffer pool).",
    """
    SHOW GLOBAL VARIABLES WHERE Variable_name IN
        ('innodb_flush_log_at_trx_commit', 'innodb_buffer_pool_size', 'sync_binlog')
    """,
)

UTC_SESSION = Query(
    "The library's session time zone (every DATETIME is UTC), for the benchmark's connections.",
    "SET time_zone = '+00:00'",
)

READ_COMMITTED = Query(
    "The library's isolation level, for the benchmark's own connections.",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
)

# --- filling ---------------------------------------------------------------------------------

FILL_SESSION = Query(
    "Skip foreign-key and unique checks on the fill connection only: the generated rows "
    "are consistent by construction, and the checks triple the fill time.",
    "SET SESSION foreign_key_checks = 0, unique_checks = 0",
)

LEAD_FILE_COLUMNS = (
    "id, nombre, apellidos, telefono, lead_status, closure_reason, call_status, "
    "call_attempts_count, manual_management, closed_at, created_at"
)
SCHEDULE_FILE_COLUMNS = (
    "lead_id, scheduled_at, attempt_number, status, last_outcome, cancel_reason, created_at"
)

LOAD_LEADS = Query(
    "Bulk-load leads from a tab-separated file (closed_at, created_at as epoch seconds).",
    """
    LOAD DATA LOCAL INFILE %(path)s INTO TABLE leads
    CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'
    (id, nombre, apellidos, telefono, lead_status, closure_reason, call_status,
     call_attempts_count, manual_management, @closed_at, @created_at)
    SET closed_at = FROM_UNIXTIME(@closed_at), created_at = FROM_UNIXTIME(@created_at)
    """,
)

LOAD_SCHEDULES = Query(
    "Bulk-load call_schedule rows from a tab-separated file (times as epoch seconds).",
    """
    LOAD DATA LOCAL INFILE %(path)s INTO TABLE call_schedule
    CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'
    (lead_id, @scheduled_at, attempt_number, status, last_outcome, cancel_reason, @created_at)
    SET scheduled_at = FROM_UNIXTIME(@scheduled_at), created_at = FROM_UNIXTIME(@created_at)
    """,
)

# The same rows as multi-row INSERTs (pymysql's executemany packs ~1 MB per statement),
# for servers that refuse LOCAL INFILE. Times are formatted in Python on this path.
INSERT_LEADS = Query(
    "Insert leads, many rows per statement.",
    f"""
    INSERT INTO leads ({LEAD_FILE_COLUMNS})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    """,  # noqa: S608  (column names are constants of this module)
)

INSERT_SCHEDULES = Query(
    "Insert call_schedule rows, many rows per statement.",
    f"""
    INSERT INTO call_schedule ({SCHEDULE_FILE_COLUMNS})
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    """,  # noqa: S608  (column names are constants of this module)
)

ANALYZE_TABLES = Query(
    "Refresh the optimizer's statistics after a bulk fill, as a live table would have them.",
    "ANALYZE TABLE leads, call_schedule",
)

COUNT_SCHEDULES = Query(
    "How many call_schedule rows there are.",
    "SELECT COUNT(*) AS total FROM call_schedule",
)

# --- floors: the same change done as bare statements -----------------------------------------

FLOOR_CANCEL_CLOSED_PENDING = Query(
    "Floor of the daily cleanup: every pending call of a closed lead cancelled by one "
    "statement, in one transaction.",
    """
    UPDATE call_schedule cs JOIN leads l ON l.id = cs.lead_id
    SET cs.status = 'cancelled', cs.cancel_reason = %(reason)s
    WHERE cs.status = 'pending' AND l.lead_status = 'closed'
    """,
)

FLOOR_PURGE_CANCELLED = Query(
    "Floor of the monthly purge: every old cancelled call deleted by one statement, in one "
    "transaction.",
    "DELETE FROM call_schedule WHERE status = 'cancelled' AND created_at < %(before)s",
)

# --- plans -----------------------------------------------------------------------------------


def explain(query: Query) -> Query:
    """The EXPLAIN of a named library query (its SQL unchanged)."""
    return Query(f"Plan of: {query.description}", "EXPLAIN " + query.sql)


# --- figure 7: webhooks through the HTTP server (bench_webhooks.py) --------------------------

PLACED_CALL_PER_LEAD = Query(
    "One in-flight pearl_calls row per lead in an id range, as the dispatcher leaves a call "
    "Pearl accepted (request id 'bench-req-<lead id>'); the webhook finds it by callRef.",
    """
    INSERT INTO pearl_calls (lead_id, request_id, state, claimed_at, placed_at)
    SELECT id, CONCAT('bench-req-', id), 'placed', UTC_TIMESTAMP(), UTC_TIMESTAMP()
    FROM leads WHERE id BETWEEN %(first)s AND %(last)s ORDER BY id
    """,
)

PLACED_CALL_ROWS = Query(
    "The pearl_calls row id of each lead in an id range.",
    "SELECT id, lead_id FROM pearl_calls WHERE lead_id BETWEEN %(first)s AND %(last)s",
)

WEBHOOK_RUN_TOTALS = Query(
    "What a run of webhooks left behind for a range of leads: calls with a result, distinct "
    "call ids, and attempts counted.",
    """
    SELECT (SELECT COUNT(*) FROM pearl_calls
            WHERE lead_id BETWEEN %(first)s AND %(last)s AND outcome IS NOT NULL) AS results,
           (SELECT COUNT(DISTINCT call_id) FROM pearl_calls
            WHERE lead_id BETWEEN %(first)s AND %(last)s) AS call_ids,
           (SELECT COALESCE(SUM(call_attempts_count), 0) FROM leads
            WHERE id BETWEEN %(first)s AND %(last)s) AS attempts
    """,
)

LEAD_PHONES = Query(
    "The number of each lead in an id range.",
    "SELECT id, telefono FROM leads WHERE id BETWEEN %(first)s AND %(last)s",
)

# --- figure 8: lead import (bench_import.py) -------------------------------------------------

LOAD_IMPORTED_LEADS = Query(
    "The import's floor: already-normalised leads (E.164, zone, call_data JSON, origen) "
    "loaded straight into leads.",
    """
    LOAD DATA LOCAL INFILE %(path)s INTO TABLE leads
    CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'
    (nombre, apellidos, telefono, @timezone, call_data, origen_archivo)
    SET timezone = NULLIF(@timezone, ''), lead_status = 'open', call_status = 'no_selected',
        created_at = UTC_TIMESTAMP()
    """,
)


# --- figure 10: the dashboard's overview (bench_panel.py) ------------------------------------

PANEL_DIGITS = Query(
    "A ten-row table of digits, to generate millions of rows by cross joins.",
    "CREATE TABLE bench_digits (d INT NOT NULL PRIMARY KEY) "
    "SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
    "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 "
    "UNION ALL SELECT 9",
)

_NUMBERS = """
    (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d
            + 1000000 * h.d AS n
     FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f,
          bench_digits g, bench_digits h) AS numbers
"""

PANEL_FILL_LEADS = Query(
    "`total` leads over 20 campaigns: a third closed (appointment, refusal, max attempts), "
    "2 %% under review, 0-6 attempts.",
    f"""
    INSERT INTO leads (id, nombre, telefono, lead_status, closure_reason, status_level_1,
                       call_attempts_count, manual_management, origen_archivo, cita, closed_at,
                       created_at)
    SELECT n + 1, CONCAT('Lead ', n), CONCAT('+3460', LPAD(n, 7, '0')),
           IF(n %% 3 = 0, 'closed', 'open'),
           ELT(1 + n %% 9, 'Cita agendada', NULL, NULL, 'No interesado', NULL, NULL,
               'Máximo intentos alcanzado', NULL, NULL),
           ELT(1 + n %% 5, 'Volver a llamar', 'Cita Agendada', 'No Interesado', 'Revisar', NULL),
           n %% 7, n %% 50 = 1, CONCAT('campaign-', LPAD(n %% 20, 2, '0')),
           IF(n %% 9 = 0, CURRENT_DATE + INTERVAL (n %% 14) DAY, NULL),
           IF(n %% 3 = 0, UTC_TIMESTAMP() - INTERVAL (n %% 90) DAY, NULL),
           UTC_TIMESTAMP() - INTERVAL 100 DAY
    FROM {_NUMBERS}
    WHERE n < %(total)s
    """,  # noqa: S608 - a constant fragment
)

PANEL_FILL_CALLS = Query(
    "`total` completed calls over the leads (`leads` of them), spread over the last 90 days, "
    "seven outcomes; a few hundred in flight, uncertain and quarantined.",
    f"""
    INSERT INTO pearl_calls (lead_id, state, outcome, pearl_status, conversation_status,
                             claimed_at, completed_at, created_at)
    SELECT 1 + n %% %(leads)s,
           ELT(1 + (n < 300) + (n < 200) + (n < 100), 'completed', 'quarantined', 'uncertain',
               'placed'),
           ELT(1 + n %% 7, 'no_answer', 'busy', 'voicemail', 'appointment', 'not_interested',
               'hang_up', 'callback'),
           4, 10,
           UTC_TIMESTAMP() - INTERVAL (n %% 129600) MINUTE,
           IF(n < 300, NULL, UTC_TIMESTAMP() - INTERVAL (n %% 129600) MINUTE),
           UTC_TIMESTAMP() - INTERVAL (n %% 129600) MINUTE
    FROM {_NUMBERS}
    WHERE n >= %(first)s AND n < %(last)s
    """,  # noqa: S608 - a constant fragment
)

PANEL_FILL_PENDING = Query(
    "One pending call for each of the open leads below `leads`, spread over the next 72 hours "
    "(a few overdue).",
    """
    INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status)
    SELECT id, UTC_TIMESTAMP() + INTERVAL (CAST(id %% 4320 AS SIGNED) - 60) MINUTE, 1, 'pending'
    FROM leads WHERE lead_status = 'open' AND id <= %(leads)s
    """,
)

# --- figure 7's floor endpoints (bench_server.py) -------------------------------------------

FLOOR_READ = Query(
    "/bench/floor's one bare transaction: read a lock-free row of the configuration.",
    "SELECT config_value FROM scheduler_config WHERE config_key = 'default_max_attempts'",
)

FLOOR_WRITE = Query(
    "/bench/floor-write's one bare transaction: one durable one-row write, the least a webhook "
    "that records a result must do.",
    "UPDATE leads SET last_call_attempt = %(now)s WHERE id = %(lead_id)s",
)
