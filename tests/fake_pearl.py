"""A fake Pearl AI (NLPearl) API: a real local HTTP server with state, for tests.

It checks the bearer token and keeps call requests and calls in memory::

    POST /v1/Outbound/{outboundId}/Call        -> {"id", "from", "to", "queuePosition"}
    GET  /v1/Outbound/CallRequest/{id}         -> {"id", "status", "outboundId", "created",
                                                   "errors", "callId"}
    POST /v1/Outbound/{outboundId}/CallRequest -> {"count", "results": [call request + "to",
                                                   "callData"]}  (fromDate/toDate/skip/limit)
    POST /v1/Outbound/{outboundId}/Calls       -> {"count", "results": [{"id", "startTime",
                                                   "conversationStatus", "status", "from",
                                                   "to", "duration", "tags"}]}
    GET  /v1/Call/{callId}                     -> the full call object (with callData echo)
    GET  /v1/Account                           -> {"name", "totalAgents", "creditBalance",
                                                   "status", "remainingMinutes"}

Life of a placed call (every GET of its call request or call counts as one poll; the
searches do not advance anything):

1. ``queued_polls`` polls answer CallRequest status 1 (InCallQueue), ``callId`` null;
2. then the call starts: ``in_progress_polls`` polls answer CallRequest status 2 (OnCall)
   with a ``callId``, and Call status 3 (InProgress);
3. then the call is over: CallRequest status 10 (Completed) and the scripted final call.

:meth:`FakePearl.start_calls` / :meth:`FakePearl.finish_calls` move every call on without
polls (what Pearl does by itself; needed for calls whose request id the client never got).
A script whose ``request_status`` is 20 (BlackListed) or 100 (Error) never creates a call.
Searches list requests by ``created`` (calls by ``startTime``), oldest first, inside
[fromDate, toDate]; ``limit`` defaults to 100.

Webhooks (:mod:`tests.fake_pearl_webhooks`): a call-started and a call-ended event per call
are recorded always, and POSTed to the URL given to :meth:`FakePearl.set_webhook`.

Usage in a test (fixtures ``fake_pearl``, ``fake_pearl_server`` and ``sleeps`` below)::

    def test_something(fake_pearl):
        fake_pearl.script("+34612345678", Scripts.appointment(queued_polls=1))
        fake_pearl.rate_limit("make_call", times=2, retry_after="1")  # 2 x 429 first
        fake_pearl.fail("get_call", 500, times=1)                      # then one 500
        fake_pearl.accept_and_drop()                  # next POST creates a call, no answer
        client = PearlClient(fake_pearl.settings(), sleep=waits.append)
        ...
        assert fake_pearl.count("make_call") == 3
        assert max(fake_pearl.posts_per_call_ref().values()) == 1

Faults are queued per endpoint (:data:`ENDPOINTS`) and consumed in order by the next
matching requests, before the token is checked. Every request is recorded in
:attr:`FakePearl.requests`, faulted or not.

Modules: :mod:`tests.fake_pearl_data` (scripts, faults, JSON views),
:mod:`tests.fake_pearl_handler` (how each request is answered),
:mod:`tests.fake_pearl_webhooks` (events and their delivery); this module is the test-facing
API and the pytest plugin (``pytest_plugins = ["tests.fake_pearl"]``).

(PYTEST_DONT_REWRITE: imported by test modules before pytest loads it as a plugin.)
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from pytest_httpserver import HTTPServer

from tests.fake_pearl_data import (
    CALL_CANCELED,
    CALL_COMPLETED,
    CALL_IN_PROGRESS,
    REQUEST_BLACKLISTED,
    REQUEST_COMPLETED,
    REQUEST_ERROR,
    CallPost,
    CallScript,
    Fault,
    RecordedRequest,
    Scripts,
    StoredRequest,
    collected_info,
    problem,
)
from tests.fake_pearl_handler import (
    CALLER_ID,
    DEFAULT_API_KEY,
    DEFAULT_OUTBOUND_ID,
    ENDPOINTS,
    PearlHandler,
)
from tests.fake_pearl_webhooks import Delivery, WebhookEvent

if TYPE_CHECKING:
    from pearl_client import PearlSettings

__all__ = [
    "CALLER_ID",
    "CALL_CANCELED",
    "CALL_COMPLETED",
    "CALL_IN_PROGRESS",
    "DEFAULT_API_KEY",
    "DEFAULT_OUTBOUND_ID",
    "ENDPOINTS",
    "REQUEST_BLACKLISTED",
    "REQUEST_COMPLETED",
    "REQUEST_ERROR",
    "CallPost",
    "CallScript",
    "Delivery",
    "FakePearl",
    "Fault",
    "RecordedRequest",
    "Scripts",
    "Sleeps",
    "WebhookEvent",
    "collected_info",
    "fake_pearl",
    "fake_pearl_server",
    "sleeps",
]


class FakePearl(PearlHandler):
    """Stateful fake Pearl API served by a ``pytest_httpserver.HTTPServer``.

    Attaching to a server replaces all its handlers (``server.clear()``). The server should be
    ``threaded=True`` so that a slow answer does not hold up the next request.
    Numbers without a :meth:`script` follow :attr:`default_script` (completed, success).
    :attr:`clock` gives the fake's "now" (UTC; default the real clock) for ``created`` and
    ``startTime``. Thread-safe: the server answers each request in its own thread.
    """

    def __init__(
        self,
        server: HTTPServer,
        *,
        api_key: str = DEFAULT_API_KEY,
        outbound_ids: tuple[str, ...] = (DEFAULT_OUTBOUND_ID,),
        caller_id: str = CALLER_ID,
    ) -> None:
        super().__init__(api_key=api_key, outbound_ids=outbound_ids, caller_id=caller_id)
        self.server = server
        server.clear()
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @classmethod
    @contextlib.contextmanager
    def serve(cls, **kwargs: Any) -> Iterator[FakePearl]:
        """Run a fake on its own server (127.0.0.1, free port) for the ``with`` block."""
        server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        server.start()
        fake = cls(server, **kwargs)
        try:
            yield fake
        finally:
            fake.close()
            server.clear()
            server.stop()

    def close(self) -> None:
        """Stop background webhook delivery (waits for queued events)."""
        self.webhooks.close()

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
            "api_key": self.api_key, "base_url": self.base_url,
            "outbound_id": self.outbound_ids[0], "connect_timeout": 1.0, "read_timeout": 2.0,
            "max_retries": 3, "backoff_seconds": 0.01,
        }  # fmt: skip
        values.update(overrides)
        return PearlSettings(**values)

    def env(self) -> dict[str, str]:
        """``PEARL_*`` environment variables pointing at this fake (for ``from_env``)."""
        return {
            "PEARL_API_KEY": self.api_key, "PEARL_API_URL": self.base_url,
            "PEARL_OUTBOUND_ID": self.outbound_ids[0], "PEARL_CONNECT_TIMEOUT": "1",
            "PEARL_READ_TIMEOUT": "2", "PEARL_MAX_RETRIES": "3",
        }  # fmt: skip

    def script(self, number: str, script: CallScript | None = None, **fields: Any) -> CallScript:
        """Set what happens to calls placed to E.164 ``number`` from now on; returns the script.

        Pass a :class:`CallScript` (see :class:`Scripts`), or its fields as keyword arguments.
        """
        if script is None:
            script = CallScript(**fields)
        elif fields:
            raise TypeError("pass a CallScript or keyword fields, not both")
        with self._lock:
            self._scripts[number] = script
        return script

    def set_account(
        self, status: int | None = None, credit_balance: float | None = None, **fields: Any
    ) -> None:
        """Change what ``GET /v1/Account`` answers (status 1..5, creditBalance, any field)."""
        with self._lock:
            if status is not None:
                self.account["status"] = status
            if credit_balance is not None:
                self.account["creditBalance"] = credit_balance
            self.account.update(fields)

    def set_webhook(
        self, url: str | None, *, version: str = "v2", auto: bool = True, duplicate: bool = False
    ) -> None:
        """POST call-started/call-ended events to ``url`` (``version`` ``"v2"`` camelCase or
        ``"v1"`` PascalCase). ``auto``: deliver each event in the background as it happens,
        in order (``duplicate``: twice each); with ``auto=False`` events are only recorded,
        for :meth:`deliver` in any order. ``url=None`` turns delivery off."""
        self.webhooks.configure(url, version=version, auto=auto, duplicate=duplicate)

    # ---- fault injection

    def inject(self, endpoint: str, fault: Fault, *, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests to ``endpoint``."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        with self._lock:
            self._faults[endpoint].extend(Fault(**vars(fault)) for _ in range(times))

    def fail(
        self, endpoint: str, status: int = 500, *, times: int = 1, message: str | None = None,
        body: Any = None, retry_after: str | None = None, process: bool = False,
    ) -> None:  # fmt: skip
        """Answer ``status`` to the next ``times`` requests (ProblemDetails body by default).

        ``message`` sets the body's ``detail``; ``process=True`` first handles the request
        (the call IS placed, as may happen on a real 500).
        """
        if body is None and message is not None:
            body = problem(status, detail=message)
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

    def accept_and_drop(self, *, times: int = 1) -> None:
        """The next call-placing POSTs create their call, then the connection is closed
        without an answer (the client sees a reset; the call IS placed)."""
        self.disconnect("make_call", times=times, process=True)

    def accept_and_hang(self, seconds: float, *, times: int = 1) -> None:
        """The next call-placing POSTs create their call, then answer only after ``seconds``."""
        self.slow("make_call", seconds, times=times)

    def clear_faults(self) -> None:
        """Drop every fault not yet consumed."""
        with self._lock:
            for queue in self._faults.values():
                queue.clear()

    # ---- moving calls on (what Pearl does by itself)

    def start_calls(self, request_ids: Iterable[str] | None = None) -> int:
        """Start every queued call now (or only those of ``request_ids``): each gets its call
        id and a call-started event. Return how many moved."""
        with self._lock:
            moved = [cr for cr in self._selected(request_ids) if cr.phase == "queued"]
            for cr in moved:
                self._start(cr)
        return len(moved)

    def finish_calls(self, request_ids: Iterable[str] | None = None) -> int:
        """End every call not yet done (or only those of ``request_ids``), starting it first
        if needed (events: started, ended). Return how many moved."""
        with self._lock:
            moved = [cr for cr in self._selected(request_ids) if cr.phase != "done"]
            for cr in moved:
                if cr.phase == "queued":
                    self._start(cr)
                if cr.phase == "in_progress":
                    self._end(cr)
        return len(moved)

    def _selected(self, request_ids: Iterable[str] | None) -> list[StoredRequest]:
        if request_ids is None:
            return list(self._call_requests.values())
        wanted = set(request_ids)
        return [cr for cr in self._call_requests.values() if cr.id in wanted]

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

    def call_posts(self, number: str | None = None) -> list[CallPost]:
        """Every call-placing POST received (optionally to ``number``), faulted or not."""
        with self._lock:
            return [p for p in self._posts if number is None or p.to == number]

    def posts_per_call_ref(self, key: str = "callRef") -> Counter[str]:
        """How many call-placing POSTs carried each ``callData[key]`` (as a string)."""
        return Counter(
            str(p.call_data[key]) for p in self.call_posts() if p.call_data and key in p.call_data
        )

    def placed_calls(self, number: str | None = None) -> list[dict[str, Any]]:
        """Call requests actually created (optionally only those to ``number``).

        Each is ``{"id", "outboundId", "to", "callData", "callId", "phase"}``.
        """
        with self._lock:
            return [
                {"id": cr.id, "outboundId": cr.outbound_id, "to": cr.to,
                 "callData": dict(cr.call_data), "callId": cr.call_id, "phase": cr.phase}
                for cr in self._call_requests.values()
                if number is None or cr.to == number
            ]  # fmt: skip

    def webhook_events(
        self, call_id: str | None = None, kind: str | None = None
    ) -> list[WebhookEvent]:
        """Call-started/ended events so far (``kind`` ``"started"``/``"ended"``), in order."""
        with self._lock:
            return [
                e for e in self._events
                if (call_id is None or e.call_id == call_id) and (kind is None or e.kind == kind)
            ]  # fmt: skip

    def deliver(
        self, *events: WebhookEvent, url: str | None = None, version: str | None = None
    ) -> list[int | None]:
        """POST ``events`` now, in the order given (repeat one to duplicate it); return the
        answers' statuses (None for a failed POST)."""
        return [self.webhooks.send(e, url=url, version=version) for e in events]

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Wait until ``count`` webhook POSTs were attempted; return all deliveries."""
        return self.webhooks.wait(count, timeout)

    # ---- server side


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
    fake.close()
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
