"""Operator switches kept in scheduler_config: the pause switch, the demo-database mark,
and the monitoring thresholds.

    dispatch_paused(config_or_cur) -> (paused, reason)   the dispatcher claims nothing if paused
    pause_dispatch(reason, who) / resume_dispatch(who)   `python mantenimiento.py pause|resume`
    is_demo_database(cur) / mark_demo_database(cur)      `--simulate` runs only on a demo database

The original system's `daemon_enabled=false` also pauses dispatch (so a migrated
configuration keeps its meaning); `resume` clears both.
"""

from __future__ import annotations

import getpass
import logging
import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import db
import queries
import scheduler_config
from clock import utc_now

logger = logging.getLogger(__name__)

PAUSED_KEY = "dispatch_paused"
PAUSED_REASON_KEY = "dispatch_paused_reason"
LEGACY_ENABLED_KEY = "daemon_enabled"  # the original system's switch
DEMO_DATABASE_KEY = "demo_database"
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})

# Monitoring thresholds: key -> (minimum, maximum, default).
ALERT_SETTINGS: dict[str, tuple[float, float, float]] = {
    "alert_overdue_minutes": (1, 7 * 24 * 60, 15),
    "alert_stale_dispatch_minutes": (1, 7 * 24 * 60, 10),
    "alert_failed_runs": (1, 1000, 3),
    "alert_uncertain_minutes": (1, 7 * 24 * 60, 15),
    "alert_paused_hours": (0.1, 24 * 366, 24),
}
_REASON_LENGTH = 1900  # scheduler_config.config_value is VARCHAR(2000)


def parse_bool(raw: Any) -> bool | None:
    """'true'/'1'/'yes'/'on' -> True, 'false'/'0'/'no'/'off'/'' -> False, else None."""
    text = str(raw).strip().lower() if raw is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _validate_bool(key: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if parse_bool(value) is not None else f"{key} must be true or false"

    return check


def _validate_number(key: str) -> Callable[[str], str | None]:
    low, high, _ = ALERT_SETTINGS[key]

    def check(value: str) -> str | None:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
        ok = number is not None and low <= number <= high
        return None if ok else f"{key} must be a number from {low:g} to {high:g}"

    return check


def _validate_text(value: str) -> str | None:
    return None if len(value) <= _REASON_LENGTH else "the reason is too long"


# Keys this module owns: key -> validator (None when the value is acceptable).
SETTINGS: dict[str, Callable[[str], str | None]] = {
    PAUSED_KEY: _validate_bool(PAUSED_KEY),
    PAUSED_REASON_KEY: _validate_text,
    DEMO_DATABASE_KEY: _validate_bool(DEMO_DATABASE_KEY),
    **{key: _validate_number(key) for key in ALERT_SETTINGS},
}


def alert_setting(raw: Mapping[str, Any], key: str) -> float:
    """A monitoring threshold from raw configuration rows, within bounds, else its default."""
    low, high, default = ALERT_SETTINGS[key]
    try:
        value = float(str(raw.get(key)).strip())
    except ValueError:
        return default
    return value if low <= value <= high else default


def _raw(config_or_cur: Any) -> Mapping[str, Any]:
    if isinstance(config_or_cur, scheduler_config.SchedulerConfig):
        return config_or_cur.raw
    if isinstance(config_or_cur, Mapping):
        return config_or_cur
    rows = db.fetch_all(config_or_cur, queries.LOAD_CONFIG)  # a cursor: read it fresh
    return {row["config_key"]: row["config_value"] for row in rows}


def dispatch_paused(config_or_cur: Any) -> tuple[bool, str | None]:
    """Whether dispatch is paused, and why.

    Takes a SchedulerConfig, a mapping of raw rows, or a cursor (read fresh, uncached:
    the dispatcher should pass its cursor so a pause applies at once). Paused when
    `dispatch_paused` is true, or the original system's `daemon_enabled` is false.
    An unreadable `dispatch_paused` value counts as paused (fail safe).
    """
    raw = _raw(config_or_cur)
    value = raw.get(PAUSED_KEY)
    if value is not None:
        flag = parse_bool(value)
        if flag is None:
            return True, f"{PAUSED_KEY}={str(value)[:40]!r} is not true/false; treated as paused"
        if flag:
            return True, (raw.get(PAUSED_REASON_KEY) or "paused (no reason given)")
    legacy = raw.get(LEGACY_ENABLED_KEY)
    if legacy is not None and parse_bool(legacy) is False:
        return True, f"{LEGACY_ENABLED_KEY}=false (the original system's switch)"
    return False, None


def operator() -> str:
    """Who is acting, for audit text: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _set(cur, key: str, value: str) -> None:
    db.execute(cur, queries.SET_CONFIG, {"key": key, "value": value, "description": None})


def pause_dispatch(
    reason: str | None = None, who: str | None = None, now: datetime | None = None
) -> str:
    """Pause dispatching; return the stored reason text ('paused by WHO at ISO: reason').

    One transaction; the scheduler_config cache of this process is dropped. Results of
    calls already placed are still collected while paused.
    """
    moment = (now or utc_now()).isoformat(timespec="seconds")
    text = f"paused by {who or operator()} at {moment}"
    if reason and reason.strip():
        text += f": {' '.join(reason.split())}"
    text = text[:_REASON_LENGTH]

    def work(cur) -> None:
        _set(cur, PAUSED_KEY, "true")
        _set(cur, PAUSED_REASON_KEY, text)

    db.run_in_transaction(work, name="pause dispatch")
    scheduler_config.clear_config_cache()
    logger.warning("dispatch %s", text)
    return text


def resume_dispatch(who: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Resume dispatching: dispatch_paused=false, and a legacy daemon_enabled=false is set
    to true (otherwise it would keep dispatch paused). Returns what was before."""
    moment = (now or utc_now()).isoformat(timespec="seconds")

    def work(cur) -> dict[str, Any]:
        paused, reason = dispatch_paused(cur)
        raw = _raw(cur)
        _set(cur, PAUSED_KEY, "false")
        _set(cur, PAUSED_REASON_KEY, f"resumed by {who or operator()} at {moment}")
        legacy = raw.get(LEGACY_ENABLED_KEY) is not None
        if legacy and parse_bool(raw[LEGACY_ENABLED_KEY]) is False:
            _set(cur, LEGACY_ENABLED_KEY, "true")
        return {"was_paused": paused, "previous_reason": reason}

    result = db.run_in_transaction(work, name="resume dispatch")
    scheduler_config.clear_config_cache()
    logger.warning("dispatch resumed")
    return result


def paused_since(reason: str | None) -> datetime | None:
    """The moment in a 'paused by WHO at ISO...' reason, or None."""
    if not reason or " at " not in reason:
        return None
    stamp = reason.split(" at ", 1)[1].split(": ", 1)[0].strip()
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def is_demo_database(cur) -> bool:
    """Whether this database was created by `probar_llamadas_programadas.py --demo` (or
    marked `demo_database=true`): the only kind where `--simulate` may write outcomes."""
    return parse_bool(_raw(cur).get(DEMO_DATABASE_KEY)) is True


def mark_demo_database(cur) -> None:
    """Mark the database the cursor is on as a demo database (inside the caller's
    transaction)."""
    _set(cur, DEMO_DATABASE_KEY, "true")
