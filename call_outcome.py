"""Classify a finished Pearl AI call and extract the appointment it booked.

Pure logic: no database, no I/O. Inputs come straight from webhooks, so every function here
tolerates junk (wrong types, None, nested structures, huge strings, any unicode) and only raises
``TypeError`` when the top-level arguments are not mappings.

Inputs:

* ``call_result``: the caller's own summary, a Mapping such as
  ``{"callResult": "no_answer", "status": "failed", "outcome": "no_answer"}``; it may also carry
  ``success``, ``error_message``, ``duration``, ``call_id`` (and ``fechaDeseada``/``horaDeseada``).
* ``pearl_response``: None or Pearl's call object (``status``, ``conversationStatus``,
  ``collectedInfo``, ...). ``summary`` and ``transcript`` are LLM free text and are never read.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Final

logger = logging.getLogger(__name__)


class Outcome:
    """The outcome names ``classify_call_result`` can return (plain ``str`` values)."""

    BUSY: Final = "busy"
    NO_ANSWER: Final = "no_answer"
    HANG_UP: Final = "hang_up"
    INVALID_PHONE: Final = "invalid_phone"
    BLACKLISTED: Final = "blacklisted"
    NOT_INTERESTED: Final = "not_interested"
    SUCCESS: Final = "success"
    ERROR: Final = "error"


OUTCOMES: Final[frozenset[str]] = frozenset(
    {
        Outcome.BUSY,
        Outcome.NO_ANSWER,
        Outcome.HANG_UP,
        Outcome.INVALID_PHONE,
        Outcome.BLACKLISTED,
        Outcome.NOT_INTERESTED,
        Outcome.SUCCESS,
        Outcome.ERROR,
    }
)

# Pearl call ``status`` values.
STATUS_IN_PROGRESS: Final = 3
STATUS_COMPLETED: Final = 4
STATUS_BUSY: Final = 5
STATUS_FAILED: Final = 6
STATUS_NO_ANSWER: Final = 7
STATUS_CANCELED: Final = 8

# Pearl ``conversationStatus`` values.
CONV_NEED_RETRY: Final = 10
CONV_IN_CALL_QUEUE: Final = 20
CONV_VOICEMAIL_LEFT: Final = 70
CONV_SUCCESS: Final = 100
CONV_NOT_SUCCESSFUL: Final = 110
CONV_COMPLETED: Final = 130
CONV_UNREACHABLE: Final = 150
CONV_BLACKLISTED: Final = 220
CONV_QUEUE_ABANDON: Final = 300
CONV_ERROR: Final = 500

_STATUS: Final = "status"
_CONV: Final = "conversationStatus"

# A code rule is ((Pearl field, code), outcome); within a table the first match wins.
_CodeRule = tuple[tuple[str, int], str]

# Rule 1: Pearl says the call could not happen.
PEARL_FAILURE_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_CONV, CONV_BLACKLISTED), Outcome.BLACKLISTED),
    ((_STATUS, STATUS_FAILED), Outcome.INVALID_PHONE),
    ((_CONV, CONV_UNREACHABLE), Outcome.INVALID_PHONE),
    ((_STATUS, STATUS_BUSY), Outcome.BUSY),
    ((_STATUS, STATUS_NO_ANSWER), Outcome.NO_ANSWER),
    ((_CONV, CONV_VOICEMAIL_LEFT), Outcome.NO_ANSWER),
    ((_CONV, CONV_QUEUE_ABANDON), Outcome.NO_ANSWER),
    ((_CONV, CONV_NEED_RETRY), Outcome.HANG_UP),
)
# Rule 2: the person talked and said no.
PEARL_DECLINED_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_CONV, CONV_NOT_SUCCESSFUL), Outcome.NOT_INTERESTED),
)
# Rule 3.
PEARL_SUCCESS_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_CONV, CONV_SUCCESS), Outcome.SUCCESS),
    ((_CONV, CONV_COMPLETED), Outcome.SUCCESS),
)
# Rule 4.
PEARL_ERROR_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_CONV, CONV_ERROR), Outcome.ERROR),
    ((_STATUS, STATUS_CANCELED), Outcome.ERROR),
)
# Rule 6: a completed call that nothing above contradicted.
PEARL_COMPLETED_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_STATUS, STATUS_COMPLETED), Outcome.SUCCESS),
)

# Rule 2: declined wording, matched on word boundaries in the caller's string values and in
# collectedInfo values. ('not_interested' normalises to 'not interested'.)
DECLINED_PHRASES: Final[tuple[str, ...]] = (
    "no interesado",
    "not interested",
    "no le interesa",
    "rechaza",
)

# Rule 5: exact (normalised) keywords in the caller's 'outcome', 'callResult', 'status' fields.
CALLER_KEYWORDS: Final[Mapping[str, str]] = {
    "busy": Outcome.BUSY,
    "no_answer": Outcome.NO_ANSWER,
    "timeout": Outcome.NO_ANSWER,
    "hang_up": Outcome.HANG_UP,
    "rejected": Outcome.HANG_UP,
    "invalid_phone": Outcome.INVALID_PHONE,
    "blacklisted": Outcome.BLACKLISTED,
    "not_interested": Outcome.NOT_INTERESTED,
    "success": Outcome.SUCCESS,
    "error": Outcome.ERROR,
    "completed": Outcome.SUCCESS,
    "successful": Outcome.SUCCESS,
}

# Rule 8: last-resort phrases, in checking order, matched on word boundaries.
TEXT_PHRASES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        Outcome.INVALID_PHONE,
        (
            "invalid number",
            "número no válido",
            "número incorrecto",
            "wrong number",
            "fuera de servicio",
            "number not in service",
        ),
    ),
    (Outcome.BUSY, ("busy", "ocupado", "línea ocupada")),
    (Outcome.NO_ANSWER, ("no answer", "no contesta", "sin respuesta", "buzón", "voicemail")),
    (Outcome.HANG_UP, ("colgó", "hang up", "disconnect", "disconnected")),
)

CONFIRMED_PHRASE: Final = "cita reservada"

MAX_FIELD_CHARS: Final = 10_000
"""Only this many leading characters of any one string field are examined."""

_PREVIEW_CHARS: Final = 40
_DASHES: Final = str.maketrans(dict.fromkeys("_-\u2010\u2011\u2012\u2013\u2014\u2015", " "))
_INT_RE: Final = re.compile(r"[0-9]{1,9}")


def normalize_text(s: str) -> str:
    """Return ``s`` casefolded, without accents (NFKD minus combining marks), with '_' and
    dashes turned into spaces and whitespace collapsed/stripped. Raises TypeError for non-str."""
    if not isinstance(s, str):
        raise TypeError(f"normalize_text expects str, got {type(s).__name__}")
    folded = s
    for _ in range(3):  # casefold and NFKD can feed each other ('𝓐' -> 'A' -> 'a'); converge
        previous = folded
        decomposed = unicodedata.normalize("NFKD", folded).casefold()
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if folded == previous:
            break
    return " ".join(folded.translate(_DASHES).split())


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """Regex matching any of ``phrases`` (normalised) as whole words in normalised text."""
    alternatives = sorted({normalize_text(p) for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)")


_DECLINED_RE: Final = _phrase_pattern(DECLINED_PHRASES)
_TEXT_RES: Final = tuple((outcome, _phrase_pattern(p)) for outcome, p in TEXT_PHRASES)
_CONFIRMED_RE: Final = _phrase_pattern([CONFIRMED_PHRASE])
_CALLER_KEYWORDS_NORM: Final = {normalize_text(k): v for k, v in CALLER_KEYWORDS.items()}


# --------------------------------------------------------------------------- input helpers


def _check_inputs(call_result: object, pearl_response: object) -> None:
    if not isinstance(call_result, Mapping):
        raise TypeError(f"call_result must be a Mapping, got {type(call_result).__name__}")
    if pearl_response is not None and not isinstance(pearl_response, Mapping):
        raise TypeError(
            f"pearl_response must be None or a Mapping, got {type(pearl_response).__name__}"
        )


def _as_int(value: object) -> int | None:
    """An int, or a string of ASCII digits (surrounding whitespace allowed); else None.
    Bools, floats and '100.0' are not codes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        candidate = value.strip()
        if _INT_RE.fullmatch(candidate):
            return int(candidate)
    return None


