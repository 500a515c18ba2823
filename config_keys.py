"""Which scheduler_config keys exist: known keys, close-match suggestions, the original
system's legacy keys, and combinations that silently do nothing.

`known_keys()` reads scheduler_config's validators, so a key added there (by
`validate_setting` or one of its tables) appears here without a change; the operator
keys of operations.py are added to them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

import call_outcome
import operations
import scheduler_config
from working_time_config import working_time_report

# Outcome names used to spell out the `<outcome>_*` families: the classifier's outcomes,
# `default`, and the retry outcomes the reschedule command accepts.
RETRY_OUTCOME_NAMES = frozenset(
    {"busy", "no_answer", "hang_up", "voicemail", "failed", "unreachable", "error"}
)
_OUTCOMES = sorted(call_outcome.OUTCOMES | RETRY_OUTCOME_NAMES | {"default", "timeout"})
_FAMILY = re.compile(r"([a-z][a-z0-9_]*?)_(delay_hours|max_attempts|action)")
_UNKNOWN = "unknown key"
_PROBE_VALUES = ("1", "10:00", "10:00-14:00", "1,2,3", "Europe/Madrid", "true", "")

# Keys of the original system (jbenoliel/tuotempo) and what replaces them here.
LEGACY_KEYS: dict[str, str] = {
    "daemon_enabled": "honoured: false pauses dispatch; use `mantenimiento.py pause|resume`",
    "max_calls_per_cycle": "not used: the dispatcher's --limit sets calls per run",
    "max_attempts": "not used: set default_max_attempts (or <outcome>_max_attempts)",
    "reschedule_hours": "not used: set default_delay_hours (or <outcome>_delay_hours)",
    "working_time_slots": "not used here: set working_hours (several windows) if supported",
    "closure_reasons": "not used: closure reasons are fixed by the outcome rules",
    "check_interval_minutes": "not used: the cron line sets how often the dispatcher runs",
    "retry_delay_minutes": "not used: set default_delay_hours",
    "working_hours": "not used by this version unless scheduler_config lists it",
}


def _registry_names() -> set[str]:
    """Concrete key names scheduler_config declares in its tables and its error text."""
    names: set[str] = set()
    for attribute in dir(scheduler_config):
        value = getattr(scheduler_config, attribute)
        if attribute.isupper() and isinstance(value, Mapping):
            names |= {k for k in value if isinstance(k, str) and re.fullmatch(r"[a-z_0-9]+", k)}
    message = scheduler_config.validate_setting("\x00unknown", "") or ""
    if "known keys are" in message:
        for part in message.split("known keys are", 1)[1].split(","):
            part = part.strip().rstrip(".")
            if "<1-7>" in part:
                names |= {part.replace("<1-7>", str(day)) for day in range(1, 8)}
            elif part.startswith("<outcome>"):
                names |= {part.replace("<outcome>", outcome) for outcome in _OUTCOMES}
            elif re.fullmatch(r"[a-z_0-9]+", part):
                names.add(part)
    return names


def is_known_key(key: str) -> bool:
    """Whether scheduler_config or operations.py accepts this key (whatever its value)."""
    if key in operations.SETTINGS:
        return True
    family = _FAMILY.fullmatch(key)
    if family and family.group(1) not in _OUTCOMES:
        return False  # `defualt_delay_hours` is a typo, not a new outcome
    for value in _PROBE_VALUES:
        problem = scheduler_config.validate_setting(key, value)
        if problem is None or not problem.startswith(_UNKNOWN):
            return True
    return False


def known_keys() -> list[str]:
    """Every concrete key name that can be set, sorted (families spelled out for the
    known outcomes and weekdays)."""
    names = _registry_names() | set(operations.SETTINGS)
    return sorted(name for name in names if is_known_key(name))


def validate(key: str, value: str) -> str | None:
    """Why key=value cannot be written, or None when it can."""
    if key in operations.SETTINGS:
        return operations.SETTINGS[key](value)
    return scheduler_config.validate_setting(key, value)


def closest_key(key: str) -> str | None:
    """The known key that looks most like `key`, if any is close enough."""
    matches = difflib.get_close_matches(key, known_keys(), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_keys(raw: Mapping[str, object]) -> list[str]:
    """Keys in the configuration that nothing reads (legacy keys excluded)."""
    return sorted(k for k in raw if k not in LEGACY_KEYS and not is_known_key(k))


def legacy_keys(raw: Mapping[str, object]) -> dict[str, str]:
    """Legacy keys present in the configuration (and not read here by another meaning),
    each with what to do instead."""
    return {key: advice for key, advice in LEGACY_KEYS.items() if key in raw and not _reads(key)}


def _reads(key: str) -> bool:
    # A legacy name that scheduler_config itself now accepts is no longer legacy.
    return key != "daemon_enabled" and is_known_key(key)


def dead_combinations(raw: Mapping[str, str | None]) -> list[str]:
    """Settings that are valid on their own but have no effect with the others, and the
    working time the calling law cuts (working_time_config's report: one rule for both)."""
    warnings: list[str] = list(working_time_report(raw)["warnings"])
    try:
        default_max = int(float(str(raw.get("default_max_attempts") or "3")))
    except ValueError:
        default_max = 3
    if default_max == 1 and raw.get("default_delay_hours"):
        warnings.append(
            "default_delay_hours has no effect for outcomes without their own max_attempts: "
            "default_max_attempts=1 means no retry"
        )
    if operations.parse_bool(raw.get(operations.PAUSED_KEY)) is not True and raw.get(
        operations.PAUSED_REASON_KEY, ""
    ).startswith("paused by"):
        warnings.append("dispatch_paused_reason says paused but dispatch_paused is not true")
    return warnings
