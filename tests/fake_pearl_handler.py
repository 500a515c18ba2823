"""The fake Pearl server's state and how it answers each request (routing, call-placing,
polls that move a call on, searches, account, webhook events). The test-facing API
(scripts, faults, inspection, fixtures) is :class:`tests.fake_pearl.FakePearl`.

(PYTEST_DONT_REWRITE: imported by test modules before pytest loads the plugin.)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from tests.fake_pearl_data import (
    CallPost,
    CallScript,
    Fault,
    RecordedRequest,
    StoredRequest,
    drop_connection,
    fault_response,
    json_response,
    new_id,
    parse_iso,
    problem,
)
from tests.fake_pearl_webhooks import ENDED, STARTED, WebhookEvent, WebhookSender

__all__ = ["CALLER_ID", "DEFAULT_API_KEY", "DEFAULT_OUTBOUND_ID", "ENDPOINTS", "PearlHandler"]

DEFAULT_API_KEY = "6655269800000000000fa4e1:fakeSecretKey0123456789abcdefXYZ"
DEFAULT_OUTBOUND_ID = "66b1f0c2a9e4d3b2c1a09f8e"
CALLER_ID = "339900"  # real campaigns' caller id: not E.164
ENDPOINTS = (
    "make_call", "get_call_request", "get_call", "search_call_requests", "search_calls",
    "get_account",
)  # fmt: skip
DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT = 100, 1000

_ROUTES = (
    ("make_call", "POST", re.compile(r"/v1/Outbound/(?P<id>[^/]+)/Call")),
    ("search_call_requests", "POST", re.compile(r"/v1/Outbound/(?P<id>[^/]+)/CallRequest")),
    ("search_calls", "POST", re.compile(r"/v1/Outbound/(?P<id>[^/]+)/Calls")),
    ("get_call_request", "GET", re.compile(r"/v1/Outbound/CallRequest/(?P<id>[^/]+)")),
    ("get_call", "GET", re.compile(r"/v1/Call/(?P<id>[^/]+)")),
    ("get_account", "GET", re.compile(r"/v1/Account")),
)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class PearlHandler:
    """State of one fake Pearl account and the answer to every request (thread-safe).

    :attr:`clock` gives the fake's "now" (UTC; default the real clock) for ``created`` and
    ``startTime``; :attr:`account` is what ``GET /v1/Account`` answers.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        outbound_ids: tuple[str, ...] = (DEFAULT_OUTBOUND_ID,),
        caller_id: str = CALLER_ID,
    ) -> None:
        self.api_key = api_key
        self.outbound_ids = tuple(outbound_ids)
        self.caller_id = caller_id
        self.default_script = CallScript()
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.account: dict[str, Any] = {
            "name": "Fake Call Centre", "totalAgents": 5, "creditBalance": 250.0, "status": 1,
            "remainingMinutes": 1200.0,
        }  # fmt: skip
        self.webhooks = WebhookSender()
        self._lock = threading.Lock()
        self._scripts: dict[str, CallScript] = {}
        self._faults: dict[str, deque[Fault]] = {name: deque() for name in ENDPOINTS}
        self._requests: list[RecordedRequest] = []
        self._posts: list[CallPost] = []
        self._call_requests: dict[str, StoredRequest] = {}
        self._calls: dict[str, StoredRequest] = {}
        self._events: list[WebhookEvent] = []

    def _handle(self, request: Request) -> Response:
        endpoint, route_method, match = _route(request.path)
        recorded = RecordedRequest(
            method=request.method, path=request.path,
            endpoint=endpoint if request.method == route_method else None,
            headers=dict(request.headers.items()), body=request.get_data(),
            received_at=time.monotonic(), received_utc=self.clock(),
        )  # fmt: skip
        with self._lock:
            self._requests.append(recorded)
        if endpoint is None or match is None:
            return json_response(404, problem(404, detail="No such endpoint"))
        if request.method != route_method:
            return json_response(405, problem(405), headers={"Allow": route_method})
        with self._lock:
            fault = self._faults[endpoint].popleft() if self._faults[endpoint] else None
        item_id = match.groupdict().get("id", "")
        if fault is None:
            return self._answer(endpoint, item_id, request, recorded)
        response = None
        if fault.process:
            response = self._answer(endpoint, item_id, request, recorded)
        elif endpoint == "make_call":
            self._record_post(recorded, None)
        if fault.status is not None:
            response = fault_response(fault)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.disconnect:
            drop_connection(request)
        if response is None:  # disconnect without processing
            response = json_response(500, problem(500))
        return response

    def _answer(
        self, endpoint: str, item_id: str, request: Request, recorded: RecordedRequest
    ) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            if endpoint == "make_call":
                self._record_post(recorded, None)
            return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})
        if endpoint == "make_call":
            return self._make_call(item_id, request, recorded)
        if endpoint in ("search_call_requests", "search_calls"):
            return self._search(endpoint, item_id, request)
        with self._lock:
            if endpoint == "get_account":
                return json_response(200, dict(self.account))
            if endpoint == "get_call_request":
                cr = self._call_requests.get(item_id)
                if cr is None:
                    return json_response(404, problem(404, detail="Call request not found"))
                self._poll(cr)
                return json_response(200, cr.request_view())
            cr = self._calls.get(item_id)
            if cr is None:
                return json_response(404, problem(404, detail="Call not found"))
            self._poll(cr)
            return json_response(200, cr.call_view(self.caller_id))

    def _record_post(self, recorded: RecordedRequest, request_id: str | None) -> None:
        body = recorded.json
        body = body if isinstance(body, dict) else {}
        to, call_data = body.get("to"), body.get("callData")
        with self._lock:
            self._posts.append(
                CallPost(
                    to=to if isinstance(to, str) else None,
                    call_data=dict(call_data) if isinstance(call_data, dict) else None,
                    received_utc=recorded.received_utc or self.clock(),
                    request_id=request_id,
                )
            )

    def _make_call(self, outbound_id: str, request: Request, recorded: RecordedRequest) -> Response:
        refusal = self._refuse_call(outbound_id, recorded.json)
        if refusal is not None:
            self._record_post(recorded, None)
            return refusal
        body = recorded.json
        to, call_data = body["to"], dict(body.get("callData") or {})
        with self._lock:
            script = self._scripts.get(to, self.default_script)
            cr = StoredRequest(
                id=new_id(), outbound_id=outbound_id, to=to, call_data=call_data, script=script,
                created=self.clock(), queued_left=max(0, script.queued_polls),
                progress_left=max(0, script.in_progress_polls),
            )  # fmt: skip
            self._call_requests[cr.id] = cr
            queue_position = sum(1 for c in self._call_requests.values() if c.phase == "queued")
        self._record_post(recorded, cr.id)
        return json_response(
            200, {"id": cr.id, "from": self.caller_id, "to": to, "queuePosition": queue_position}
        )

    def _refuse_call(self, outbound_id: str, body: Any) -> Response | None:
        if outbound_id not in self.outbound_ids:
            return json_response(404, problem(404, detail="Outbound not found"))
        if not isinstance(body, dict):
            return json_response(400, problem(400, errors={"$": ["A JSON object is required."]}))
        to = body.get("to")
        if not isinstance(to, str) or not _E164.fullmatch(to):
            return json_response(
                400, problem(400, errors={"to": ["The phone number is not valid."]})
            )
        call_data = body.get("callData") or {}
        if not isinstance(call_data, dict) or any(
            isinstance(v, bool) or not isinstance(v, str | int | float) for v in call_data.values()
        ):
            return json_response(400, problem(400, errors={"callData": ["Invalid call data."]}))
        return None

    def _search(self, endpoint: str, outbound_id: str, request: Request) -> Response:
        if outbound_id not in self.outbound_ids:
            return json_response(404, problem(404, detail="Outbound not found"))
        try:
            body = json.loads(request.get_data())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return json_response(400, problem(400, errors={"$": ["A JSON object is required."]}))
        start, end = parse_iso(body.get("fromDate")), parse_iso(body.get("toDate"))
        skip, limit = body.get("skip", 0), body.get("limit", DEFAULT_PAGE_LIMIT)
        errors: dict[str, list[str]] = {}
        if start is None:
            errors["fromDate"] = ["The fromDate field is required."]
        if end is None:
            errors["toDate"] = ["The toDate field is required."]
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
            errors["skip"] = ["Must be a non-negative integer."]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_PAGE_LIMIT:
            errors["limit"] = [f"Must be an integer in 1..{MAX_PAGE_LIMIT}."]
        if errors:
            return json_response(400, problem(400, errors=errors))
        assert start is not None and end is not None
        with self._lock:
            if endpoint == "search_call_requests":
                rows = sorted(
                    (cr for cr in self._call_requests.values()
                     if cr.outbound_id == outbound_id and start <= cr.created <= end),
                    key=lambda cr: (cr.created, cr.id),
                )  # fmt: skip
                items = [cr.request_view(listing=True) for cr in rows]
            else:
                items = self._search_calls(outbound_id, start, end, body)
        return json_response(200, {"count": len(items), "results": items[skip : skip + limit]})

    def _search_calls(
        self, outbound_id: str, start: datetime, end: datetime, body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rows = sorted(
            (cr for cr in self._call_requests.values()
             if cr.outbound_id == outbound_id and cr.started is not None
             and start <= cr.started <= end),
            key=lambda cr: (cr.started, cr.call_id),
            reverse=body.get("isAscending") is False,
        )  # fmt: skip
        items = [cr.short_call_view(self.caller_id) for cr in rows]
        statuses = body.get("statuses")
        if isinstance(statuses, list) and statuses:
            items = [i for i in items if i["conversationStatus"] in statuses]
        text = body.get("searchInput")
        if isinstance(text, str) and text:
            items = [i for i in items if text in (i["to"] or "") or text in (i["id"] or "")]
        return items

    def _start(self, cr: StoredRequest) -> None:
        """queued -> in_progress (a call and its started event) or done without a call."""
        if not cr.script.places_call:
            cr.phase = "done"
            return
        cr.phase, cr.call_id, cr.started = "in_progress", new_id(), self.clock()
        self._calls[cr.call_id] = cr
        self._emit(STARTED, cr)

    def _end(self, cr: StoredRequest) -> None:
        cr.phase = "done"
        self._emit(ENDED, cr)

    def _emit(self, kind: str, cr: StoredRequest) -> None:
        assert cr.call_id is not None
        payload = {"pearlId": cr.outbound_id, **cr.call_view(self.caller_id)}
        event = WebhookEvent(len(self._events) + 1, kind, cr.call_id, cr.id, payload)
        self._events.append(event)
        self.webhooks.enqueue(event)

    def _poll(self, cr: StoredRequest) -> None:
        """Advance ``cr`` by one poll; the answer then reflects its new state (lock held)."""
        if cr.phase == "queued" and cr.queued_left == 0:
            self._start(cr)
        if cr.phase == "queued":
            cr.queued_left -= 1
            return
        if cr.phase == "in_progress":
            if cr.progress_left > 0:
                cr.progress_left -= 1
            else:
                self._end(cr)


def _route(path: str) -> tuple[str | None, str | None, re.Match[str] | None]:
    for name, method, pattern in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return name, method, match
    return None, None, None
