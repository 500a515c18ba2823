"""A fake Pearl AI (NLPearl) API: a real local HTTP server with state, for tests.

It speaks the three v1 endpoints the project uses, checks the bearer token, and keeps call
requests and calls in memory::

    POST /v1/Outbound/{outboundId}/Call      -> {"id", "from", "to", "queuePosition"}
    GET  /v1/Outbound/CallRequest/{id}       -> {"id", "status", "outboundId", "created",
                                                 "errors", "callId"}
    GET  /v1/Call/{callId}                   -> the full call object

Life of a placed call (every GET of its call request or call counts as one poll):

1. ``queued_polls`` polls answer CallRequest status 1 (InCallQueue), ``callId`` null;
2. then the call starts: ``in_progress_polls`` polls answer CallRequest status 2 (OnCall)
   with a ``callId``, and Call status 3 (InProgress);
3. then the call is over: CallRequest status 10 (Completed) and the scripted final call.

A script whose ``request_status`` is 20 (BlackListed) or 100 (Error) never creates a call:
after the queued polls the call request answers that status with ``errors`` and no callId.

Usage in a test (fixtures ``fake_pearl`` and the session-wide ``fake_pearl_server`` below)::

    def test_something(fake_pearl):
        fake_pearl.script("+34612345678", CallScript(
            status=4, conversation_status=100, duration=42, summary="Interested",
            collected_info=[{"id": "1", "name": "email", "value": "a@b.es"}],
            queued_polls=1, in_progress_polls=2))
        fake_pearl.rate_limit("make_call", times=2, retry_after="1")  # 2 x 429 first
        fake_pearl.fail("get_call", 500, times=1)                      # then one 500
        client = PearlClient(fake_pearl.settings(), sleep=waits.append)
        ...
        assert fake_pearl.count("make_call") == 3
        assert len(fake_pearl.placed_calls("+34612345678")) == 1

Faults are queued per endpoint (``"make_call"``, ``"get_call_request"``, ``"get_call"``) and
consumed in order by the next matching requests, before the token is checked. Every request
is recorded in :attr:`FakePearl.requests`, faulted or not.

(PYTEST_DONT_REWRITE: imported by test modules before pytest loads it as a plugin.)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

if TYPE_CHECKING:
    from pearl_client import PearlSettings

__all__ = [
    "CALLER_ID",
    "DEFAULT_API_KEY",
    "DEFAULT_OUTBOUND_ID",
    "ENDPOINTS",
    "CallScript",
    "FakePearl",
    "Fault",
    "RecordedRequest",
    "Sleeps",
    "fake_pearl",
    "fake_pearl_server",
    "sleeps",
]

DEFAULT_API_KEY = "6655269800000000000fa4e1:fakeSecretKey0123456789abcdefXYZ"
DEFAULT_OUTBOUND_ID = "66b1f0c2a9e4d3b2c1a09f8e"
CALLER_ID = "+34910000000"
ENDPOINTS = ("make_call", "get_call_request", "get_call")

_ROUTES = (
    ("make_call", "POST", re.compile(r"/v1/Outbound/(?P<id>[^/]+)/Call")),
    ("get_call_request", "GET", re.compile(r"/v1/Outbound/CallRequest/(?P<id>[^/]+)")),
    ("get_call", "GET", re.compile(r"/v1/Call/(?P<id>[^/]+)")),
)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")

# CallRequest.status
REQUEST_IN_CALL_QUEUE, REQUEST_ON_CALL, REQUEST_COMPLETED = 1, 2, 10
REQUEST_BLACKLISTED, REQUEST_ERROR = 20, 100
# Call.status
CALL_IN_PROGRESS, CALL_COMPLETED = 3, 4


@dataclass
class CallScript:
    """What happens to a call placed to one number.

    ``status``/``conversation_status``/``duration``/``summary``/``collected_info``/``tags``
    /``transcript`` describe the final call object (``transcript`` None: a short default one
    when ``status`` is 4 Completed, else empty); ``extra`` is merged into it last.
    ``request_status`` is the final CallRequest status: 10 Completed places a call, 20
    BlackListed or 100 Error end the request without one (``request_errors`` then fill
    ``errors``). ``in_progress_conversation_status`` is what Call.conversationStatus says while
    the call runs (undocumented by Pearl; decide on ``status``, not on this).
    """

    status: int = CALL_COMPLETED
    conversation_status: int = 100
    duration: int = 60
    summary: str | None = "The lead answered and the conversation was completed."
    collected_info: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] | None = None
    queued_polls: int = 0
    in_progress_polls: int = 1
    request_status: int = REQUEST_COMPLETED
    request_errors: list[str] = field(default_factory=list)
    in_progress_conversation_status: int = 20
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def places_call(self) -> bool:
        return self.request_status not in (REQUEST_BLACKLISTED, REQUEST_ERROR)


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
    """A request as the fake server received it."""

    method: str
    path: str
    endpoint: str | None
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def json(self) -> Any:
        """The body decoded as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class _CallRequest:
    id: str
    outbound_id: str
    to: str
    call_data: dict[str, Any]
    script: CallScript
    created: str
    queued_left: int
    progress_left: int
    phase: str = "queued"  # queued -> in_progress -> done
    call_id: str | None = None
    started: str | None = None


