"""The `scheduler_config` table: parsing (pure) and a per-process cache.

Invalid values never raise: each is logged once per load, naming the key and
the value that is used instead. `parse_config` does the work without I/O;
`get_config` loads the rows through a cursor and caches the result for
SCHEDULER_CONFIG_CACHE_SECONDS (default 60, 0 = read every time).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

import db
import dispositions as _dispositions  # outcome dispositions (see the marked blocks below)
import queries
from working_time import (
    DEFAULT_DAYS,
    DEFAULT_END,
    DEFAULT_START,
    DEFAULT_TIMEZONE,
    WorkingTime,
)

logger = logging.getLogger(__name__)

# The seed's last-resort values ("Valores hardcoded (4 horas, 3 intentos)").
DEFAULT_DELAY_HOURS = 4.0
DEFAULT_MAX_ATTEMPTS = 3
# Bounds past which a value is garbage rather than a choice.
MAX_DELAY_HOURS = 24 * 366
MAX_ATTEMPTS_LIMIT = 1000
DEFAULT_CACHE_SECONDS = 60.0

_HHMM = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@dataclass(frozen=True)
class RetryConfig:
    """How a failed call with one outcome is retried."""

    delay_hours: float
    max_attempts: int

    def as_dict(self) -> dict[str, Any]:
        """The documented dict form: {'delay_hours': ..., 'max_attempts': ...}."""
        return {"delay_hours": self.delay_hours, "max_attempts": self.max_attempts}


@dataclass(frozen=True)
class SchedulerConfig:
    """Parsed configuration. Build it with `parse_config`."""

    raw: Mapping[str, str | None]
    working_time: WorkingTime
    delays: Mapping[str, float]  # valid `<prefix>_delay_hours` values by prefix
    max_attempts: Mapping[str, int]  # valid `<prefix>_max_attempts` values by prefix
    problems: tuple[str, ...] = ()
    _numbers: dict[tuple, float] = field(default_factory=dict, compare=False, repr=False)
    # --- dispositions (dispositions.py): <outcome>_action/_closure_reason/_status_level_1/2/
    # _do_not_call, collected_info_rules, pearl_call_data ---
    dispositions: _dispositions.DispositionConfig = _dispositions.DEFAULT_DISPOSITION_CONFIG
    # --- end dispositions ---

    def retry_for(self, outcome: str) -> RetryConfig:
        """Resolve delay and max attempts for an outcome, each on its own:
        `{outcome}_*`, then `default_*`, then 4 hours / 3 attempts."""
        delay = self.delays.get(outcome, self.delays.get("default", DEFAULT_DELAY_HOURS))
        attempts = self.max_attempts.get(
            outcome, self.max_attempts.get("default", DEFAULT_MAX_ATTEMPTS)
        )
        return RetryConfig(delay_hours=delay, max_attempts=attempts)

    def setting(self, key: str) -> float:
        """A numeric setting of NUMBER_SETTINGS, within its bounds (else its default)."""
        minimum, maximum, default = NUMBER_SETTINGS[key]
        return self.number(key, default, minimum=minimum, maximum=maximum)

    def number(
        self, key: str, default: float, *, minimum: float = 0, maximum: float = math.inf
    ) -> float:
        """A numeric setting within [minimum, maximum]; the default (with one warning) if not."""
        cache_key = (key, default, minimum, maximum)
        if cache_key not in self._numbers:
            raw = self.raw.get(key)
            value = _parse_float(raw)
            if raw is None or not str(raw).strip():
                value = default
            elif value is None or not minimum <= value <= maximum:
                logger.warning(
                    "scheduler_config %s=%r is not a number in [%s, %s]; using %s",
                    key, _short(raw), minimum, maximum, default,
                )  # fmt: skip
                value = default
            self._numbers[cache_key] = value
        return self._numbers[cache_key]


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_float(raw: Any) -> float | None:
    try:
        value = float(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def parse_delay_hours(raw: Any) -> float | None:
    """A positive, finite number of hours up to a year, else None."""
    value = _parse_float(raw)
    return value if value is not None and 0 < value <= MAX_DELAY_HOURS else None


def parse_max_attempts(raw: Any) -> int | None:
    """A whole number of attempts from 1 to 1000 ("3" or "3.0"), else None."""
    value = _parse_float(raw)
    if value is None or not value.is_integer() or not 1 <= value <= MAX_ATTEMPTS_LIMIT:
        return None
    return int(value)


def parse_hhmm(raw: Any) -> time | None:
    """'HH:MM' or 'HH:MM:SS' (24 h) as a time, else None."""
    match = _HHMM.fullmatch(str(raw).strip()) if raw is not None else None
    if not match:
        return None
    hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_hours_range(raw: Any) -> tuple[time, time] | None:
    """'HH:MM-HH:MM' with start before end, else None."""
    parts = str(raw).split("-") if raw is not None else []
    if len(parts) != 2:
        return None
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if start is None or end is None or not start < end:
        return None
    return start, end


def parse_working_days(raw: Any) -> frozenset[int] | None:
    """'1,2,3,4,5' or '[1, 2, 3, 4, 5]' (1 = Monday) as a set, else None."""
    text = str(raw).strip() if raw is not None else ""
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            return None
        if not isinstance(items, list):
            return None
    else:
        items = [part.strip() for part in text.split(",")]
    days = set()
    for item in items:
        if isinstance(item, bool):
            return None
        try:
            day = int(item)
        except (TypeError, ValueError):
            return None
        if not 1 <= day <= 7 or str(item).strip() not in {str(day), str(day) + ".0"}:
            return None
        days.add(day)
    return frozenset(days) or None


def parse_timezone(raw: Any) -> ZoneInfo | None:
    """An IANA zone name as a ZoneInfo, else None."""
    name = str(raw).strip() if raw is not None else ""
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_holiday_dates(raw: Any) -> tuple[frozenset[date], list[str]]:
    """Comma-separated YYYY-MM-DD dates: the valid ones, and the entries that are not."""
    dates, bad = set(), []
    for part in str(raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            dates.add(date.fromisoformat(part))
        except ValueError:
            bad.append(part)
    return frozenset(dates), bad


class _Problems:
    """Collects one warning per invalid key during a parse."""

    def __init__(self, log: bool = True) -> None:
        self.lines: list[str] = []
        self.log = log

    def add(self, key: str, raw: Any, used: Any) -> None:
        line = f"{key}={_short(raw)!r} is invalid; using {used}"
        self.lines.append(line)
        if self.log:
            logger.warning("scheduler_config %s", line)


def _holiday_calendar(raw: Mapping[str, str | None], problems: _Problems) -> Any:
    country = (raw.get("holidays_country") or "").strip()
    if not country:
        return None
    subdivision = (raw.get("holidays_subdivision") or "").strip() or None
    try:
        return holidays_lib.country_holidays(country, subdiv=subdivision)
    except (NotImplementedError, KeyError, ValueError) as exc:
        problems.add("holidays_country", f"{country}/{subdivision}", f"no calendar ({exc})")
        return None


def _working_time(raw: Mapping[str, str | None], problems: _Problems) -> WorkingTime:
    def pick(key: str, parser, default, shown_default):
        value = raw.get(key)
        if value is None or not str(value).strip():
            return default
        parsed = parser(value)
        if parsed is None:
            problems.add(key, value, shown_default)
            return default
        return parsed

    zone = pick("timezone", parse_timezone, ZoneInfo(DEFAULT_TIMEZONE), DEFAULT_TIMEZONE)
    days = pick("working_days", parse_working_days, DEFAULT_DAYS, "1,2,3,4,5")
    start = pick("working_hours_start", parse_hhmm, DEFAULT_START, "10:00")
    end = pick("working_hours_end", parse_hhmm, DEFAULT_END, "20:00")
    if not start < end:
        problems.add("working_hours_start/end", f"{start}-{end}", "10:00-20:00")
        start, end = DEFAULT_START, DEFAULT_END
    day_hours = {}
    for day in range(1, 8):
        hours = pick(f"working_hours_{day}", parse_hours_range, None, "the general hours")
        if hours is not None:
            day_hours[day] = hours
    dates, bad = parse_holiday_dates(raw.get("holidays"))
    if bad:
        problems.add("holidays", ",".join(bad), "the valid dates only")
    return WorkingTime(
        timezone=zone,
        days=days,
        start=start,
        end=end,
        day_hours=day_hours,
        holidays=dates,
        holiday_calendar=_holiday_calendar(raw, problems),
    )


def parse_config(raw: Mapping[str, str | None], *, log: bool = True) -> SchedulerConfig:
    """Parse configuration rows (key -> text). Never raises for bad values; each invalid
    one is listed in `problems` (and logged unless `log` is false)."""
    problems = _Problems(log)
    delays: dict[str, float] = {}
    attempts: dict[str, int] = {}
    for key, value in raw.items():
        for suffix, parser, target, fallback in (
            ("_delay_hours", parse_delay_hours, delays, "the next fallback"),
            ("_max_attempts", parse_max_attempts, attempts, "the next fallback"),
        ):
            if key.endswith(suffix) and len(key) > len(suffix):
                parsed = parser(value)
                if parsed is None:
                    problems.add(key, value, fallback)
                else:
                    target[key[: -len(suffix)]] = parsed
    # --- dispositions (dispositions.py) ---
    disposition_config = _dispositions.parse_disposition_config(raw, log=log)
    # --- end dispositions ---
    return SchedulerConfig(
        raw=dict(raw),
        working_time=_working_time(raw, problems),
        delays=delays,
        max_attempts=attempts,
        problems=tuple(problems.lines) + disposition_config.problems,
        dispositions=disposition_config,
    )


# --- the per-process cache -------------------------------------------------------------

_cache_lock = threading.Lock()
_cached: tuple[float, SchedulerConfig, float] | None = None  # (expires, config, loaded)


def cache_seconds() -> float:
    """SCHEDULER_CONFIG_CACHE_SECONDS (default 60; 0 disables the cache)."""
    raw = os.environ.get("SCHEDULER_CONFIG_CACHE_SECONDS", "").strip()
    value = _parse_float(raw) if raw else DEFAULT_CACHE_SECONDS
    if value is None or value < 0:
        logger.warning("SCHEDULER_CONFIG_CACHE_SECONDS=%r is invalid; using 60", _short(raw))
        return DEFAULT_CACHE_SECONDS
    return value


def clear_config_cache() -> None:
    """Forget the cached configuration; the next read loads it again."""
    global _cached
    with _cache_lock:
        _cached = None


def get_config(cur=None, *, max_age: float | None = None) -> SchedulerConfig:
    """The current configuration, from the cache or loaded through `cur`.

    Without a cursor a short read-only transaction of its own is used. `max_age` (seconds)
    bounds how old a cached copy may be (the pre-flight before a call asks for a fresh one).
    """
    global _cached
    now = _time.monotonic()
    with _cache_lock:
        if (
            _cached is not None
            and _cached[0] > now
            and (max_age is None or now - _cached[2] <= max_age)
        ):
            return _cached[1]
    if cur is None:
        with db.transaction("load scheduler_config") as own_cur:
            rows = db.fetch_all(own_cur, queries.LOAD_CONFIG)
    else:
        rows = db.fetch_all(cur, queries.LOAD_CONFIG)
    config = parse_config({row["config_key"]: row["config_value"] for row in rows})
    ttl = cache_seconds()
    with _cache_lock:
        _cached = (now + ttl, config, now) if ttl > 0 else None
    return config


# --- validation and description (used by mantenimiento.py) ----------------------------

# Settings read by name elsewhere: key -> (minimum, maximum, default).
NUMBER_SETTINGS: dict[str, tuple[float, float, float]] = {
    "call_result_timeout_minutes": (1, 7 * 24 * 60, 60),
    "place_failure_delay_minutes": (1, 7 * 24 * 60, 30),
    # The call lifecycle (call_lifecycle.py).
    "claim_lease_minutes": (1, 24 * 60, 5),
    "reconcile_grace_minutes": (1, 7 * 24 * 60, 10),
    "uncertain_max_hours": (1, 30 * 24, 24),
    "max_processing_failures": (1, 1000, 5),
    "max_refusals": (1, 1000, 5),
    "collect_budget_seconds": (1, 3600, 20),
}
_OUTCOME_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_VALUE_LENGTH = 2000  # scheduler_config.config_value is VARCHAR(2000)
_SIMPLE_PARSERS = {
    "working_hours_start": parse_hhmm,
    "working_hours_end": parse_hhmm,
    "working_days": parse_working_days,
    "timezone": parse_timezone,
}


def validate_setting(key: str, value: str) -> str | None:
    """Why `value` is not acceptable for `key`, or None when it is."""
    if not isinstance(key, str) or not isinstance(value, str):
        return "key and value must be text"
    if len(value.strip()) > MAX_VALUE_LENGTH:
        return f"{_short(key)} value is longer than {MAX_VALUE_LENGTH} characters"
    # --- dispositions (dispositions.py) ---
    if _dispositions.owns_key(key):
        return _dispositions.validate_setting(key, value)
    # --- end dispositions ---
    for suffix, parser in (
        ("_delay_hours", parse_delay_hours),
        ("_max_attempts", parse_max_attempts),
    ):
        if key.endswith(suffix):
            if not _OUTCOME_PREFIX.fullmatch(key[: -len(suffix)]):
                return f"{key!r}: the part before {suffix} must be an outcome name"
            if parser(value) is None:
                what = (
                    "hours > 0, up to a year"
                    if suffix == "_delay_hours"
                    else "a whole number 1-1000"
                )
                return f"{key} must be {what}, got {_short(value)!r}"
            return None
    if key in _SIMPLE_PARSERS:
        return (
            None if _SIMPLE_PARSERS[key](value) is not None else f"invalid {key}: {_short(value)!r}"
        )
    if re.fullmatch(r"working_hours_[1-7]", key):
        ok = parse_hours_range(value) is not None
        return None if ok else f"{key} must be HH:MM-HH:MM with start before end"
    if key == "holidays":
        _, bad = parse_holiday_dates(value)
        return f"holidays has invalid dates: {', '.join(bad)[:80]}" if bad else None
    if key in ("holidays_country", "holidays_subdivision"):
        return None if re.fullmatch(r"[A-Za-z0-9-]{0,10}", value) else f"invalid {key}"
    if key in NUMBER_SETTINGS:
        low, high, _ = NUMBER_SETTINGS[key]
        number = _parse_float(value)
        ok = number is not None and low <= number <= high
        return None if ok else f"{key} must be a number from {low:g} to {high:g}"
    return (
        f"unknown key {_short(key)!r}: known keys are <outcome>_delay_hours, "
        "<outcome>_max_attempts, working_hours_start, working_hours_end, working_hours_<1-7>, "
        "working_days, timezone, holidays, holidays_country, holidays_subdivision, "
        + ", ".join(NUMBER_SETTINGS)
    )


def effective_settings(config: SchedulerConfig) -> dict[str, str]:
    """The value really used for each setting, as text."""
    wt = config.working_time
    values = {
        "default_delay_hours": f"{config.retry_for('default').delay_hours:g}",
        "default_max_attempts": str(config.retry_for("default").max_attempts),
        "working_hours_start": wt.start.strftime("%H:%M"),
        "working_hours_end": wt.end.strftime("%H:%M"),
        "working_days": ",".join(str(d) for d in sorted(wt.days)),
        "timezone": wt.timezone.key,
        "holidays": ",".join(d.isoformat() for d in sorted(wt.holidays)),
        "holidays_country": ""
        if wt.holiday_calendar is None
        else str(config.raw.get("holidays_country")),
    }

    # Every <outcome>_* row, an invalid one included (shown with the fallback really used).
    def outcomes(suffix: str) -> list[str]:
        return sorted(
            key[: -len(suffix)]
            for key in config.raw
            if key.endswith(suffix) and len(key) > len(suffix)
        )

    for prefix in outcomes("_delay_hours"):
        values[f"{prefix}_delay_hours"] = f"{config.retry_for(prefix).delay_hours:g}"
    for prefix in outcomes("_max_attempts"):
        values[f"{prefix}_max_attempts"] = str(config.retry_for(prefix).max_attempts)
    for day, (start, end) in sorted(wt.day_hours.items()):
        values[f"working_hours_{day}"] = f"{start:%H:%M}-{end:%H:%M}"
    for key in NUMBER_SETTINGS:
        values[key] = f"{config.setting(key):g}"
    # --- dispositions (dispositions.py) ---
    values.update(_dispositions.effective_values(config.dispositions, config.raw))
    # --- end dispositions ---
    return values
