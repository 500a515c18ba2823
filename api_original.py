"""The original system's result API, kept for its callers: ``POST /api/actualizar_resultado``.

The original's agents reported what the person said as flat JSON fields keyed by phone number
(``telefono`` plus ``buzon``, ``volverALlamar``, ``horaRellamada``, ``codigoNoInteres``,
``noInteresado``, ``nuevaCita``, ``fechaDeseada``, ``horaDeseada``, ``preferenciaMT``,
``preferenciaFecha``, ``conPack``, ``callResult``). Here they become a Pearl-shaped finished
call, ``{"status": 4, "conversationStatus": 100, "collectedInfo": [{"id": k, "value": v}]}``,
applied through ``enhanced_process_call_result``: the same classification and disposition
rules as a webhook's collectedInfo.

The lead is the one OPEN lead whose number has the same last 9 digits as ``telefono``
normalised; none -> 404; several -> 409 and nothing written (a person's result must not land
on somebody else). An optional ``callId`` makes a repeated report count once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import db
from call_manager_scheduler_integration import LeadNotFoundError, enhanced_process_call_result
from phone import mask_phone
from webhook_pearl import normalise_payload, open_leads_with_number

logger = logging.getLogger(__name__)

__all__ = ["ORIGINAL_FIELDS", "ApiAnswer", "actualizar_resultado", "call_from_original_fields"]

# The original's fields, in the order they are passed on as collectedInfo.
ORIGINAL_FIELDS = (
    "buzon",
    "volverALlamar",
    "horaRellamada",
    "codigoNoInteres",
    "noInteresado",
    "nuevaCita",
    "fechaDeseada",
    "horaDeseada",
    "preferenciaMT",
    "preferenciaFecha",
    "conPack",
    "callResult",
)
_VALUE_MAX = 500
_CALL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class ApiAnswer:
    """An HTTP status code and its JSON body."""

    status_code: int
    body: dict[str, Any]


def _value(value: Any) -> Any:
    """A field value as collectedInfo carries it: scalars as they are, text cut to size;
    lists (the original accepted ``codigoNoInteres`` as a list) give their first element."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value[:_VALUE_MAX]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)[:_VALUE_MAX]


def call_from_original_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The Pearl-shaped finished call for one request body (pure). Fields that are absent,
    null or empty text are left out, as the original did not overwrite with nulls."""
    collected = []
    for key in ORIGINAL_FIELDS:
        value = _value(data.get(key))
        if value is None or value == "":
            continue
        collected.append({"id": key, "value": value})
    call: dict[str, Any] = {"status": 4, "conversationStatus": 100, "collectedInfo": collected}
    call_id = data.get("callId")
    if isinstance(call_id, str) and _CALL_ID.fullmatch(call_id):
        call["id"] = call_id
    return call


def actualizar_resultado(data: Any) -> ApiAnswer:
    """Apply one decoded request body. Database errors are raised (the server answers 503)."""
    if not isinstance(data, dict):
        return ApiAnswer(400, {"error": "the body must be a JSON object"})
    data = normalise_payload(data)
    telefono = data.get("telefono")
    if isinstance(telefono, int) and not isinstance(telefono, bool):
        telefono = str(telefono)
    if not isinstance(telefono, str) or not telefono.strip():
        return ApiAnswer(400, {"error": "telefono is required"})
    with db.transaction("find lead by phone") as cur:
        leads = open_leads_with_number(cur, telefono)
    if leads is None:
        return ApiAnswer(400, {"error": "telefono is not a valid phone number"})
    if not leads:
        logger.warning("actualizar_resultado: no open lead has %s", mask_phone(telefono))
        return ApiAnswer(404, {"error": "no open lead has that phone number"})
    if len(leads) > 1:
        logger.warning(
            "actualizar_resultado: several open leads have %s; nothing written",
            mask_phone(telefono),
        )
        return ApiAnswer(409, {"error": "several open leads have that phone number"})
    call = call_from_original_fields(data)
    try:
        done = enhanced_process_call_result(leads[0], {"call_id": call.get("id")}, call)
    except LeadNotFoundError:
        return ApiAnswer(404, {"error": "no open lead has that phone number"})
    return ApiAnswer(
        200,
        {
            "success": True,
            "message": "lead updated" if done.action != "duplicate" else "already recorded",
            "lead_id": done.lead_id,
            "outcome": done.outcome,
            "action": done.action,
        },
    )
