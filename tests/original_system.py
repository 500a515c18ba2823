"""A database of the original system (jbenoliel/tuotempo), to test the in-place upgrade.

The tables follow the original's schema.sql (leads, pearl_calls, usuarios, clinicas) and its
scheduler migration (lead_status/closure_reason on leads; call_schedule and scheduler_config
with their original columns and keys). Two ENUMs are widened beyond the original's DDL, as
issue 13 describes live databases: leads.call_status with 'in_progress' and 'pending', and
leads.lead_status with 'pending'. The rows are realistic: naive Europe/Madrid times in
call_schedule.scheduled_at (both sides of a DST change), a lead with two pending calls,
legacy status values, legacy configuration keys, pearl_calls history.
"""

from __future__ import annotations

import json

import db

ORIGINAL_SCHEMA = [
    """
    CREATE TABLE `usuarios` (
      `id` INT AUTO_INCREMENT PRIMARY KEY,
      `username` VARCHAR(80) UNIQUE NOT NULL,
      `password_hash` VARCHAR(255) NOT NULL,
      `email` VARCHAR(255) UNIQUE NULL,
      `is_admin` TINYINT(1) NOT NULL DEFAULT 0,
      `created_at` TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    """,
    """
    CREATE TABLE `leads` (
      `id` INT AUTO_INCREMENT PRIMARY KEY,
      `nombre` VARCHAR(100) NULL,
      `apellidos` VARCHAR(150) NULL,
      `telefono` VARCHAR(20) NULL,
      `telefono2` VARCHAR(20) NULL,
      `nif` VARCHAR(20) NULL,
      `email` VARCHAR(255) NULL,
      `poliza` VARCHAR(50) NULL,
      `ciudad` VARCHAR(100) NULL,
      `orden` INT NULL,
      `ultimo_estado` ENUM('no answer', 'busy', 'completed') NULL,
      `resultado_llamada` ENUM('volver a marcar', 'no interesado', 'cita sin pack',
                               'cita con pack') NULL,
      `status_level_1` VARCHAR(100) NULL,
      `status_level_2` VARCHAR(255) NULL,
      `cita` DATE NULL,
      `hora_cita` TIME NULL,
      `conPack` TINYINT(1) DEFAULT 0,
      `call_id` VARCHAR(255) NULL,
      `call_status` ENUM('no_selected', 'selected', 'calling', 'completed', 'error', 'busy',
                         'no_answer', 'in_progress', 'pending') DEFAULT 'no_selected',
      `call_priority` INT DEFAULT 3,
      `selected_for_calling` BOOLEAN DEFAULT FALSE,
      `pearl_outbound_id` VARCHAR(100) NULL,
      `last_call_attempt` DATETIME NULL,
      `call_attempts_count` INT DEFAULT 0,
      `call_error_message` TEXT NULL,
      `pearl_call_response` TEXT NULL,
      `reserva_automatica` BOOLEAN DEFAULT FALSE,
      `preferencia_horario` ENUM('mañana', 'tarde') DEFAULT 'mañana',
      `fecha_minima_reserva` DATE NULL,
      `updated_at` TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      `lead_status` ENUM('open', 'closed', 'pending') DEFAULT 'open',
      `closure_reason` VARCHAR(100) NULL,
      `manual_management` BOOLEAN DEFAULT FALSE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    """,
    "CREATE INDEX idx_call_status ON leads(call_status)",
    "CREATE INDEX idx_lead_status ON leads(lead_status)",
    """
    CREATE TABLE `pearl_calls` (
      `id` INT AUTO_INCREMENT PRIMARY KEY,
      `call_id` VARCHAR(64) NOT NULL UNIQUE,
      `phone_number` VARCHAR(20) NOT NULL,
      `call_time` DATETIME NOT NULL,
      `duration` INT DEFAULT 0,
      `summary` TEXT,
      `collected_info` JSON,
      `recording_url` VARCHAR(512),
      `lead_id` INT NULL,
      INDEX `idx_phone` (`phone_number`),
      CONSTRAINT `fk_pearl_calls_lead` FOREIGN KEY (`lead_id`) REFERENCES `leads`(`id`)
          ON DELETE SET NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    """,
    """
    CREATE TABLE IF NOT EXISTS call_schedule (
        id INT PRIMARY KEY AUTO_INCREMENT,
        lead_id INT NOT NULL,
        scheduled_at DATETIME NOT NULL,
        attempt_number INT NOT NULL,
        status ENUM('pending', 'completed', 'failed', 'cancelled') DEFAULT 'pending',
        last_outcome VARCHAR(50) NULL,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        FOREIGN KEY (lead_id) REFERENCES leads(id) ON DELETE CASCADE,
        INDEX idx_scheduled_at (scheduled_at),
        INDEX idx_lead_status (lead_id, status),
        INDEX idx_status_scheduled (status, scheduled_at)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS scheduler_config (
        id INT PRIMARY KEY AUTO_INCREMENT,
        config_key VARCHAR(50) UNIQUE NOT NULL,
        config_value TEXT NOT NULL,
        description TEXT NULL,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    )
    """,
]

