"""What the fake Pearl server knows and answers: scripts, faults, stored call requests, and the
JSON views of them (call request, call, short call, webhook payloads in both key styles).

Shapes follow Pearl's API reference (developers.nlpearl.ai) and real calls of the original
system (jbenoliel/tuotempo): ``from`` is the campaign's caller id and need not be E.164
(``"339900"``), ``collectedInfo`` is a list of ``{"id", "name", "value"}`` under the variable
names the campaign's Pearl was configured with, and ``callData`` echoes what was POSTed.

(PYTEST_DONT_REWRITE: imported by test modules before pytest loads the plugin.)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

__all__ = [
    "CALL_CANCELED",
    "CALL_COMPLETED",
    "CALL_IN_PROGRESS",
    "REQUEST_BLACKLISTED",
    "REQUEST_COMPLETED",
    "REQUEST_ERROR",
    "CallPost",
    "CallScript",
    "Fault",
    "RecordedRequest",
    "Scripts",
    "collected_info",
    "iso",
    "parse_iso",
    "pascal_case",
]

# CallRequest.status
REQUEST_IN_CALL_QUEUE, REQUEST_ON_CALL, REQUEST_COMPLETED = 1, 2, 10
REQUEST_BLACKLISTED, REQUEST_ERROR = 20, 100
# Call.status
CALL_IN_PROGRESS, CALL_COMPLETED, CALL_BUSY, CALL_FAILED, CALL_NO_ANSWER, CALL_CANCELED = (
    3, 4, 5, 6, 7, 8
)  # fmt: skip

# Labels the original campaigns gave their variables (the "name" of a collectedInfo item).
VARIABLE_NAMES = {
    "noInteresado": "No interesado",
    "codigoNoInteres": "Código de no interés",
    "volverALlamar": "Volver a llamar",
    "horaRellamada": "Hora de rellamada",
    "buzon": "Buzón de voz",
    "nuevaCita": "Nueva cita",
    "fechaDeseada": "Fecha deseada",
    "horaDeseada": "Hora deseada",
    "preferenciaMT": "Preferencia mañana/tarde",
    "preferenciaFecha": "Preferencia de fecha",
    "conPack": "Con pack",
}


def collected_info(**values: Any) -> list[dict[str, Any]]:
    """``collectedInfo`` items for the given variables, in order, as Pearl sends them.

    ``collected_info(fechaDeseada="25-09-2025", horaDeseada="17:00:00")`` ->
    ``[{"id": "fechaDeseada", "name": "Fecha deseada", "value": "25-09-2025"}, ...]``.
    """
    return [{"id": k, "name": VARIABLE_NAMES.get(k, k), "value": v} for k, v in values.items()]


@dataclass
class CallScript:
    """What happens to a call placed to one number.

    ``status``/``conversation_status``/``duration``/``summary``/``collected_info``/``tags``
    /``transcript`` describe the final call object (``transcript`` None: a short default one
    when ``status`` is 4 Completed, else empty); ``name`` is the call's ``name``; ``extra`` is
    merged into it last. ``request_status`` is the final CallRequest status: 10 Completed
    places a call, 20 BlackListed or 100 Error end the request without one
    (``request_errors`` then fill ``errors``). ``in_progress_conversation_status`` is what
    Call.conversationStatus says while the call runs (undocumented by Pearl; decide on
    ``status``, not on this). Polls: see :class:`tests.fake_pearl.FakePearl`.
    """

    status: int = CALL_COMPLETED
    conversation_status: int = 100
    duration: int = 60
    summary: str | None = "The lead answered and the conversation was completed."
    collected_info: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] | None = None
    name: str | None = None
    queued_polls: int = 0
    in_progress_polls: int = 1
    request_status: int = REQUEST_COMPLETED
    request_errors: list[str] = field(default_factory=list)
    in_progress_conversation_status: int = 20
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def places_call(self) -> bool:
        return self.request_status not in (REQUEST_BLACKLISTED, REQUEST_ERROR)


class Scripts:
    """Ready-made :class:`CallScript` s shaped like real calls of the original campaigns.

    Keyword arguments are passed on to :class:`CallScript` (e.g. ``queued_polls=1``).
    """

    @staticmethod
    def appointment(
        fecha: str = "25-09-2025", hora: str | None = "17:00:00", pack: bool | None = True,
        **kw: Any,
    ) -> CallScript:  # fmt: skip
        """Completed, success: ``fechaDeseada`` (DD-MM-YYYY) [+ ``horaDeseada``, ``conPack``]."""
        values: dict[str, Any] = {"fechaDeseada": fecha}
        if hora is not None:
            values["horaDeseada"] = hora
        if pack is not None:
            values["conPack"] = pack
        return CallScript(
            conversation_status=100, collected_info=collected_info(**values),
            summary="El cliente acepta la cita.", **kw,
        )  # fmt: skip

    @staticmethod
    def new_appointment(value: str = "2025-10-14 09:50-10:10", **kw: Any) -> CallScript:
        """Completed, success: ``nuevaCita`` as a date with a time range."""
        return CallScript(
            conversation_status=100, collected_info=collected_info(nuevaCita=value),
            summary="Cita reprogramada.", **kw,
        )  # fmt: skip

    @staticmethod
    def not_interested(codigo: str | None = "NO_NECESITA", **kw: Any) -> CallScript:
        """Completed: ``noInteresado`` true [+ ``codigoNoInteres``]; Pearl says 110."""
        values: dict[str, Any] = {"noInteresado": True}
        if codigo is not None:
            values["codigoNoInteres"] = codigo
        return CallScript(
            conversation_status=110, collected_info=collected_info(**values),
            summary="No está interesado.", **kw,
        )  # fmt: skip

    @staticmethod
    def callback(hora: str = "17:30", fecha: str | None = None, **kw: Any) -> CallScript:
        """Completed: ``volverALlamar`` true with ``horaRellamada`` [+ ``preferenciaFecha``]."""
        values: dict[str, Any] = {"volverALlamar": True, "horaRellamada": hora}
        if fecha is not None:
            values["preferenciaFecha"] = fecha
        return CallScript(
            conversation_status=130, collected_info=collected_info(**values),
            summary="Pide que le llamen más tarde.", **kw,
        )  # fmt: skip

    @staticmethod
    def preference(mt: str = "afternoon", **kw: Any) -> CallScript:
        """Completed, no decision, with ``preferenciaMT`` (morning/afternoon)."""
        return CallScript(
            conversation_status=130, collected_info=collected_info(preferenciaMT=mt), **kw
        )

    @staticmethod
    def voicemail(**kw: Any) -> CallScript:
        """Completed into a voicemail: conversationStatus 70 and ``buzon`` true."""
        return CallScript(
            conversation_status=70, duration=25, collected_info=collected_info(buzon=True),
            summary="Saltó el buzón de voz.", **kw,
        )  # fmt: skip

    @staticmethod
    def outcome(status: int, conversation_status: int = 10, **kw: Any) -> CallScript:
        """A call that did not talk to anyone: busy (5), failed (6), no answer (7), canceled (8)."""
        kw.setdefault("duration", 0)
        kw.setdefault("summary", None)
        return CallScript(status=status, conversation_status=conversation_status, **kw)

    @staticmethod
    def canceled(**kw: Any) -> CallScript:
        """Status 8 Canceled: the call never reached the person."""
        return Scripts.outcome(CALL_CANCELED, **kw)

    @staticmethod
    def unreachable(**kw: Any) -> CallScript:
        """Status 7 with conversationStatus 150 Unreachable."""
        return Scripts.outcome(CALL_NO_ANSWER, 150, **kw)


@dataclass
class Fault:
    """One faulty answer.

    ``process``: first handle the request normally (e.g. really place the call), then apply
    the fault. ``status``/``body``/``headers``: replace the answer (``status`` None keeps the
    normal one; ``body`` None gives a ProblemDetails JSON body for 4xx/5xx; a dict is sent as
    JSON, str/bytes as is). ``delay``: seconds to sleep before answering (after processing).
    ``disconnect``: close the connection instead of answering.
    """

    status: int | None = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    disconnect: bool = False
    process: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fake server received it (``received_at`` monotonic seconds,
    ``received_utc`` the fake's clock)."""

    method: str
    path: str
    endpoint: str | None
    headers: dict[str, str]
    body: bytes
    received_at: float
    received_utc: datetime | None = None

    @property
    def json(self) -> Any:
        """The body decoded as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class CallPost:
    """One call-placing POST as received, faulted or not: ``to``, ``call_data`` (None when
    the body was not a JSON object), ``received_utc``, and the ``request_id`` the fake
    created for it (None when the POST was refused or faulted without processing)."""

    to: str | None
    call_data: dict[str, Any] | None
    received_utc: datetime
    request_id: str | None


@dataclass
class StoredRequest:
    """A call request the fake accepted, and its call once it exists."""

    id: str
    outbound_id: str
    to: str
    call_data: dict[str, Any]
    script: CallScript
    created: datetime
    queued_left: int
    progress_left: int
    phase: str = "queued"  # queued -> in_progress -> done
    call_id: str | None = None
    started: datetime | None = None

    def request_status(self) -> int:
        if self.phase == "queued":
            return REQUEST_IN_CALL_QUEUE
        if self.phase == "in_progress":
            return REQUEST_ON_CALL
        return self.script.request_status

    def request_view(self, *, listing: bool = False) -> dict[str, Any]:
        """``GET /v1/Outbound/CallRequest/{id}``; a listing item adds ``to`` and ``callData``."""
        status = self.request_status()
        view: dict[str, Any] = {
            "id": self.id,
            "status": status,
            "outboundId": self.outbound_id,
            "created": iso(self.created),
            "errors": list(self.script.request_errors) if status in (20, 100) else None,
            "callId": self.call_id,
        }
        if listing:
            view["to"] = self.to
            view["callData"] = dict(self.call_data)
        return view

    def call_view(self, caller_id: str) -> dict[str, Any]:
        """``GET /v1/Call/{id}``: status 3 while running, the scripted call once done."""
        script = self.script
        view: dict[str, Any] = {
            "id": self.call_id,
            "relatedId": self.outbound_id,
            "startTime": iso(self.started) if self.started else None,
            "from": caller_id,
            "to": self.to,
            "name": script.name,
            "callData": dict(self.call_data),
            "isCallTransferred": False,
            "overallSentiment": None,
        }
        if self.phase != "done":
            view.update(
                status=CALL_IN_PROGRESS, conversationStatus=script.in_progress_conversation_status,
                duration=0, recording=None, transcript=[], summary=None, collectedInfo=[],
                tags=[],
            )  # fmt: skip
            return view
        transcript = script.transcript
        if transcript is None:
            transcript = _default_transcript() if script.status == CALL_COMPLETED else []
        view.update(
            status=script.status,
            conversationStatus=script.conversation_status,
            duration=script.duration,
            recording=f"https://recordings.invalid/{self.call_id}.mp3" if script.duration else None,
            transcript=transcript,
            summary=script.summary,
            collectedInfo=[dict(item) for item in script.collected_info],
            tags=list(script.tags),
        )
        view.update(script.extra)
        return view

    def short_call_view(self, caller_id: str) -> dict[str, Any]:
        """An item of Search Calls, as Pearl documents it (no callData, no collectedInfo)."""
        full = self.call_view(caller_id)
        keys = ("id", "startTime", "conversationStatus", "status", "from", "to", "duration")
        return {**{k: full[k] for k in keys}, "tags": full["tags"]}


def pascal_case(payload: Any) -> Any:
    """The V1 (PascalCase) webhook variant of a camelCase payload: every key capitalised,
    recursively, except the caller's own ``callData`` variables."""
    if isinstance(payload, list):
        return [pascal_case(item) for item in payload]
    if not isinstance(payload, dict):
        return payload
    result = {}
    for key, value in payload.items():
        new_key = key[:1].upper() + key[1:]
        result[new_key] = value if key == "callData" else pascal_case(value)
    return result