def _norm(value: object) -> str | None:
    """Normalised text of a string value (first MAX_FIELD_CHARS chars); None for non-strings."""
    if isinstance(value, str):
        return normalize_text(value[:MAX_FIELD_CHARS])
    return None


def _key(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def collected_info(pearl_response: Mapping[str, Any] | None) -> dict[str, Any]:
    """Pearl's ``collectedInfo`` as ``{id: value}``.

    Accepts a list of ``{id, name, value}`` items (indexed by ``id``, or by ``name`` when the id
    is missing/blank; the first item for a key wins) or an already-flat ``{id: value}`` mapping.
    Anything else (missing, junk items, non-string keys) is skipped. Raises TypeError when
    ``pearl_response`` is neither None nor a Mapping.
    """
    if pearl_response is not None and not isinstance(pearl_response, Mapping):
        raise TypeError(
            f"pearl_response must be None or a Mapping, got {type(pearl_response).__name__}"
        )
    if pearl_response is None:
        return {}
    raw = pearl_response.get("collectedInfo")
    result: dict[str, Any] = {}
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            key = _key(k)
            if key is not None:
                result.setdefault(key, v)
    elif isinstance(raw, list | tuple):
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            key = _key(item.get("id")) or _key(item.get("name"))
            if key is not None:
                result.setdefault(key, item.get("value"))
    return result


def _string_values(mapping: Mapping[Any, Any]) -> list[str]:
    """Normalised top-level string values of ``mapping`` (non-strings are skipped)."""
    return [t for t in map(_norm, mapping.values()) if t]


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True, slots=True)
class _Signals:
    """Everything the rules look at, extracted once from the inputs."""

    codes: Mapping[str, int | None]  # Pearl 'status' / 'conversationStatus'
    texts: tuple[str, ...]  # normalised caller string values + collectedInfo string values
    keyword_fields: tuple[str, ...]  # normalised outcome, callResult(s), status, in that order
    success_flag: bool


