"""The original system's scheduler_config keys: translated to the port's equivalents, kept
for another part of the port, or reported as ignored. No row is ever deleted.
"""

from __future__ import annotations

from typing import Any

import migraciones

DESCRIPTION = "translate the original system's configuration keys"
LEGACY_ONLY = True

TRANSLATED = {"max_attempts": "default_max_attempts", "reschedule_hours": "default_delay_hours"}
KEPT = {
    "working_time_slots": "kept for the working-time translator (split shifts)",
}
IGNORED = {
    "closure_reasons": "ignored: the port's closure reasons are fixed in call_outcome",
    "daemon_enabled": "ignored: the port runs from cron, not a daemon",
}
PORT_KEYS_PREFIXES = ("default_", "working_", "timezone", "holidays")

SET_SQL = """
INSERT INTO scheduler_config (config_key, config_value, description)
VALUES (%s, %s, %s)
ON DUPLICATE KEY UPDATE config_value = VALUES(config_value)
"""


def plan(cur, context: dict[str, Any]) -> tuple[list[migraciones.Step], list[str]]:
    cur.execute("SELECT config_key, config_value FROM scheduler_config")
    rows = {r["config_key"]: r["config_value"] for r in cur.fetchall()}
    steps, notes = [], []
    for key, value in sorted(rows.items()):
        if key in TRANSLATED:
            target = TRANSLATED[key]
            steps.append(
                migraciones.Step(SET_SQL, f"translate {key}", (target, value, f"from legacy {key}"))
            )
            notes.append(f"config {key}={value!r} -> {target} (legacy row kept)")
        elif key in KEPT:
            notes.append(f"config {key}: {KEPT[key]}")
        elif key in IGNORED:
            notes.append(f"config {key}: {IGNORED[key]} (row kept)")
        elif not key.startswith(PORT_KEYS_PREFIXES) and not key.endswith(
            ("_delay_hours", "_max_attempts")
        ):
            notes.append(f"config {key}: not used by the port, ignored (row kept)")
    return steps, notes
