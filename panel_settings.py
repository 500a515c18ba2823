"""The dashboard's settings page: every scheduler_config key with its stored and effective
value and a description, and the effective working windows as a weekly grid.

Reading only; writing goes through mantenimiento.set_config (the same validation as
`python mantenimiento.py set-config`) and operations.pause_dispatch / resume_dispatch.
"""

from __future__ import annotations

from datetime import time
from typing import Any

import config_keys
import db
import mantenimiento
import queries
import scheduler_config
from working_time import weekly_windows

# Descriptions of keys without one in scheduler_config, by name or family.
_DESCRIPTIONS = {
    "working_days": "Worked weekdays, 1 = Monday ... 7 = Sunday",
    "morning_end": "End of the morning for leads who prefer mornings, HH:MM",
    "afternoon_start": "Start of the afternoon for leads who prefer afternoons, HH:MM",
    "calling_law": "Legal calling envelope (for example ES), or off",
    "calling_law_lunch_break": "Whether the legal envelope has a lunch break",
    "holidays_country": "Country whose public holidays are not worked (ISO code)",
    "holidays_subdivision": "Region whose public holidays are not worked",
    "dispatch_paused": "true: the dispatcher claims no call (results are still collected)",
    "dispatch_paused_reason": "Who paused dispatch, when and why",
    "demo_database": "true only on a demo database (simulated results allowed)",
    "call_result_timeout_minutes": "Minutes to wait for a call's result before giving up",
    "place_failure_delay_minutes": "Minutes before retrying a call Pearl refused or never got",
    "claim_lease_minutes": "Minutes a dispatcher run holds a claimed call",
    "reconcile_grace_minutes": "Minutes before an uncertain call is reconciled with Pearl",
    "uncertain_max_hours": "Hours an uncertain call waits before being settled as error",
    "max_processing_failures": "Failed processings of a result before it is quarantined",
    "max_refusals": "Consecutive Pearl refusals before the lead goes to review",
    "collect_budget_seconds": "Seconds a dispatcher run spends collecting results",
    "alert_overdue_minutes": "Alert when calls are overdue by more than this (minutes)",
    "alert_stale_dispatch_minutes": "Alert when no dispatcher run finished for this long",
    "alert_failed_runs": "Alert after this many failed dispatcher runs in a row",
    "alert_uncertain_minutes": "Alert when a call stays uncertain for this long",
    "alert_paused_hours": "Alert when dispatch stays paused for longer than this",
}
_FAMILIES = (
    ("_delay_hours", "Hours before retrying after outcome {}"),
    ("_max_attempts", "Maximum calls to a lead whose last outcome is {}"),
    ("_action", "What outcome {} does (retry, close, review, callback)"),
)


def describe(key: str, stored: str | None) -> str:
    """The stored description, else a known one, else one by the key's family."""
    if stored:
        return stored
    if key in _DESCRIPTIONS:
        return _DESCRIPTIONS[key]
    if key.startswith("working_hours_") and key[-1:].isdigit():
        return f"Working windows of weekday {key[-1]} (1 = Monday), replacing the general ones"
    for suffix, text in _FAMILIES:
        if key.endswith(suffix):
            return text.format(key[: -len(suffix)])
    return ""


def settings_rows() -> dict[str, Any]:
    """{rows: [{key, stored, effective, description, updated_at}], problems, warnings,
    paused, paused_reason, windows: {1..7: [(start, end)]}} from check-config's own report."""
    report = mantenimiento.check_config()
    with db.transaction("dashboard settings") as cur:
        stored = {r["config_key"]: r for r in db.fetch_all(cur, queries.PANEL_CONFIG_ROWS)}
    effective = report["effective"]
    keys = sorted(set(config_keys.known_keys()) | set(stored) | set(effective))
    rows = []
    for key in keys:
        row = stored.get(key) or {}
        rows.append({
            "key": key,
            "stored": row.get("config_value"),
            "effective": effective.get(key, row.get("config_value") or ""),
            "description": describe(key, row.get("description")),
            "updated_at": row.get("updated_at"),
            "known": config_keys.is_known_key(key),
        })  # fmt: skip
    wt = scheduler_config.get_config().working_time
    return {
        "rows": rows,
        "problems": report["problems"],
        "warnings": report["warnings"],
        "paused": report["paused"],
        "paused_reason": report["paused_reason"],
        "windows": weekly_windows(wt),
        "zone": wt.timezone,
    }


def grid(windows: dict[int, list[tuple[time, time]]]) -> list[list[bool]]:
    """A 7 x 48 grid (weekday, half hour): True where calls may be placed."""
    cells = []
    for day in range(1, 8):
        row = []
        for half in range(48):
            start = time(half // 2, 30 * (half % 2))
            row.append(any(a <= start < b for a, b in windows.get(day, [])))
        cells.append(row)
    return cells
