"""What the Pearl client sends: ids in URL paths, ``callData``, search dates, and reading
``Retry-After``. Pure functions; every check raises ``ValueError`` before anything is sent.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from phone import normalize_phone

__all__ = [
    "api_datetime",
    "parse_retry_after",
    "path_param",
    "valid_e164",
    "validated_call_data",
]

_MAX_PATH_PARAM_LENGTH = 128
_MAX_CALL_DATA_ITEMS = 100
_MAX_CALL_DATA_KEY_LENGTH = 100
_MAX_CALL_DATA_VALUE_LENGTH = 4000


def valid_e164(to: str, region: str) -> str | None:
    """``to`` normalised to E.164 with ``region`` as default, or None if it is not valid."""
    try:
        return normalize_phone(to, region)
    except ValueError:
        return None


def path_param(name: str, value: object) -> str:
    """Validate an id used in a URL path and return it percent-encoded."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    if not value or value != value.strip():
        raise ValueError(f"{name} must be non-empty, without surrounding whitespace")
    if len(value) > _MAX_PATH_PARAM_LENGTH:
        raise ValueError(f"{name} is too long ({len(value)} > {_MAX_PATH_PARAM_LENGTH})")
    if value in (".", "..") or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{name} contains characters not allowed in an id")
    return quote(value, safe="")


def validated_call_data(call_data: Mapping[str, Any]) -> dict[str, str | int | float]:
    """Copy ``call_data`` unchanged after checking keys are names and values strings or
    finite numbers (Pearl's script variables); raise ValueError otherwise."""
    if not isinstance(call_data, Mapping):
        raise ValueError(f"call_data must be a mapping, not {type(call_data).__name__}")
    if len(call_data) > _MAX_CALL_DATA_ITEMS:
        raise ValueError(f"call_data has too many entries ({len(call_data)})")
    result: dict[str, str | int | float] = {}
    for key, value in call_data.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError("call_data keys must be non-empty strings")
        if len(key) > _MAX_CALL_DATA_KEY_LENGTH:
            raise ValueError(f"call_data key {key[:20]!r}... is too long")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(
                f"call_data[{key!r}] must be a string or a number, not {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"call_data[{key!r}] must be a finite number")
        if isinstance(value, str) and len(value) > _MAX_CALL_DATA_VALUE_LENGTH:
            raise ValueError(f"call_data[{key!r}] is too long ({len(value)} characters)")
        result[key] = value
    return result


def api_datetime(name: str, value: datetime | str) -> str:
    """A search bound as Pearl's date-time: UTC ISO 8601 with ``Z`` (``2023-11-07T05:31:56Z``).

    ``value`` is an aware datetime (converted to UTC) or an ISO 8601 string with an offset;
    a naive datetime is refused rather than guessed.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} is not an ISO 8601 date-time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime or an ISO 8601 string")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    utc = value.astimezone(UTC)
    text = utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
