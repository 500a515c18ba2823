"""Pearl's Call Webhook, as the fake server sends it.

Pearl's docs (developers.nlpearl.ai/pages/webhooks) say the Call Webhook "is triggered at the
start and at the end of every call" and list the payload's fields: the call object itself
(id, pearlId, startTime, conversationStatus, status, from, to, name, duration, recording,
transcript, summary, collectedInfo, ...). They show no event wrapper, so the fake sends the
bare call object, as Pearl does: the call-started event is the call with ``status`` 3
(InProgress), the call-ended event the final call. V2 (the default) uses camelCase keys; V1
the same keys in PascalCase (``Id``, ``Status``, ``CollectedInfo`` ...; the caller's
``callData`` variables keep their own names). The fake also includes ``callData`` (the
echo of what was POSTed) and ``pearlId`` (the outbound id).

(PYTEST_DONT_REWRITE: imported by test modules before pytest loads the plugin.)
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from tests.fake_pearl_data import pascal_case

__all__ = ["Delivery", "WebhookEvent", "WebhookSender"]

STARTED, ENDED = "started", "ended"


@dataclass(frozen=True)
class WebhookEvent:
    """One Call Webhook event: ``kind`` is ``"started"`` or ``"ended"``; ``payload`` the V2
    (camelCase) body; ``seq`` its order of creation in this fake."""

    seq: int
    kind: str
    call_id: str
    request_id: str
    payload: dict[str, Any]

    def body(self, version: str = "v2") -> dict[str, Any]:
        """The JSON body for webhook ``version`` ``"v2"`` (camelCase) or ``"v1"`` (PascalCase)."""
        if version == "v2":
            return dict(self.payload)
        if version == "v1":
            return pascal_case(self.payload)
        raise ValueError(f"webhook version must be 'v1' or 'v2', not {version!r}")


@dataclass(frozen=True)
class Delivery:
    """One POST of an event to the webhook URL: the answer's status, or the error."""

    event: WebhookEvent
    version: str
    status_code: int | None
    error: str | None


class WebhookSender:
    """Delivers events to a URL: :meth:`send` now, or :meth:`enqueue` for a background thread
    (in order). Every attempt is recorded in :attr:`deliveries`."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.version = "v2"
        self.auto = False
        self.duplicate = False
        self.deliveries: list[Delivery] = []
        self._lock = threading.Condition()
        self._queue: queue.Queue[WebhookEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None  # made on first use: building one is slow

    def configure(self, url: str | None, *, version: str, auto: bool, duplicate: bool) -> None:
        if version not in ("v1", "v2"):
            raise ValueError(f"webhook version must be 'v1' or 'v2', not {version!r}")
        self.url, self.version, self.auto, self.duplicate = url, version, auto, duplicate
        if url and auto and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fake-pearl-webhooks")
            self._thread.daemon = True
            self._thread.start()

    def enqueue(self, event: WebhookEvent) -> None:
        """Deliver ``event`` in the background if a URL is set with ``auto`` (else nothing)."""
        if self.url and self.auto:
            self._queue.put(event)
            if self.duplicate:
                self._queue.put(event)

    def send(
        self, event: WebhookEvent, *, url: str | None = None, version: str | None = None
    ) -> int | None:
        """POST ``event`` now; return the answer's status (None if the POST failed)."""
        target = url or self.url
        if not target:
            raise ValueError("no webhook URL: call set_webhook(url) or pass url=")
        version = version or self.version
        status: int | None = None
        error: str | None = None
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(timeout=10.0)
            http = self._http
        try:
            status = http.post(target, json=event.body(version)).status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        with self._lock:
            self.deliveries.append(Delivery(event, version, status, error))
            self._lock.notify_all()
        return status

    def wait(self, count: int, timeout: float) -> list[Delivery]:
        """Wait until ``count`` deliveries were attempted; return them (raise on timeout)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise TimeoutError(f"{len(self.deliveries)} of {count} webhook deliveries")
            return list(self.deliveries)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=15)
            self._thread = None
        if self._http is not None:
            self._http.close()

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            self.send(event)