def iso(value: datetime) -> str:
    """Pearl's date-time form: UTC ISO 8601 with milliseconds and ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: object) -> datetime | None:
    """A date-time sent by a client (``...Z`` or with an offset; naive counts as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def new_id() -> str:
    return os.urandom(12).hex()  # 24 hex digits, like Pearl's ids


def problem(
    status: int, *, detail: str | None = None, errors: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """An ASP.NET-style ProblemDetails body, as Pearl's API returns on errors."""
    titles = {
        400: "One or more validation errors occurred.", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found", 405: "Method Not Allowed", 422: "Unprocessable Entity",
        429: "Too Many Requests", 500: "An error occurred while processing your request.",
        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    }  # fmt: skip
    body: dict[str, Any] = {
        "type": "https://tools.ietf.org/html/rfc9110",
        "title": titles.get(status, "Error"),
        "status": status,
        "traceId": "00-" + os.urandom(16).hex() + "-" + os.urandom(8).hex() + "-00",
    }
    if detail is not None:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = dict(errors)
    return body


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload),
        status=status,
        content_type="application/json; charset=utf-8",
        headers=dict(headers or {}),
    )


def fault_response(fault: Fault) -> Response:
    assert fault.status is not None
    body = fault.body
    if body is None:
        body = problem(fault.status) if fault.status >= 400 else {}
    if isinstance(body, dict | list):
        return json_response(fault.status, body, fault.headers)
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "text/plain; charset=utf-8", **fault.headers}
    return Response(data, status=fault.status, headers=headers)


def drop_connection(request: Request) -> None:
    """Shut the client's socket so it gets no answer at all (werkzeug dev server only)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _default_transcript() -> list[dict[str, Any]]:
    return [
        {"role": 2, "content": "Hola, le llamo de parte de la clínica.", "startTime": 0.0,
         "endTime": 2.5},
        {"role": 1, "content": "Sí, dígame.", "startTime": 2.8, "endTime": 3.6},
    ]  # fmt: skip
