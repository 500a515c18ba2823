"""The original system stored call_schedule.scheduled_at as naive local time of the business
(Europe/Madrid); the port stores UTC. One UPDATE converts every row, with one CASE branch per
DST period so each value is shifted by the offset in force at that local time (an ambiguous
autumn hour is read as its first occurrence, a skipped spring hour with the offset before).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import migraciones

DESCRIPTION = "call_schedule.scheduled_at from naive business local time to UTC"
LEGACY_ONLY = True
DEFAULT_ZONE = "Europe/Madrid"


def _offset_minutes(local: datetime, zone: ZoneInfo) -> int:
    return int(local.replace(tzinfo=zone).utcoffset().total_seconds() // 60)


def _boundary(day: datetime, zone: ZoneInfo) -> datetime:
    """First local minute of `day` whose offset differs from the offset at midnight."""
    lo, hi = 0, 24 * 60 - 1
    first = _offset_minutes(day, zone)
    while lo < hi:
        mid = (lo + hi) // 2
        if _offset_minutes(day + timedelta(minutes=mid), zone) == first:
            lo = mid + 1
        else:
            hi = mid
    return day + timedelta(minutes=lo)


def periods(low: datetime, high: datetime, zone: ZoneInfo) -> list[tuple[datetime | None, int]]:
    """[(end of the period in local time or None for the last, offset minutes)] covering
    low..high."""
    day = datetime(low.year, low.month, low.day) - timedelta(days=1)
    result: list[tuple[datetime | None, int]] = []
    current = _offset_minutes(day, zone)
    while day <= high + timedelta(days=1):
        nxt = day + timedelta(days=1)
        if (
            _offset_minutes(nxt, zone) != current
            or _offset_minutes(day + timedelta(hours=23, minutes=59), zone) != current
        ):
            change = _boundary(day, zone)
            result.append((change, current))
            current = _offset_minutes(change, zone)
        day = nxt
    result.append((None, current))
    return result


def plan(cur, context: dict[str, Any]) -> tuple[list[migraciones.Step], list[str]]:
    cur.execute("SELECT config_value FROM scheduler_config WHERE config_key = 'timezone'")
    row = cur.fetchone()
    name = (row or {}).get("config_value") or DEFAULT_ZONE
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        name, zone = DEFAULT_ZONE, ZoneInfo(DEFAULT_ZONE)
    cur.execute(
        "SELECT MIN(scheduled_at) AS low, MAX(scheduled_at) AS high, COUNT(*) AS total "
        "FROM call_schedule"
    )
    span = cur.fetchone()
    if not span["total"]:
        return [], ["call_schedule is empty: no local times to convert"]
    cases, params = [], []
    for end, offset in periods(span["low"], span["high"], zone):
        if end is None:
            cases.append("ELSE scheduled_at - INTERVAL %s MINUTE")
            params.append(offset)
        else:
            cases.append("WHEN scheduled_at < %s THEN scheduled_at - INTERVAL %s MINUTE")
            params += [end, offset]
    # The CASE branches are fixed text; the boundaries and offsets are parameters.
    sql = f"UPDATE call_schedule SET scheduled_at = CASE {' '.join(cases)} END"  # noqa: S608
    note = f"{span['total']} call_schedule times converted from {name} local time to UTC"
    return [migraciones.Step(sql, DESCRIPTION, tuple(params))], [note]
