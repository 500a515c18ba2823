"""Shared set-up of the dashboard tests: users, a session key, leads with calls."""

from __future__ import annotations

import json
import re

import db
import panel_auth
from tests.helpers import make_lead, sql

SECRET = "test-panel-secret-key-0123456789abcdefghij"
SUPERVISOR = ("ana", "supervisor-password-1")
VIEWER = ("victor", "viewer-password-12")
PHONE = "+34612345678"
_HASHES: dict[str, str] = {}


def panel_env() -> dict[str, str]:
    """The dashboard's environment: a session key, plain-HTTP cookies, two users."""
    if not _HASHES:
        _HASHES["ana"] = panel_auth.hash_password(SUPERVISOR[1])
        _HASHES["victor"] = panel_auth.hash_password(VIEWER[1])
    return {
        "PANEL_SECRET_KEY": SECRET,
        "PANEL_COOKIE_SECURE": "0",
        "PANEL_USERS": f"ana:supervisor:{_HASHES['ana']};victor:viewer:{_HASHES['victor']}",
    }


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def lead_with_history(**fields) -> int:
    """An open lead of campaign 'camp-A' with one completed call (summary, recording,
    collected info) and one pending call tomorrow."""
    lead_id = make_lead(telefono=PHONE, origen_archivo="camp-A", call_attempts_count=1, **fields)
    raw = json.dumps({"call_result": {}, "pearl_response": {
        "summary": "Dijo que le llamemos al 612 345 678 mañana", "duration": 42,
        "recording": "https://recordings.invalid/abc.mp3",
        "collectedInfo": [{"id": "volverALlamar", "name": "volverALlamar", "value": "true"}],
    }})  # fmt: skip
    sql(
        "INSERT INTO pearl_calls (lead_id, state, outcome, pearl_status, conversation_status, "
        "raw_response, claimed_at, completed_at) VALUES (%s, 'completed', 'no_answer', 7, 10, "
        "%s, UTC_TIMESTAMP() - INTERVAL 2 HOUR, UTC_TIMESTAMP() - INTERVAL 1 HOUR)",
        (lead_id, raw),
    )
    sql(
        "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
        "VALUES (%s, UTC_TIMESTAMP() + INTERVAL 1 DAY, 2, 'pending')",
        (lead_id,),
    )
    return lead_id


def audit_rows(lead_id: int | None = None) -> list[dict]:
    """panel_audit rows, oldest first (of one lead when given)."""
    if lead_id is None:
        return sql("SELECT * FROM panel_audit ORDER BY id")
    return sql("SELECT * FROM panel_audit WHERE lead_id = %s ORDER BY id", (lead_id,))


def writable_state() -> str:
    """Everything an action could change, to prove a refused request wrote nothing."""
    parts = []
    for table in ("leads", "call_schedule", "scheduler_config", "do_not_call", "panel_audit"):
        parts.append(repr(sql(f"SELECT * FROM {table} ORDER BY 1")))
    db.close_connection()
    return "\n".join(parts)