LEGACY_CONFIG = {
    "working_hours_start": "10:00",
    "working_hours_end": "20:00",
    "reschedule_hours": "30",
    "max_attempts": "6",
    "closure_reasons": json.dumps(
        {"no_answer": "Ilocalizable", "hang_up": "No colabora", "invalid_phone": "Teléfono erróneo"}
    ),
    "working_days": json.dumps([1, 2, 3, 4, 5]),
    "working_time_slots": json.dumps(
        {"morning": ["10:00", "14:00"], "afternoon": ["16:00", "20:00"]}
    ),
    "daemon_enabled": "true",
}

# (nombre, telefono, lead_status, call_status, preferencia_horario, call_attempts_count)
LEADS = [
    ("Ana", "+34612345001", "open", "no_selected", "mañana", 0),
    ("Benito", "+34612345002", "open", "in_progress", "tarde", 1),
    ("Carla", "+34612345003", "closed", "completed", "mañana", 2),
    ("Diego", "+34612345004", "pending", "pending", None, 0),
    ("Elena", "+34612345005", "open", "no_answer", "tarde", 3),
]
# (lead index, naive Madrid local scheduled_at, attempt, status, last_outcome)
SCHEDULES = [
    (0, "2026-07-15 10:30:00", 1, "pending", None),  # summer: UTC+2 -> 08:30 UTC
    (1, "2026-12-01 12:00:00", 2, "pending", "no_answer"),  # winter: UTC+1 -> 11:00 UTC
    (1, "2026-12-02 12:00:00", 3, "pending", "no_answer"),  # a second pending row
    (2, "2026-03-10 11:00:00", 1, "completed", "completed"),
    (4, "2026-06-01 18:00:00", 1, "failed", "busy"),
    (4, "2026-12-03 09:15:00", 4, "pending", "no_answer"),
]


def build_original_database(settings: db.DbSettings) -> None:
    """Create `settings.database` afresh with the original system's schema and rows."""
    conn = db.connect(settings, with_database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")
            cur.execute(f"CREATE DATABASE `{settings.database}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{settings.database}`")
            for statement in ORIGINAL_SCHEMA:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO usuarios (username, password_hash, is_admin) VALUES ('admin', 'x', 1)"
            )
            for key, value in LEGACY_CONFIG.items():
                cur.execute(
                    "INSERT INTO scheduler_config (config_key, config_value) VALUES (%s, %s)",
                    (key, value),
                )
            ids = []
            for nombre, telefono, status, call_status, preference, attempts in LEADS:
                cur.execute(
                    "INSERT INTO leads (nombre, apellidos, telefono, nif, poliza, lead_status, "
                    "call_status, preferencia_horario, call_attempts_count, closure_reason) "
                    "VALUES (%s, 'Legacy', %s, '00000000T', 'POL-1', %s, %s, %s, %s, %s)",
                    (
                        nombre,
                        telefono,
                        status,
                        call_status,
                        preference,
                        attempts,
                        "Cita" if status == "closed" else None,
                    ),
                )
                ids.append(cur.lastrowid)
            for index, local, attempt, status, outcome in SCHEDULES:
                cur.execute(
                    "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status, "
                    "last_outcome) VALUES (%s, %s, %s, %s, %s)",
                    (ids[index], local, attempt, status, outcome),
                )
            cur.execute(
                "INSERT INTO pearl_calls (call_id, phone_number, call_time, duration, summary, "
                "lead_id) VALUES ('legacy-call-1', '+34612345003', '2026-03-10 11:00:05', 95, "
                "'Cita concertada', %s)",
                (ids[2],),
            )
        conn.commit()
    finally:
        conn.close()
