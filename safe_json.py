"""Make anything received from Pearl safe to store: JSON text that never fails to encode.

Pure, no I/O. `safe_json` turns any Python object (a parsed webhook body, a call object, junk)
into valid JSON text within bounds, so one poison payload cannot fail the transaction that
records it (issue 10, invariant 7). `clean_text` is the string half of the job, shared with
the agent's call variables.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final

_SURROGATES: Final = re.compile("[\ud800-\udfff]")
_REPLACEMENT: Final = "\ufffd"
_TRUNCATED: Final = "…"
_MAX_INT_BITS: Final = 63  # bigger ints become text: JSON readers lose precision past 2**53 anyway
_KEEP_CONTROLS: Final = frozenset("\n\t")


def replace_surrogates(text: str) -> str:
    """`text` with every lone surrogate (which cannot be encoded as UTF-8) replaced by U+FFFD."""
    if text.isascii() or not _SURROGATES.search(text):
        return text
    return _SURROGATES.sub(_REPLACEMENT, text)


def clean_text(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars`, lone surrogates replaced, control characters other than
    newline and tab removed. Raises TypeError for non-str, ValueError for max_chars < 1."""
    if not isinstance(text, str):
        raise TypeError(f"clean_text expects str, got {type(text).__name__}")
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    # Cut before the per-character pass so a huge string costs O(max_chars), not O(len).
    text = replace_surrogates(text[: max_chars * 2])
    kept = "".join(ch for ch in text if ch in _KEEP_CONTROLS or unicodedata.category(ch) != "Cc")
    return kept[:max_chars]


class _Budget:
    """Characters still available for string content; once spent, containers stop growing."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.truncated = False

    def spend(self, n: int) -> bool:
        self.left -= n
        if self.left < 0:
            self.truncated = True
            return False
        return True


def _scalar(value: Any, max_str: int) -> Any:
    """A JSON scalar for a non-container value."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            return f"<int of {value.bit_length()} bits>"
        return int(value)  # an int subclass (IntEnum) becomes a plain int
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = replace_surrogates(value[:max_str])
        return text + _TRUNCATED if len(value) > max_str else text
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value[: max_str * 4])
        return _scalar(raw.decode("utf-8", errors="replace"), max_str)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _scalar(str(value) if value.is_finite() else None, max_str)
    # Never call an arbitrary object's repr: it may be huge, slow or raise.
    return f"<{type(value).__name__}>"


def _key(key: Any, max_str: int) -> str:
    converted = _scalar(key, max_str)
    if isinstance(converted, str):
        return converted
    return json.dumps(converted)


def _convert(value: Any, depth: int, max_depth: int, max_str: int, budget: _Budget) -> Any:
    kind = type(value)
    if kind is str:  # the common case first, without the isinstance chain
        if len(value) > max_str:
            value = replace_surrogates(value[:max_str]) + _TRUNCATED
        else:
            value = replace_surrogates(value)
        budget.left -= len(value) + 2
        if budget.left < 0:
            budget.truncated = True
        return value
    if kind is int or kind is bool or kind is float or value is None:
        budget.left -= 8
        if budget.left < 0:
            budget.truncated = True
        return _scalar(value, max_str)
    if kind is dict or isinstance(value, Mapping):
        if depth >= max_depth:
            budget.truncated = True
            return "<nested too deep>"
        out: dict[str, Any] = {}
        try:
            size = len(value)
            items = list(value.items()) if size <= budget.left else []
        except Exception:  # a broken Mapping implementation: keep the rest of the payload
            return f"<{type(value).__name__}>"
        if size > budget.left:
            budget.truncated = True
        for k, v in items:
            key = k if type(k) is str and len(k) <= max_str and k.isascii() else _key(k, max_str)
            if not budget.spend(len(key) + 4) or key in out:
                continue
            out[key] = _convert(v, depth + 1, max_depth, max_str, budget)
        return out
    if kind is list or isinstance(value, list | tuple | set | frozenset):
        if depth >= max_depth:
            budget.truncated = True
            return "<nested too deep>"
        result = []
        for item in value:
            if not budget.spend(2):
                break
            result.append(_convert(item, depth + 1, max_depth, max_str, budget))
        return result
    converted = _scalar(value, max_str)
    budget.spend(len(converted) + 2 if isinstance(converted, str) else 8)
    return converted


def safe_json(
    obj: Any, *, max_depth: int = 32, max_str: int = 10_000, max_total: int = 1_000_000
) -> str:
    """Valid JSON text (UTF-8 encodable, at most `max_total` characters) for any `obj`.

    Never raises for the content of `obj`: lone surrogates become U+FFFD, strings longer than
    `max_str` are cut (marked with "…"), containers nested deeper than `max_depth` become
    "<nested too deep>", NaN/infinity become null, ints past 63 bits and non-JSON types become a
    short "<type>" description (their repr is never called), dict keys become strings. When the
    result would still be longer than `max_total`, a JSON object
    ``{"truncated": true, "preview": "<start of the JSON text>"}`` is returned instead.
    Raises ValueError only for bounds below 1 (max_total below 64).
    """
    if max_depth < 1 or max_str < 1 or max_total < 64:
        raise ValueError("safe_json bounds must be positive (max_total at least 64)")
    budget = _Budget(max_total)
    try:
        converted = _convert(obj, 0, max_depth, max_str, budget)
        text = json.dumps(converted, ensure_ascii=False, allow_nan=False)
    except (RecursionError, ValueError, TypeError):  # defence in depth; bounds should prevent it
        converted, text = None, json.dumps({"unserialisable": True})
    if len(text) <= max_total:
        return text
    return _preview(text, max_total)


def _preview(text: str, max_total: int) -> str:
    """`{"truncated": true, "preview": ...}` within max_total characters."""
    keep = max_total - 40
    while True:
        out = json.dumps({"truncated": True, "preview": text[: max(keep, 0)]}, ensure_ascii=False)
        if len(out) <= max_total:
            return out
        keep -= max(len(out) - max_total, 1)
