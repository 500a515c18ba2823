"""The agent's variables: a lead's data as Pearl `callData`, sanitised and size-bounded.

Pure, no I/O. The voice agent's script reads variables (firstName, nombreClinica, poliza, ...)
from the `callData` of the call request. `build_call_data` fills them from the lead's columns
and its `call_data` JSON through a mapping (Pearl variable -> lead column or call_data key),
always adding our call reference `callRef` so a call can be matched back to its row.
The mapping comes from the `pearl_call_data` scheduler_config key (`parse_call_data_mapping`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final

from safe_json import clean_text

logger = logging.getLogger(__name__)

CALL_REF_KEY: Final = "callRef"
# Pearl's own examples name the person firstName/lastName; the first round of this system
# sent nombre/apellidos, and agent scripts written for it read those: send both.
DEFAULT_CALL_DATA_MAPPING: Final[Mapping[str, str]] = {
    "firstName": "nombre",
    "lastName": "apellidos",
    "nombre": "nombre",
    "apellidos": "apellidos",
}
MAX_VALUE_CHARS: Final = 1000
MAX_TOTAL_CHARS: Final = 16_000
MAX_KEY_CHARS: Final = 64
MAX_MAPPING_ENTRIES: Final = 100
MAX_MAPPING_JSON_CHARS: Final = 2000  # scheduler_config.config_value is VARCHAR(2000)

_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_SOURCE: Final = re.compile(r"[^\x00-\x1f]{1,64}")
# Lead columns never sent to the agent: internal bookkeeping, not the person's data.
_NOT_SENT: Final = frozenset({"call_data"})


def parse_call_data_mapping(text: str) -> dict[str, str]:
    """The mapping of a `pearl_call_data` value: a JSON object ``{"pearlVariable": "source"}``
    where source is a lead column or a key of the lead's call_data. Variable names are
    letters, digits and _ (not starting with a digit), up to 64 characters; at most 100
    entries; ``callRef`` is reserved. Raises ValueError with a one-line reason."""
    if not isinstance(text, str):
        raise ValueError("pearl_call_data must be text")
    if len(text) > MAX_MAPPING_JSON_CHARS:
        raise ValueError(f"pearl_call_data is longer than {MAX_MAPPING_JSON_CHARS} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"pearl_call_data is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError('pearl_call_data must be a JSON object {"pearlVariable": "lead_column"}')
    if len(data) > MAX_MAPPING_ENTRIES:
        raise ValueError(f"pearl_call_data has more than {MAX_MAPPING_ENTRIES} entries")
    for variable, source in data.items():
        if not _VARIABLE.fullmatch(variable):
            raise ValueError(
                f"pearl_call_data: {_shown(variable)} is not a variable name "
                "(letters, digits and _, up to 64 characters)"
            )
        if variable == CALL_REF_KEY:
            raise ValueError(f"pearl_call_data: {CALL_REF_KEY} is reserved for the call reference")
        if not isinstance(source, str) or not _SOURCE.fullmatch(source.strip() or "\x00"):
            raise ValueError(
                f"pearl_call_data[{_shown(variable)}] must be a lead column or call_data key"
            )
    return {variable: source.strip() for variable, source in data.items()}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def lead_call_data(lead: Mapping[str, Any]) -> dict[str, Any]:
    """The lead's `call_data` as a dict: a JSON object given as dict, str or bytes.
    Anything else (NULL, invalid JSON, a JSON array) is an empty dict."""
    raw = lead.get("call_data")
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", errors="replace")
    if isinstance(raw, str):
        if len(raw) > 1_000_000:
            return {}
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return {}
    return dict(raw) if isinstance(raw, Mapping) else {}


def _value_text(value: Any, max_chars: int) -> str | None:
    """A variable value as text, or None when there is nothing to send."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value) if value.bit_length() <= 64 else None
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else None
    elif isinstance(value, Decimal):
        text = str(value) if value.is_finite() else None
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:  # nested JSON, bytes, objects: not a script variable
        text = None
    if text is None:
        return None
    text = clean_text(text, max_chars).strip()
    return text or None


def build_call_data(
    lead: Mapping[str, Any],
    mapping: Mapping[str, str] | None,
    call_ref: int,
    *,
    max_value_chars: int = MAX_VALUE_CHARS,
    max_total_chars: int = MAX_TOTAL_CHARS,
) -> dict[str, str]:
    """Pearl `callData` for one call of `lead` (a row dict: columns plus `call_data`).

    ``callRef`` (str of `call_ref`) comes first, always. Then each ``variable: source`` of
    `mapping` (None: DEFAULT_CALL_DATA_MAPPING): the lead column `source` when the lead has it,
    else the key `source` of the lead's call_data. Then every key of the lead's call_data not
    already sent, under its own name. Values are strings: numbers, booleans and dates are
    converted, nested values, NULL and blanks are left out; lone surrogates are replaced and
    control characters other than newline/tab removed; each value is cut to `max_value_chars`
    and entries that would make the JSON of the whole dict longer than `max_total_chars` are
    left out (logged by name). Raises ValueError for a call_ref that is not a positive int,
    TypeError for a lead that is not a Mapping.
    """
    if not isinstance(lead, Mapping):
        raise TypeError(f"lead must be a Mapping, got {type(lead).__name__}")
    if isinstance(call_ref, bool) or not isinstance(call_ref, int) or call_ref < 1:
        raise ValueError(f"call_ref must be a positive int, got {_shown(call_ref)}")
    if mapping is None:
        mapping = DEFAULT_CALL_DATA_MAPPING
    extra = lead_call_data(lead)
    result: dict[str, str] = {CALL_REF_KEY: str(call_ref)}
    size = len(json.dumps(result))
    dropped: list[str] = []

    def add(name: str, value: Any) -> None:
        nonlocal size
        if name in result:
            return
        text = _value_text(value, max_value_chars)
        if text is None:
            return
        entry = len(json.dumps({name: text}, ensure_ascii=False)) - 1  # minus one brace
        if size + entry > max_total_chars:
            dropped.append(name)
            return
        result[name] = text
        size += entry

    for variable, source in mapping.items():
        if not isinstance(variable, str) or not _VARIABLE.fullmatch(variable):
            continue
        if source in lead and source not in _NOT_SENT:
            add(variable, lead[source])
        else:
            add(variable, extra.get(source))
    for key, value in extra.items():
        if not isinstance(key, str):
            continue
        name = clean_text(key, MAX_KEY_CHARS).strip()
        if name and "\n" not in name and "\t" not in name:
            add(name, value)
    if dropped:
        logger.warning(
            "callData over %s characters: left out %s variable(s): %s",
            max_total_chars, len(dropped), ", ".join(dropped[:10])[:300],
        )  # fmt: skip
    return result


def call_ref_of(pearl_response: Mapping[str, Any] | None) -> int | None:
    """Our call reference echoed back in a Pearl call object or webhook: ``callData.callRef``
    (also ``CallData.CallRef`` / any case), as a positive int; None when absent or not a
    reference we could have sent (junk never raises)."""
    if not isinstance(pearl_response, Mapping):
        return None
    data = _get_any_case(pearl_response, "callData")
    if not isinstance(data, Mapping):
        return None
    value = _get_any_case(data, CALL_REF_KEY)
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 18 else None
    if isinstance(value, int) and 1 <= value < 2**63:
        return value
    return None


def _get_any_case(mapping: Mapping[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None