def _signals(call_result: Mapping[str, Any], pearl_response: Mapping[str, Any] | None) -> _Signals:
    pearl = pearl_response or {}
    info = collected_info(pearl_response)
    fields = (
        call_result.get("outcome"),
        call_result.get("callResult"),
        info.get("callResult"),
        call_result.get("status"),
    )
    success = call_result.get("success")
    return _Signals(
        codes={_STATUS: _as_int(pearl.get(_STATUS)), _CONV: _as_int(pearl.get(_CONV))},
        texts=tuple(_string_values(call_result) + _string_values(info)),
        keyword_fields=tuple(t for t in map(_norm, fields) if t),
        success_flag=success is True or _norm(success) == "true",
    )


def _match_codes(table: tuple[_CodeRule, ...]) -> Callable[[_Signals], str | None]:
    def rule(sig: _Signals) -> str | None:
        for (field, code), outcome in table:
            if sig.codes.get(field) == code:
                return outcome
        return None

    return rule


def _rule_declined_wording(sig: _Signals) -> str | None:
    if any(_DECLINED_RE.search(t) for t in sig.texts):
        return Outcome.NOT_INTERESTED
    return None


def _rule_caller_keywords(sig: _Signals) -> str | None:
    for field in sig.keyword_fields:
        if field in _CALLER_KEYWORDS_NORM:
            return _CALLER_KEYWORDS_NORM[field]
    return None


def _rule_success_flag(sig: _Signals) -> str | None:
    return Outcome.SUCCESS if sig.success_flag else None


def _rule_text_phrases(sig: _Signals) -> str | None:
    for outcome, pattern in _TEXT_RES:
        if any(pattern.search(t) for t in sig.texts):
            return outcome
    return None


# The precedence, first match wins; falling off the end means Outcome.ERROR.
_RULES: Final[tuple[tuple[str, Callable[[_Signals], str | None]], ...]] = (
    ("pearl_failure_code", _match_codes(PEARL_FAILURE_CODES)),
    ("pearl_declined_code", _match_codes(PEARL_DECLINED_CODES)),
    ("declined_wording", _rule_declined_wording),
    ("pearl_success_code", _match_codes(PEARL_SUCCESS_CODES)),
    ("pearl_error_code", _match_codes(PEARL_ERROR_CODES)),
    ("caller_keyword", _rule_caller_keywords),
    ("pearl_completed", _match_codes(PEARL_COMPLETED_CODES)),
    ("success_flag", _rule_success_flag),
    ("text_phrase", _rule_text_phrases),
)