class FakePearl:
    """Stateful fake Pearl API served by a ``pytest_httpserver.HTTPServer``.

    Attaching to a server replaces all its handlers (``server.clear()``). The server should be
    ``threaded=True`` so that a slow answer does not hold up the next request.
    Numbers without a :meth:`script` follow :attr:`default_script` (completed, success).
    Thread-safe: the server answers each request in its own thread.
    """

    def __init__(
        self,
        server: HTTPServer,
        *,
        api_key: str = DEFAULT_API_KEY,
        outbound_ids: tuple[str, ...] = (DEFAULT_OUTBOUND_ID,),
        caller_id: str = CALLER_ID,
    ) -> None:
        self.server = server
        self.api_key = api_key
        self.outbound_ids = tuple(outbound_ids)
        self.caller_id = caller_id
        self.default_script = CallScript()
        self._lock = threading.Lock()
        self._scripts: dict[str, CallScript] = {}
        self._faults: dict[str, deque[Fault]] = {name: deque() for name in ENDPOINTS}
        self._requests: list[RecordedRequest] = []
        self._call_requests: dict[str, _CallRequest] = {}
        self._calls: dict[str, _CallRequest] = {}
        server.clear()
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @classmethod
    @contextlib.contextmanager
    def serve(cls, **kwargs: Any) -> Iterator[FakePearl]:
        """Run a fake on its own server (127.0.0.1, free port) for the ``with`` block."""
        server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        server.start()
        try:
            yield cls(server, **kwargs)
        finally:
            server.clear()
            server.stop()

    # ---- configuration

    @property
    def base_url(self) -> str:
        """Base URL to give the client (no trailing slash), e.g. ``http://127.0.0.1:PORT``."""
        return self.server.url_for("/").rstrip("/")

    def settings(self, **overrides: Any) -> PearlSettings:
        """A ``pearl_client.PearlSettings`` pointing at this fake, with test-friendly timeouts.

        Defaults: connect 1 s, read 2 s, 3 retries, 0.01 s backoff; ``overrides`` win.
        """
        from pearl_client import PearlSettings

        values: dict[str, Any] = {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "outbound_id": self.outbound_ids[0],
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
            "max_retries": 3,
            "backoff_seconds": 0.01,
        }
        values.update(overrides)
        return PearlSettings(**values)

    def env(self) -> dict[str, str]:
        """``PEARL_*`` environment variables pointing at this fake (for ``from_env``)."""
        return {
            "PEARL_API_KEY": self.api_key,
            "PEARL_API_URL": self.base_url,
            "PEARL_OUTBOUND_ID": self.outbound_ids[0],
            "PEARL_CONNECT_TIMEOUT": "1",
            "PEARL_READ_TIMEOUT": "2",
            "PEARL_MAX_RETRIES": "3",
        }

    def script(self, number: str, script: CallScript | None = None, **fields: Any) -> CallScript:
        """Set what happens to calls placed to E.164 ``number`` from now on; returns the script.

        Pass a :class:`CallScript`, or its fields as keyword arguments.
        """
        if script is None:
            script = CallScript(**fields)
        elif fields:
            raise TypeError("pass a CallScript or keyword fields, not both")
        with self._lock:
            self._scripts[number] = script
        return script

    # ---- fault injection

    def inject(self, endpoint: str, fault: Fault, *, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests to ``endpoint``."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        with self._lock:
            self._faults[endpoint].extend(Fault(**vars(fault)) for _ in range(times))

    def fail(
        self,
        endpoint: str,
        status: int = 500,
        *,
        times: int = 1,
        message: str | None = None,
        body: Any = None,
        retry_after: str | None = None,
        process: bool = False,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests (ProblemDetails body by default).

        ``message`` sets the body's ``detail``; ``process=True`` first handles the request
        (the call IS placed, as may happen on a real 500).
        """
        if body is None and message is not None:
            body = _problem(status, detail=message)
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        fault = Fault(status=status, body=body, headers=headers, process=process)
        self.inject(endpoint, fault, times=times)

    def rate_limit(self, endpoint: str, *, times: int = 1, retry_after: str | None = "1") -> None:
        """Answer 429 Too Many Requests with ``Retry-After`` to the next ``times`` requests."""
        self.fail(endpoint, 429, times=times, retry_after=retry_after)

    def slow(self, endpoint: str, seconds: float, *, times: int = 1) -> None:
        """Handle the next ``times`` requests normally but answer only after ``seconds``.

        Use more than the client's read timeout to cause a read timeout: the request has been
        processed (a POST has placed the call) although the client never sees the answer.
        """
        self.inject(endpoint, Fault(status=None, delay=seconds, process=True), times=times)

    def malformed(
        self, endpoint: str, *, times: int = 1, body: str | bytes = '{"id": "unterminated'
    ) -> None:
        """Handle the next ``times`` requests normally but answer 200 with a broken body."""
        fault = Fault(
            status=200, body=body, headers={"Content-Type": "application/json"}, process=True
        )
        self.inject(endpoint, fault, times=times)

    def disconnect(self, endpoint: str, *, times: int = 1, process: bool = True) -> None:
        """Close the connection without answering the next ``times`` requests.

        With ``process=True`` (default) the request is handled first: the call is placed.
        """
        self.inject(endpoint, Fault(status=None, disconnect=True, process=process), times=times)

    def clear_faults(self) -> None:
        """Drop every fault not yet consumed."""
        with self._lock:
            for queue in self._faults.values():
                queue.clear()

    # ---- inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, endpoint: str) -> list[RecordedRequest]:
        """Requests received for ``endpoint`` (one of :data:`ENDPOINTS`)."""
        return [r for r in self.requests if r.endpoint == endpoint]

    def count(self, endpoint: str) -> int:
        """How many requests ``endpoint`` received (faulted ones included)."""
        return len(self.requests_for(endpoint))

    def placed_calls(self, number: str | None = None) -> list[dict[str, Any]]:
        """Call requests actually created (optionally only those to ``number``).

        Each is ``{"id", "outboundId", "to", "callData", "callId", "phase"}``.
        """
        with self._lock:
            return [
                {
                    "id": cr.id,
                    "outboundId": cr.outbound_id,
                    "to": cr.to,
                    "callData": dict(cr.call_data),
                    "callId": cr.call_id,
                    "phase": cr.phase,
                }
                for cr in self._call_requests.values()
                if number is None or cr.to == number
            ]

    # ---- server side

    def _handle(self, request: Request) -> Response:
        endpoint, route_method, match = _route(request.path)
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    endpoint=endpoint if request.method == route_method else None,
                    headers=dict(request.headers.items()),
                    body=request.get_data(),
                    received_at=time.monotonic(),
                )
            )
        if endpoint is None or match is None:
            return _json(404, _problem(404, detail="No such endpoint"))
        if request.method != route_method:
            return _json(405, _problem(405), headers={"Allow": route_method})
        with self._lock:
            fault = self._faults[endpoint].popleft() if self._faults[endpoint] else None
        if fault is None:
            return self._answer(endpoint, match["id"], request)
        response = self._answer(endpoint, match["id"], request) if fault.process else None
        if fault.status is not None:
            response = _fault_response(fault)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.disconnect:
            _drop_connection(request)
        if response is None:  # disconnect without processing
            response = _json(500, _problem(500))
        return response

    def _answer(self, endpoint: str, item_id: str, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})
        if endpoint == "make_call":
            return self._make_call(item_id, request)
        with self._lock:
            if endpoint == "get_call_request":
                cr = self._call_requests.get(item_id)
                if cr is None:
                    return _json(404, _problem(404, detail="Call request not found"))
                self._poll(cr)
                return _json(200, self._call_request_view(cr))
            cr = self._calls.get(item_id)
            if cr is None:
                return _json(404, _problem(404, detail="Call not found"))
            self._poll(cr)
            return _json(200, self._call_view(cr))

    def _make_call(self, outbound_id: str, request: Request) -> Response:
        if outbound_id not in self.outbound_ids:
            return _json(404, _problem(404, detail="Outbound not found"))
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return _json(400, _problem(400, errors={"$": ["The JSON value is not valid."]}))
        if not isinstance(body, dict):
            return _json(400, _problem(400, errors={"$": ["A JSON object is required."]}))
        to = body.get("to")
        if not isinstance(to, str) or not _E164.fullmatch(to):
            return _json(400, _problem(400, errors={"to": ["The phone number is not valid."]}))
        call_data = body.get("callData") or {}
        if not isinstance(call_data, dict) or any(
            isinstance(v, bool) or not isinstance(v, str | int | float) for v in call_data.values()
        ):
            return _json(400, _problem(400, errors={"callData": ["Invalid call data."]}))
        with self._lock:
            script = self._scripts.get(to, self.default_script)
            cr = _CallRequest(
                id=_new_id(),
                outbound_id=outbound_id,
                to=to,
                call_data=call_data,
                script=script,
                created=_now(),
                queued_left=max(0, script.queued_polls),
                progress_left=max(0, script.in_progress_polls),
            )
            self._call_requests[cr.id] = cr
            queue_position = sum(1 for c in self._call_requests.values() if c.phase == "queued")
        return _json(
            200, {"id": cr.id, "from": self.caller_id, "to": to, "queuePosition": queue_position}
        )

    @staticmethod
    def _poll_start(cr: _CallRequest) -> None:
        if cr.phase == "queued" and cr.queued_left == 0:
            if cr.script.places_call:
                cr.phase = "in_progress"
                cr.call_id = _new_id()
                cr.started = _now()
            else:
                cr.phase = "done"

    def _poll(self, cr: _CallRequest) -> None:
        """Advance ``cr`` by one poll; the answer then reflects its new state (lock held)."""
        self._poll_start(cr)
        if cr.phase == "queued":
            cr.queued_left -= 1
            return
        if cr.call_id is not None:
            self._calls[cr.call_id] = cr
        if cr.phase == "in_progress":
            if cr.progress_left > 0:
                cr.progress_left -= 1
            else:
                cr.phase = "done"

    def _call_request_view(self, cr: _CallRequest) -> dict[str, Any]:
        if cr.phase == "queued":
            status = REQUEST_IN_CALL_QUEUE
        elif cr.phase == "in_progress":
            status = REQUEST_ON_CALL
        else:
            status = cr.script.request_status
        errors = list(cr.script.request_errors) if status in (20, 100) else None
        return {
            "id": cr.id,
            "status": status,
            "outboundId": cr.outbound_id,
            "created": cr.created,
            "errors": errors,
            "callId": cr.call_id,
        }

    def _call_view(self, cr: _CallRequest) -> dict[str, Any]:
        script = cr.script
        view: dict[str, Any] = {
            "id": cr.call_id,
            "relatedId": cr.outbound_id,
            "startTime": cr.started,
            "from": self.caller_id,
            "to": cr.to,
            "name": None,
            "isCallTransferred": False,
            "overallSentiment": None,
        }
        if cr.phase == "in_progress":
            view.update(
                status=CALL_IN_PROGRESS,
                conversationStatus=script.in_progress_conversation_status,
                duration=0,
                recording=None,
                transcript=[],
                summary=None,
                collectedInfo=[],
                tags=[],
            )
            return view
        transcript = script.transcript
        if transcript is None:
            transcript = _default_transcript() if script.status == CALL_COMPLETED else []
        view.update(
            status=script.status,
            conversationStatus=script.conversation_status,
            duration=script.duration,
            recording=f"https://recordings.invalid/{cr.call_id}.mp3" if script.duration else None,
            transcript=transcript,
            summary=script.summary,
            collectedInfo=[dict(item) for item in script.collected_info],
            tags=list(script.tags),
        )
        view.update(script.extra)
        return view


# ---- helpers


def _route(path: str) -> tuple[str | None, str | None, re.Match[str] | None]:
    for name, method, pattern in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return name, method, match
    return None, None, None


def _new_id() -> str:
    return os.urandom(12).hex()  # 24 hex digits, like Pearl's ids


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(
    status: int, *, detail: str | None = None, errors: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """An ASP.NET-style ProblemDetails body, as Pearl's API returns on errors."""
    titles = {
        400: "One or more validation errors occurred.",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        500: "An error occurred while processing your request.",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
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


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload),
        status=status,
        content_type="application/json; charset=utf-8",
        headers=dict(headers or {}),
    )


def _fault_response(fault: Fault) -> Response:
    assert fault.status is not None
    body = fault.body
    if body is None:
        body = _problem(fault.status) if fault.status >= 400 else {}
    if isinstance(body, dict | list):
        return _json(fault.status, body, fault.headers)
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "text/plain; charset=utf-8", **fault.headers}
    return Response(data, status=fault.status, headers=headers)


def _drop_connection(request: Request) -> None:
    """Shut the client's socket so it gets no answer at all (werkzeug dev server only)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _default_transcript() -> list[dict[str, Any]]:
    return [
        {"role": 2, "content": "Hola, le llamo de parte de la compañía.", "startTime": 0.0,
         "endTime": 2.5},
        {"role": 1, "content": "Sí, dígame.", "startTime": 2.8, "endTime": 3.6},
    ]  # fmt: skip


# ---- pytest fixtures


@pytest.fixture(scope="session")
def fake_pearl_server() -> Iterator[HTTPServer]:
    """One threaded local HTTP server for the whole session (127.0.0.1, free port)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def fake_pearl(fake_pearl_server: HTTPServer) -> Iterator[FakePearl]:
    """A fresh :class:`FakePearl` (new state, no scripts, no faults) on the session server."""
    fake = FakePearl(fake_pearl_server)
    yield fake
    errors = list(fake_pearl_server.handler_errors)
    fake_pearl_server.clear()
    if errors:
        raise errors[0]


class Sleeps(list[float]):
    """Given to PearlClient instead of time.sleep: records the waits, never sleeps."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """A fresh Sleeps recorder."""
    return Sleeps()
