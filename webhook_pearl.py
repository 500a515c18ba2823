"""Pearl's call webhook: one delivered event in, at most one call result applied.

Pearl POSTs its call object (the same shape as Get Call: ``id``, ``status``,
``conversationStatus``, ``to``, ``collectedInfo``, ``callData``, ...) at the start and at the
end of every call, in camelCase (webhook version 2) or PascalCase (version 1) keys. This
module turns one such event into ``(lead_id, call object)`` and hands it to
``call_manager_scheduler_integration.process_call_result``, which records it, detects
duplicates and moves the lead on, all in one transaction under the lead's row lock. So a
webhook and the dispatcher's poll may deliver the same call in any order, any number of times:
it is counted once.

Pipeline (each step pure except the last two):

1. :func:`normalise_payload` - PascalCase keys to camelCase, lone surrogates replaced, depth
   and size bounded;
2. :func:`parse_call_event` - validation into a :class:`CallEvent` (raises
   :class:`WebhookPayloadError`, a ValueError, with a one-line reason);
3. :func:`is_final_call_event` - the ONE decision "is this a call result at all": call-started
   events and Pearl status 3 (or anything not in 4..8) are acknowledged and ignored;
4. :func:`find_lead_for_call` - our call reference ``callData.callRef`` (the pearl_calls row
   id), else the row holding the call id, else the request id; else (a call placed from
   Pearl's dashboard) ``callData`` ``lead_id``/``leadId``; else exactly one open lead with the
   called number;
5. :func:`handle_call_event` - all of the above plus ``process_call_result``. When callData
   names the lead (the dispatcher's calls do), ``process_call_result`` is called with it
   directly: its own matching (callRef row, call id, request id) and its refusal of a row of
   another lead decide the same as step 4, one transaction cheaper; step 4 runs only when
   that fails or callData names no lead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import db
import queries
from call_manager_scheduler_integration import LeadNotFoundError, process_call_result
from call_outcome import is_final_call
from outcome_tables import FINAL_STATUSES
from phone import InvalidPhoneError, mask_phone, normalize_phone

logger = logging.getLogger(__name__)

__all__ = [
    "FINAL_CALL_STATUSES",
    "CallEvent",
    "LeadMatch",
    "WebhookOutcome",
    "WebhookPayloadError",
    "find_lead_for_call",
    "handle_call_event",
    "is_final_call_event",
    "normalise_payload",
    "parse_call_event",
]

# Pearl call statuses that end a call: 4 Completed, 5 Busy, 6 Failed, 7 NoAnswer, 8 Canceled.
# 3 InProgress (the call-started event) and anything else is not a result.
FINAL_CALL_STATUSES = FINAL_STATUSES  # Pearl's table, kept in outcome_tables
MAX_DEPTH = 32  # a real call object nests 3 levels (transcript items); deeper is not Pearl
_ID_MAX = 64
_LAST_DIGITS = 9
_INT_RANGE = range(-(2**31), 2**31)


class WebhookPayloadError(ValueError):
    """The body is not a usable call event; the message is one line without personal data."""


@dataclass(frozen=True)
class CallEvent:
    """The facts of one webhook event the server decides on (``call`` is the whole object)."""

    call: dict[str, Any]
    call_id: str | None
    request_id: str | None
    status: int | None
    call_ref: int | None
    lead_id_hint: int | None
    to: str | None
    final: bool  # is_final_call_event(call), decided once


@dataclass(frozen=True)
class LeadMatch:
    """Whose call this is: the lead, the pearl_calls row when one matched, and how."""

    lead_id: int
    row_id: int | None
    matched_by: str  # 'callRef' | 'callId' | 'requestId' | 'callData' | 'phone'


@dataclass(frozen=True)
class WebhookOutcome:
    """What the server answers: 'processed', 'duplicate' or 'ignored' (with a reason)."""

    status: str
    reason: str | None = None
    lead_id: int | None = None
    outcome: str | None = None
    action: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON answer (no phone numbers, no tokens)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


# --- pure steps -------------------------------------------------------------------------------


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:] if key[:1].isupper() else key


def _clean_text(text: str) -> str:
    # A lone surrogate ("\ud800" in the JSON) cannot be stored as utf8mb4: replace it.
    if text.isascii():  # O(1) in CPython; ASCII text holds no surrogate
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def normalise_payload(value: Any, depth: int = 0) -> Any:
    """A copy of a decoded JSON value with every object key in camelCase (``CollectedInfo`` ->
    ``collectedInfo``; when both spellings are present the camelCase one wins), lone
    surrogates replaced, and at most MAX_DEPTH levels of nesting (WebhookPayloadError
    beyond)."""
    if depth > MAX_DEPTH:
        raise WebhookPayloadError(f"the JSON nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list):
        return [_normalise_item(item, depth + 1) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = _clean_text(key)
            camel = _camel(key)
            if camel in out and camel != key:
                continue  # the camelCase spelling was already given
            out[camel] = _normalise_item(item, depth + 1)
        return out
    return value


def _normalise_item(item: Any, depth: int) -> Any:
    """normalise_payload(item, depth), without its call for the scalars JSON decodes to
    (most of a call object's values) while `depth` is within MAX_DEPTH."""
    kind = type(item)
    if depth <= MAX_DEPTH:
        if kind is str:
            return _clean_text(item)
        if kind is int or kind is float or kind is bool or item is None:
            return item
    return normalise_payload(item, depth)


def _int(value: Any, name: str, *, positive: bool = False) -> int | None:
    """An integer field: int, integral float or digit string; None when absent or null."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise WebhookPayloadError(f"{name} must be an integer, not a boolean")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        value = int(value.strip())
    if not isinstance(value, int) or value not in _INT_RANGE:
        raise WebhookPayloadError(f"{name} must be an integer")
    if positive and value <= 0:
        raise WebhookPayloadError(f"{name} must be greater than zero")
    return value


def _id(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise WebhookPayloadError(f"{name} must be a string")
    value = value.strip()
    if len(value) > _ID_MAX:
        raise WebhookPayloadError(f"{name} is longer than {_ID_MAX} characters")
    return value or None


def parse_call_event(payload: Any) -> CallEvent:
    """Validate a normalised payload (see normalise_payload) into a CallEvent.

    Raises WebhookPayloadError when it is not a JSON object, when a field the server decides
    on has the wrong type (``id``, ``requestId``, ``to``: strings; ``status``: integer;
    ``callData``: object, its ``callRef``/``lead_id``/``leadId``: positive integers;
    ``collectedInfo``: a list of objects), or when a final event has no call id (without it a
    repeated delivery could not be recognised).
    """
    if not isinstance(payload, dict):
        raise WebhookPayloadError("the body must be a JSON object (Pearl's call object)")
    call_data = payload.get("callData")
    if call_data is None:
        call_data = {}
    if not isinstance(call_data, dict):
        raise WebhookPayloadError("callData must be an object")
    collected = payload.get("collectedInfo")
    if collected is not None and (
        not isinstance(collected, list) or not all(isinstance(i, dict) for i in collected)
    ):
        raise WebhookPayloadError("collectedInfo must be a list of objects")
    to = payload.get("to")
    if to is not None and not isinstance(to, str):
        raise WebhookPayloadError("to must be a string")
    lead_hint = _int(call_data.get("lead_id"), "callData.lead_id", positive=True)
    if lead_hint is None:
        lead_hint = _int(call_data.get("leadId"), "callData.leadId", positive=True)
    event = CallEvent(
        call=payload,
        call_id=_id(payload.get("id"), "id"),
        request_id=_id(payload.get("requestId"), "requestId"),
        status=_int(payload.get("status"), "status"),
        call_ref=_int(call_data.get("callRef"), "callData.callRef", positive=True),
        lead_id_hint=lead_hint,
        to=to,
        final=is_final_call_event(payload),
    )
    if event.final and event.call_id is None:
        raise WebhookPayloadError("a finished call event must carry the call id (id)")
    return event


def is_final_call_event(call: Mapping[str, Any]) -> bool:
    """Whether a (normalised) Pearl call object is a call result at all.

    True only for a finished call: ``status`` 4 Completed, 5 Busy, 6 Failed, 7 NoAnswer or
    8 Canceled. The call-started event (status 3 InProgress), a missing status and anything
    else are acknowledged and ignored: nothing is counted and the call id stays free for the
    real result. A finished status must also be a result for call_outcome.is_final_call (no
    call-started event label), the rule the polling path applies.
    """
    status = call.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        return False
    return status in FINAL_CALL_STATUSES and is_final_call(call, call)


def _last_digits(number: str) -> str | None:
    """The last 9 digits of a number normalised to E.164 (ES by default); None if invalid."""
    try:
        e164 = normalize_phone(number)
    except InvalidPhoneError:
        return None
    return e164[-_LAST_DIGITS:]


# --- database steps ---------------------------------------------------------------------------


def open_leads_with_number(cur, number: str) -> list[int] | None:
    """Ids of at most two open leads whose number ends in the same 9 digits as ``number``
    (normalised); None when ``number`` is not a valid phone number."""
    digits = _last_digits(number)
    if digits is None:
        return None
    rows = db.fetch_all(
        cur, queries.OPEN_LEADS_BY_LAST_DIGITS, {"width": _LAST_DIGITS, "digits": digits}
    )
    return [row["id"] for row in rows]


def find_lead_for_call(cur, event: CallEvent) -> tuple[LeadMatch | None, str | None]:
    """Whose call this is: ``(LeadMatch, None)``, or ``(None, reason)`` when nobody's.

    Order: the pearl_calls row of ``callData.callRef``, of the call id, of the request id
    (``row_id`` set; the first found wins and its lead is the call's lead); else the lead named
    by ``callData`` ``lead_id``/``leadId`` when it exists; else exactly one open lead whose
    number matches the called number ``to`` (E.164, last 9 digits). Reads only.
    """
    if event.call_ref or event.call_id or event.request_id:
        rows = db.fetch_all(
            cur,
            queries.WEBHOOK_LEAD_BY_CALL_ROW,
            {"row_id": event.call_ref, "call_id": event.call_id, "request_id": event.request_id},
        )
        for key in ("callRef", "callId", "requestId"):
            row = next((r for r in rows if r["matched_by"] == key), None)
            if row is not None:
                return LeadMatch(row["lead_id"], row["row_id"], key), None
    if event.lead_id_hint is not None:
        if db.fetch_one(cur, queries.WEBHOOK_LEAD_EXISTS, (event.lead_id_hint,)) is not None:
            return LeadMatch(event.lead_id_hint, None, "callData"), None
        return None, "unknown lead in callData"
    if not event.to:
        return None, "unknown call and no called number"
    leads = open_leads_with_number(cur, event.to)
    if leads is None:
        return None, "unknown call and the called number is not valid"
    if not leads:
        return None, "unknown call and no open lead has the called number"
    if len(leads) > 1:
        return None, "unknown call and several open leads have the called number"
    return LeadMatch(leads[0], None, "phone"), None


def handle_call_event(payload: Any) -> WebhookOutcome:
    """Apply one decoded webhook body. Raises WebhookPayloadError (answer 422, nothing
    written) and database errors (db.DatabaseError, pymysql errors: answer 503); everything
    else is an answer with status 200."""
    event = parse_call_event(normalise_payload(payload))
    if not event.final:
        return WebhookOutcome("ignored", "not a finished call (start event or status in progress)")
    if event.lead_id_hint is not None:
        # A call the dispatcher placed names its lead (and its row, callRef) in callData:
        # process_call_result itself finds the row by callRef, call id or request id and
        # refuses (ValueError) a row of another lead, so the lookup transaction below would
        # decide the same. When they disagree, or the lead is gone, the full matching decides.
        match = LeadMatch(
            event.lead_id_hint, event.call_ref, "callRef" if event.call_ref else "callData"
        )
        try:
            return _apply(event, match)
        except (LeadNotFoundError, ValueError):
            pass
    with db.transaction("match webhook call to its lead") as cur:
        match, reason = find_lead_for_call(cur, event)
    if match is None:
        logger.warning(
            "webhook for call %s ignored: %s (to %s)", event.call_id, reason, mask_phone(event.to)
        )
        return WebhookOutcome("ignored", reason)
    try:
        return _apply(event, match)
    except LeadNotFoundError:
        logger.warning("webhook for call %s ignored: its lead was deleted", event.call_id)
        return WebhookOutcome("ignored", "unknown lead", lead_id=match.lead_id)
    except ValueError as exc:  # the call is recorded on another lead than the one matched
        logger.warning("webhook for call %s ignored: %s", event.call_id, exc)
        return WebhookOutcome("ignored", "the call belongs to another lead")


def _apply(event: CallEvent, match: LeadMatch) -> WebhookOutcome:
    """process_call_result for a matched event (its errors pass through)."""
    call_result: dict[str, Any] = {"call_id": event.call_id}
    if event.request_id:
        call_result["request_id"] = event.request_id
    row_id = match.row_id if match.matched_by == "callRef" else None
    done = process_call_result(match.lead_id, call_result, event.call, row_id=row_id)
    status = "duplicate" if done.action == "duplicate" else "processed"
    return WebhookOutcome(status, None, done.lead_id, done.outcome, done.action)
