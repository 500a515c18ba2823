"""The `scheduler_config` table: parsing (pure) and a per-process cache.

Invalid values never raise: each is logged once per load, naming the key and
the value that is used instead. `parse_config` does the work without I/O;
`get_config` loads the rows through a cursor and caches the result for
SCHEDULER_CONFIG_CACHE_SECONDS (default 60, 0 = read every time).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import db
import dispositions as _dispositions  # outcome dispositions (see the marked blocks below)
import queries
from working_time import WorkingTime

# --- working time: parsed in working_time_config.py, re-exported here ----------------------
from working_time_config import (  # noqa: F401  (re-exported for callers and tests)
    WORKING_TIME_KEYS,
    build_working_time,
    dead_settings,
    effective_working_time_settings,
    is_working_time_key,
    parse_bool,
    parse_calling_law,
    parse_hhmm,
    parse_holiday_dates,
    parse_holidays_country,
    parse_hours_range,
    parse_time_slots,
    parse_timezone,
    parse_windows,
    parse_working_days,
    validate_working_time_setting,
    windows_from_slots,
    windows_from_text,
    working_time_report,
)

logger = logging.getLogger(__name__)

# The seed's last-resort values ("Valores hardcoded (4 horas, 3 intentos)").
DEFAULT_DELAY_HOURS = 4.0
DEFAULT_MAX_ATTEMPTS = 3
# Bounds past which a value is garbage rather than a choice.
MAX_DELAY_HOURS = 24 * 366
MAX_ATTEMPTS_LIMIT = 1000
DEFAULT_CACHE_SECONDS = 60.0


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
        working_time=build_working_time(raw, problems),
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
    if is_working_time_key(key):
        return validate_working_time_setting(key, value)
    if key in NUMBER_SETTINGS:
        low, high, _ = NUMBER_SETTINGS[key]
        number = _parse_float(value)
        ok = number is not None and low <= number <= high
        return None if ok else f"{key} must be a number from {low:g} to {high:g}"
    return (
        f"unknown key {_short(key)!r}: known keys are <outcome>_delay_hours, "
        "<outcome>_max_attempts, "
        + ", ".join(WORKING_TIME_KEYS)
        + ", "
        + ", ".join(NUMBER_SETTINGS)
    )


def effective_settings(config: SchedulerConfig) -> dict[str, str]:
    """The value really used for each setting, as text."""
    wt = config.working_time
    values = {
        "default_delay_hours": f"{config.retry_for('default').delay_hours:g}",
        "default_max_attempts": str(config.retry_for("default").max_attempts),
    }
    values.update(effective_working_time_settings(wt))

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
    for key in NUMBER_SETTINGS:
        values[key] = f"{config.setting(key):g}"
    # --- dispositions (dispositions.py) ---
    values.update(_dispositions.effective_values(config.dispositions, config.raw))
    # --- end dispositions ---
    return values
