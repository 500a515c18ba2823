"""The outcome table's data: outcome names, Pearl's codes and the phrases that map to them.

Pure data, no logic: `call_outcome.classify` applies these tables in the order its module
docstring gives. Pearl's codes are from its API reference (Get Call: `status` 3-8,
`conversationStatus` 10-500; the lead statuses add 1 New, 30 WrongCountryCode, 40 OnCall).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final


class Outcome:
    """The outcome names `classify` can return (plain ``str`` values)."""

    BUSY: Final = "busy"
    NO_ANSWER: Final = "no_answer"
    HANG_UP: Final = "hang_up"
    VOICEMAIL: Final = "voicemail"
    FAILED: Final = "failed"
    UNREACHABLE: Final = "unreachable"
    INVALID_PHONE: Final = "invalid_phone"
    BLACKLISTED: Final = "blacklisted"
    NOT_INTERESTED: Final = "not_interested"
    NOT_SUCCESSFUL: Final = "not_successful"
    APPOINTMENT: Final = "appointment"
    CALLBACK: Final = "callback"
    REVIEW: Final = "review"
    UNKNOWN: Final = "unknown"
    SUCCESS: Final = "success"
    ERROR: Final = "error"
    NOT_PLACED: Final = "not_placed"
    IN_PROGRESS: Final = "in_progress"  # not a result: the call is still going on


OUTCOMES: Final[frozenset[str]] = frozenset(
    value
    for name, value in vars(Outcome).items()
    if name.isupper() and value != Outcome.IN_PROGRESS
)
"""Every final outcome (each has a disposition); ``in_progress`` is not one of them."""

# Pearl call ``status`` values.
STATUS_IN_PROGRESS: Final = 3
STATUS_COMPLETED: Final = 4
STATUS_BUSY: Final = 5
STATUS_FAILED: Final = 6
STATUS_NO_ANSWER: Final = 7
STATUS_CANCELED: Final = 8
FINAL_STATUSES: Final = frozenset({4, 5, 6, 7, 8})

# Pearl ``conversationStatus`` values.
CONV_NEW: Final = 1
CONV_NEED_RETRY: Final = 10
CONV_IN_CALL_QUEUE: Final = 20
CONV_WRONG_COUNTRY_CODE: Final = 30
CONV_ON_CALL: Final = 40
CONV_VOICEMAIL_LEFT: Final = 70
CONV_SUCCESS: Final = 100
CONV_NOT_SUCCESSFUL: Final = 110
CONV_COMPLETED: Final = 130
CONV_UNREACHABLE: Final = 150
CONV_BLACKLISTED: Final = 220
CONV_QUEUE_ABANDON: Final = 300
CONV_ERROR: Final = 500
NOT_FINAL_CONVERSATION: Final = frozenset({CONV_NEW, CONV_IN_CALL_QUEUE, CONV_ON_CALL})

_STATUS: Final = "status"
_CONV: Final = "conversationStatus"

# A code rule is ((Pearl field, code), outcome); within a table the first match wins.
_CodeRule = tuple[tuple[str, int], str]

PEARL_BEFORE_CONVERSATION: Final[tuple[_CodeRule, ...]] = (
    ((_CONV, CONV_BLACKLISTED), Outcome.BLACKLISTED),
    ((_STATUS, STATUS_CANCELED), Outcome.NOT_PLACED),
)
PEARL_NO_CONTACT_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_STATUS, STATUS_FAILED), Outcome.FAILED),
    ((_CONV, CONV_UNREACHABLE), Outcome.UNREACHABLE),
    ((_CONV, CONV_WRONG_COUNTRY_CODE), Outcome.INVALID_PHONE),
    ((_CONV, CONV_VOICEMAIL_LEFT), Outcome.VOICEMAIL),
    ((_STATUS, STATUS_BUSY), Outcome.BUSY),
    ((_STATUS, STATUS_NO_ANSWER), Outcome.NO_ANSWER),
    ((_CONV, CONV_QUEUE_ABANDON), Outcome.NO_ANSWER),
    ((_CONV, CONV_NEED_RETRY), Outcome.HANG_UP),
)
PEARL_CONVERSATION_CODES: Final[tuple[_CodeRule, ...]] = (
    ((_CONV, CONV_SUCCESS), Outcome.SUCCESS),
    ((_CONV, CONV_COMPLETED), Outcome.SUCCESS),
    ((_CONV, CONV_NOT_SUCCESSFUL), Outcome.NOT_SUCCESSFUL),
    ((_CONV, CONV_ERROR), Outcome.ERROR),
)
PEARL_COMPLETED_UNKNOWN: Final[tuple[_CodeRule, ...]] = (
    ((_STATUS, STATUS_COMPLETED), Outcome.UNKNOWN),
)

DECLINED_PHRASES: Final[tuple[str, ...]] = (
    "no interesado",
    "not interested",
    "no le interesa",
    "rechaza",
)

CALLER_KEYWORDS: Final[Mapping[str, str]] = {
    "busy": Outcome.BUSY,
    "no_answer": Outcome.NO_ANSWER,
    "timeout": Outcome.NO_ANSWER,
    "hang_up": Outcome.HANG_UP,
    "rejected": Outcome.HANG_UP,
    "voicemail": Outcome.VOICEMAIL,
    "buzon": Outcome.VOICEMAIL,
    "unreachable": Outcome.UNREACHABLE,
    "invalid_phone": Outcome.INVALID_PHONE,
    "blacklisted": Outcome.BLACKLISTED,
    "not_interested": Outcome.NOT_INTERESTED,
    "not_successful": Outcome.NOT_SUCCESSFUL,
    "success": Outcome.SUCCESS,
    "error": Outcome.ERROR,
    "completed": Outcome.SUCCESS,
    "successful": Outcome.SUCCESS,
}

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
    (Outcome.VOICEMAIL, ("buzón", "voicemail", "contestador")),
    (Outcome.NO_ANSWER, ("no answer", "no contesta", "sin respuesta")),
    (Outcome.HANG_UP, ("colgó", "hang up", "disconnect", "disconnected")),
)

CONFIRMED_PHRASE: Final = "cita reservada"
START_EVENT_WORDS: Final = ("start", "begin", "initiated")
_EVENT_KEYS: Final = ("event", "eventType", "eventName", "type", "Event", "EventType")

MAX_FIELD_CHARS: Final = 10_000
"""Only this many leading characters of any one string field are examined."""

# Status labels the classification itself knows better than the outcome's defaults.
LABEL_APPOINTMENT: Final = "Cita Agendada"
LABEL_WITH_PACK: Final = "Con Pack"
LABEL_WITHOUT_PACK: Final = "Sin Pack"
LABEL_MANUAL_APPOINTMENT: Final = "Cita Manual"
LABEL_NO_DATE: Final = "Fecha no legible"
LABEL_CONTRADICTION: Final = "Cita y rechazo a la vez"
LABEL_FAILED_TWICE: Final = "Falló varias veces"