def classify_call_result(
    call_result: Mapping[str, Any], pearl_response: Mapping[str, Any] | None = None
) -> str:
    """Classify a finished call as one of ``OUTCOMES`` (a plain str); never raises on junk
    content. Precedence: Pearl failure codes > declined (conv 110 / wording) > Pearl success
    codes > Pearl error codes > caller keywords > Pearl status Completed > ``success`` flag >
    caller text phrases > 'error'. Raises TypeError for non-Mapping arguments."""
    _check_inputs(call_result, pearl_response)
    sig = _signals(call_result, pearl_response)
    for name, rule in _RULES:
        outcome = rule(sig)
        if outcome is not None:
            logger.debug("call outcome %s (rule %s)", outcome, name)
            return outcome
    logger.debug("call outcome %s (no rule matched)", Outcome.ERROR)
    return Outcome.ERROR


# --------------------------------------------------------------------------- appointments


@dataclass(frozen=True, slots=True)
class Appointment:
    """Appointment data collected on a call. A field that could not be parsed is None and a
    short description of why is in ``problems``."""

    fecha: date | None
    hora: time | None
    confirmed: bool
    problems: tuple[str, ...] = ()


_DATE_RES: Final = (
    re.compile(r"(?P<d>[0-9]{1,2})-(?P<m>[0-9]{1,2})-(?P<y>[0-9]{4})"),
    re.compile(r"(?P<d>[0-9]{1,2})/(?P<m>[0-9]{1,2})/(?P<y>[0-9]{4})"),
    re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"),
)
_TIME_RE: Final = re.compile(r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?")


def _preview(value: object) -> str:
    """A short, safe rendering of a bad input value for a problem message."""
    if isinstance(value, str):
        shown = value if len(value) <= _PREVIEW_CHARS else value[:_PREVIEW_CHARS] + "…"
        return repr(shown)
    return f"<{type(value).__name__}>"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _first_present(key: str, *sources: Mapping[str, Any]) -> Any:
    for source in sources:
        value = source.get(key)
        if not _blank(value):
            return value
    return None


def _parse_fecha(value: object) -> tuple[date | None, str | None]:
    text = value.strip() if isinstance(value, str) else ""
    for pattern in _DATE_RES:
        if match := pattern.fullmatch(text):
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"])), None
            except ValueError:
                return None, f"fechaDeseada is not a real date: {_preview(value)}"
    return None, f"fechaDeseada is not DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD: {_preview(value)}"


def _parse_hora(value: object) -> tuple[time | None, str | None]:
    text = value.strip() if isinstance(value, str) else ""
    match = _TIME_RE.fullmatch(text)
    if not match:
        return None, f"horaDeseada is not HH:MM or HH:MM:SS: {_preview(value)}"
    try:
        return time(int(match["h"]), int(match["m"]), int(match["s"] or 0)), None
    except ValueError:
        return None, f"horaDeseada is not a valid 24 h time: {_preview(value)}"


def extract_appointment(
    call_result: Mapping[str, Any], pearl_response: Mapping[str, Any] | None
) -> Appointment | None:
    """The appointment collected on the call, or None when no ``fechaDeseada`` was collected.

    ``fechaDeseada``/``horaDeseada`` are read from collectedInfo first, then from
    ``call_result``; None or blank counts as absent. A missing ``horaDeseada`` gives ``hora=None``
    with no problem. ``confirmed`` is True when a callResult (caller's or collectedInfo's)
    contains 'cita reservada' (accent/case-insensitive). Raises TypeError for non-Mappings.
    """
    _check_inputs(call_result, pearl_response)
    info = collected_info(pearl_response)
    raw_fecha = _first_present("fechaDeseada", info, call_result)
    if raw_fecha is None:
        return None
    problems: list[str] = []
    fecha, problem = _parse_fecha(raw_fecha)
    if problem:
        problems.append(problem)
    hora: time | None = None
    raw_hora = _first_present("horaDeseada", info, call_result)
    if raw_hora is not None:
        hora, problem = _parse_hora(raw_hora)
        if problem:
            problems.append(problem)
    results = (_norm(call_result.get("callResult")), _norm(info.get("callResult")))
    confirmed = any(t and _CONFIRMED_RE.search(t) for t in results)
    return Appointment(fecha=fecha, hora=hora, confirmed=confirmed, problems=tuple(problems))
