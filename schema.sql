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
    status_level_2       VARCHAR(100) NULL,
    resultado_llamada    VARCHAR(255) NULL,
    cita                 DATE NULL,
    hora_cita            TIME NULL,
    timezone             VARCHAR(64) NULL,
    -- 'morning' / 'afternoon': the part of the working day the person asked for.
    preferencia_horario  VARCHAR(16) NULL,
    -- Per-lead variables for the voice agent (Pearl's callData), a JSON object.
    call_data            JSON NULL,
    -- The file or campaign the lead was imported from.
    origen_archivo       VARCHAR(255) NULL,
    -- Consecutive calls Pearl refused (4xx) since the last one it accepted.
    consecutive_refusals INT NOT NULL DEFAULT 0,
    -- Self-test and demo leads: the dispatcher never dials them.
    is_demo              BOOLEAN NOT NULL DEFAULT FALSE,
    closed_at            DATETIME NULL,
    created_at           DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at           DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
                                          ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    KEY idx_leads_status (lead_status),
    KEY idx_leads_closed_at (closed_at),
    KEY idx_leads_telefono (telefono),
    KEY idx_leads_origen (origen_archivo, telefono),
    -- The dashboard: counts, funnel and attempts by status without reading the rows
    -- (covering; is_demo makes it cover the stranded-leads count of the health check too),
    -- the appointments of a period, the review queue oldest first.
    KEY idx_leads_panel (lead_status, manual_management, call_attempts_count, closure_reason,
                         status_level_1, is_demo),
    KEY idx_leads_cita (cita),
    KEY idx_leads_review (manual_management, lead_status, updated_at)
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

-- One row per call placed through Pearl or reported to the system. Its life is
-- the state machine written down in call_lifecycle.py:
--   claimed     a dispatcher run holds the schedule (run_id, lease_expires_at); nothing sent
--   placing     the pre-flight passed right before the POST; the POST may be under way
--   placed      Pearl accepted it: request_id is set; waiting for the result
--   uncertain   the POST may have reached Pearl but no request id was saved; reconciled
--               with Pearl's call-request listing by our callRef (= this row's id)
--   completed   its result was processed (outcome set); provisional = settled as `error`
--               without Pearl's result (timeout, uncertain too long), replaceable once
--   not_placed  provably never reached the person: no attempt counted
--   quarantined its result could not be processed max_processing_failures times
CREATE TABLE IF NOT EXISTS pearl_calls (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    lead_id             INT UNSIGNED NOT NULL,
    schedule_id         BIGINT UNSIGNED NULL,
    request_id          VARCHAR(64) NULL,
    call_id             VARCHAR(64) NULL,
    state               ENUM('claimed', 'placing', 'placed', 'uncertain', 'completed',
                             'not_placed', 'quarantined')
                        NOT NULL DEFAULT 'claimed',
    outcome             VARCHAR(32) NULL,
    provisional         BOOLEAN NOT NULL DEFAULT FALSE,
    simulated           BOOLEAN NOT NULL DEFAULT FALSE,
    pearl_status        INT NULL,
    conversation_status INT NULL,
    error_message       VARCHAR(500) NULL,
    processing_failures INT NOT NULL DEFAULT 0,
    raw_response        MEDIUMTEXT NULL,
    run_id              VARCHAR(36) NULL,
    lease_expires_at    DATETIME NULL,
    claimed_at          DATETIME NULL,
    placing_at          DATETIME NULL,
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
    -- The dashboard's calls per hour / per day by outcome (covering).
    KEY idx_pearl_calls_completed (completed_at, outcome, lead_id),
    CONSTRAINT fk_pearl_calls_lead FOREIGN KEY (lead_id)
        REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT fk_pearl_calls_schedule FOREIGN KEY (schedule_id)
        REFERENCES call_schedule (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The do-not-call list: numbers (E.164) that are never dialled.
CREATE TABLE IF NOT EXISTS do_not_call (
    telefono   VARCHAR(32)  NOT NULL,
    source     VARCHAR(100) NULL,
    reason     VARCHAR(255) NULL,
    added_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (telefono)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per dispatcher run: the heartbeat monitoring pages on.
CREATE TABLE IF NOT EXISTS dispatcher_runs (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    run_id       VARCHAR(36) NOT NULL,
    started_at   DATETIME NOT NULL,
    finished_at  DATETIME NULL,
    exit_code    INT NULL,
    due          INT NOT NULL DEFAULT 0,
    claimed      INT NOT NULL DEFAULT 0,
    placed       INT NOT NULL DEFAULT 0,
    failed       INT NOT NULL DEFAULT 0,
    summary      TEXT NULL,
    error        VARCHAR(500) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_dispatcher_runs_run (run_id),
    KEY idx_dispatcher_runs_started (started_at),
    KEY idx_dispatcher_runs_finished (finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The supervisor's dashboard (panel.py): its users (besides PANEL_USERS in the environment)
-- and the audit trail of everything done through it. Passwords are argon2 hashes.
CREATE TABLE IF NOT EXISTS panel_users (
    username      VARCHAR(64)  NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role          ENUM('viewer', 'supervisor') NOT NULL DEFAULT 'viewer',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who did what through the dashboard, and when (UTC). No phone number, no secret.
CREATE TABLE IF NOT EXISTS panel_audit (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    at         DATETIME NOT NULL,
    username   VARCHAR(64)  NOT NULL,
    action     VARCHAR(64)  NOT NULL,
    lead_id    INT UNSIGNED NULL,
    detail     VARCHAR(500) NULL,
    PRIMARY KEY (id),
    KEY idx_panel_audit_at (at),
    KEY idx_panel_audit_lead (lead_id, at)
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
