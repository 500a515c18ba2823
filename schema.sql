-- Schema of the scheduled-calls system (MySQL 8.0+ and MariaDB 10.6+).
--
-- Idempotent: `python db.py init` runs it on every deploy. Tables are only
-- created when missing, and default configuration rows never overwrite a
-- value somebody has set.
--
-- Every DATETIME holds UTC: db.py sets the session time zone to '+00:00' on
-- each connection, and the Python code passes "now" in UTC. Business time
-- zones are applied in Python only.
--
-- Statements are separated by a semicolon at the end of a line; keep
-- semicolons out of string literals so db.py can split the file.

CREATE TABLE IF NOT EXISTS leads (
    id                   INT UNSIGNED NOT NULL AUTO_INCREMENT,
    nombre               VARCHAR(100) NULL,
    apellidos            VARCHAR(150) NULL,
    telefono             VARCHAR(32)  NULL,
    lead_status          ENUM('open', 'closed') NULL DEFAULT 'open',
    closure_reason       VARCHAR(255) NULL,
    call_status          ENUM('no_selected', 'selected', 'calling', 'completed',
                              'error', 'busy', 'no_answer') NULL DEFAULT 'no_selected',
    call_attempts_count  INT NOT NULL DEFAULT 0,
    last_call_attempt    DATETIME NULL,
    selected_for_calling BOOLEAN NOT NULL DEFAULT FALSE,
    manual_management    BOOLEAN NULL DEFAULT FALSE,
    call_error_message   VARCHAR(500) NULL,
    status_level_1       VARCHAR(100) NULL,
    resultado_llamada    VARCHAR(255) NULL,
    cita                 DATE NULL,
    hora_cita            TIME NULL,
    timezone             VARCHAR(64) NULL,
    closed_at            DATETIME NULL,
    created_at           DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at           DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
                                          ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_leads_status (lead_status),
    KEY idx_leads_closed_at (closed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS call_schedule (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    lead_id         INT UNSIGNED NOT NULL,
    scheduled_at    DATETIME NOT NULL,
    attempt_number  INT NOT NULL DEFAULT 1,
    status          ENUM('pending', 'completed', 'cancelled') NOT NULL DEFAULT 'pending',
    last_outcome    VARCHAR(32) NULL,
    cancel_reason   VARCHAR(255) NULL,
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    -- Equals lead_id while the row is pending and NULL otherwise: the UNIQUE
    -- index on it lets the database itself refuse a second pending row for a
    -- lead. VIRTUAL, because MySQL refuses ON DELETE CASCADE on the base
    -- column of a STORED generated column.
    pending_lead_id INT UNSIGNED AS (IF(status = 'pending', lead_id, NULL)) VIRTUAL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_call_schedule_one_pending (pending_lead_id),
    KEY idx_call_schedule_due (status, scheduled_at, attempt_number),
    KEY idx_call_schedule_lead (lead_id, status),
    KEY idx_call_schedule_status_created (status, created_at),
    CONSTRAINT fk_call_schedule_lead FOREIGN KEY (lead_id)
        REFERENCES leads (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS scheduler_config (
    config_key   VARCHAR(64)  NOT NULL,
    config_value VARCHAR(2000) NULL,
    description  VARCHAR(255) NULL,
    updated_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (config_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per call placed through Pearl or reported to the system.
-- state: 'claimed' (a dispatcher took the schedule, the call is not placed
-- yet), 'placed' (Pearl accepted it: request_id is set), 'completed' (its
-- result was processed: outcome is set), 'not_placed' (the call never reached
-- the person, so no attempt was counted).
CREATE TABLE IF NOT EXISTS pearl_calls (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    lead_id             INT UNSIGNED NOT NULL,
    schedule_id         BIGINT UNSIGNED NULL,
    request_id          VARCHAR(64) NULL,
    call_id             VARCHAR(64) NULL,
    state               ENUM('claimed', 'placed', 'completed', 'not_placed')
                        NOT NULL DEFAULT 'claimed',
    outcome             VARCHAR(32) NULL,
    pearl_status        INT NULL,
    conversation_status INT NULL,
    error_message       VARCHAR(500) NULL,
    raw_response        MEDIUMTEXT NULL,
    claimed_at          DATETIME NULL,
    placed_at           DATETIME NULL,
    completed_at        DATETIME NULL,
    created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_pearl_calls_call_id (call_id),
    UNIQUE KEY uq_pearl_calls_request_id (request_id),
    KEY idx_pearl_calls_lead (lead_id, created_at),
    KEY idx_pearl_calls_state (state, claimed_at),
    KEY idx_pearl_calls_schedule (schedule_id),
    CONSTRAINT fk_pearl_calls_lead FOREIGN KEY (lead_id)
        REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_pearl_calls_schedule FOREIGN KEY (schedule_id)
        REFERENCES call_schedule (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Default configuration (the seed's values). A row that already exists keeps
-- its value: the no-op update makes the insert idempotent.
INSERT INTO scheduler_config (config_key, config_value, description) VALUES
    ('default_delay_hours', '4', 'Hours before retrying a failed call, unless <outcome>_delay_hours is set'),
    ('default_max_attempts', '3', 'Maximum calls ever placed to a lead, unless <outcome>_max_attempts is set'),
    ('working_hours_start', '10:00', 'Start of working time, HH:MM, business local time'),
    ('working_hours_end', '20:00', 'End of working time, HH:MM, exclusive'),
    ('working_days', '1,2,3,4,5', 'Worked weekdays, 1 = Monday ... 7 = Sunday'),
    ('timezone', 'Europe/Madrid', 'IANA time zone of the business'),
    ('holidays', '', 'Extra non-working dates, comma-separated YYYY-MM-DD')
ON DUPLICATE KEY UPDATE config_key = config_key;
