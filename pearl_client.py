"""HTTP client for Pearl AI (NLPearl): place outbound calls, read their outcome, reconcile.

Why not the ``nlpearl`` PyPI package: its requests have no timeout, its base URL is fixed
(no local fake server, no proxy), and it has no retry policy, let alone one safe for placing
calls. This small httpx client has explicit timeouts, a configurable URL and safe retries.

Endpoints (Pearl API v1, https://developers.nlpearl.ai):

* ``POST /v1/Outbound/{outboundId}/Call`` {to, callData} -> ``{"id": <request id>, "from",
  "to", "queuePosition"}`` (:meth:`PearlClient.make_call`)
* ``GET /v1/Outbound/CallRequest/{requestId}`` -> ``{"id", "status", "outboundId", "created",
  "errors", "callId"}`` (status: :class:`CallRequestStatus`)
* ``POST /v1/Outbound/{outboundId}/CallRequest`` {fromDate, toDate, skip, limit} ->
  ``{"count", "results": [call request...]}`` (:meth:`PearlClient.search_call_requests`)
* ``POST /v1/Outbound/{outboundId}/Calls`` {fromDate, toDate, skip, limit, ...} ->
  ``{"count", "results": [{"id", "startTime", "conversationStatus", "status", "from", "to",
  "duration", "tags"}]}`` (:meth:`PearlClient.search_calls`)
* ``GET /v1/Call/{callId}`` -> the call (status: :class:`CallStatus`, conversationStatus:
  :class:`ConversationStatus`, from, to, duration, summary, transcript, collectedInfo...)
* ``GET /v1/Account`` -> ``{"name", "totalAgents", "creditBalance", "status",
  "remainingMinutes"}`` (:meth:`PearlClient.get_account`, :class:`AccountInfo`)

Safety rule: the call-placing POST is resent only when Pearl cannot have acted on it (the
connection was never made, or Pearl answered 429). When the outcome is unknown (timeout,
connection lost after sending, any 5xx) the client raises :class:`PearlTimeoutError`
(``call_may_be_placed`` True) so a person is never dialled twice; the caller reconciles
through :meth:`PearlClient.iter_call_requests` by the reference it put in ``callData``.
Searches are read-only POSTs and are retried like GETs.

Settings live in :mod:`pearl_settings`, exceptions in :mod:`pearl_errors`, status codes in
:mod:`pearl_models`; all are importable from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from pearl_errors import (
    PearlAccountUnusableError,
    PearlAuthError,
    PearlConfigError,
    PearlError,
    PearlNotFoundError,
    PearlProtocolError,
    PearlRejectedError,
    PearlTimeoutError,
    PearlUnavailableError,
)
from pearl_http import ACCOUNT_CACHE_SECONDS, PearlTransport
from pearl_models import (
    AccountInfo,
    AccountStatus,
    CallRequestStatus,
    CallStatus,
    ConversationStatus,
)
from pearl_requests import (
    api_datetime,
    path_param,
    valid_e164,
    validated_call_data,
)
from pearl_settings import DEFAULT_BASE_URL, MAX_RETRIES_LIMIT, PearlSettings
from phone import InvalidPhoneError, is_e164, mask_phone

__all__ = [
    "ACCOUNT_CACHE_SECONDS",
    "DEFAULT_BASE_URL",
    "MAX_RETRIES_LIMIT",
    "AccountInfo",
    "AccountStatus",
    "CallRequestStatus",
    "CallStatus",
    "ConversationStatus",
    "PearlAccountUnusableError",
    "PearlAuthError",
    "PearlClient",
    "PearlConfigError",
    "PearlError",
    "PearlNotFoundError",
    "PearlProtocolError",
    "PearlRejectedError",
    "PearlSettings",
    "PearlTimeoutError",
    "PearlUnavailableError",
]

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000


class PearlClient(PearlTransport):
    """Pearl's endpoints over a :class:`pearl_http.PearlTransport` (timeouts, safe retries).

    ``PearlClient(settings, *, http_client=None, sleep=time.sleep, monotonic=time.monotonic,
    account_cache_seconds=60.0)``; use as a context manager or call :meth:`close`.
    """

    # ---- public API

    def make_call(self, outbound_id: str, to: str, call_data: Mapping[str, Any]) -> str:
        """Ask Pearl to call ``to`` from outbound campaign ``outbound_id``; return the request id.

        ``to`` must already be a valid E.164 number (see :func:`phone.normalize_phone`);
        ``call_data`` maps variable names to strings or numbers (Pearl's ``callData``) and is
        sent unchanged: put the caller's own reference (e.g. ``callRef``) in it so that an
        uncertain call can be found again with :meth:`iter_call_requests`.
        The POST is resent only when Pearl cannot have acted on it (no connection, 429).

        Raises:
            ValueError: bad ``outbound_id``, ``to`` (``phone.InvalidPhoneError``) or
                ``call_data``; nothing was sent.
            PearlAuthError: 401/403.
            PearlNotFoundError: 404, the outbound id is wrong (configuration); not placed.
            PearlRejectedError: Pearl refused the call (400/422...; ``status_code``); not
                placed.
            PearlUnavailableError: Pearl unreachable, or 429 after all retries; not placed.
            PearlTimeoutError: timeout, connection lost after sending, or any 5xx: outcome
                unknown; the call MAY HAVE BEEN PLACED.
            PearlProtocolError: 2xx without a usable ``id``; the call was probably placed.
        """
        path = f"/v1/Outbound/{path_param('outbound_id', outbound_id)}/Call"
        if not is_e164(to) or valid_e164(to, self._settings.default_region) != to:
            raise InvalidPhoneError(
                "'to' must be a valid number in E.164 form ('+', country code, digits only), "
                f"got {mask_phone(to)!r}"
            )
        body = {"to": to, "callData": validated_call_data(call_data)}
        logger.info("Placing Pearl call to %s (outbound %s)", mask_phone(to), outbound_id)
        response = self._request(
            "POST", path, json_body=body, idempotent=False, not_found_is_config=True
        )
        try:
            payload = self._json_object(response, "POST", path)
            request_id = payload.get("id")
            if not isinstance(request_id, str) or not request_id.strip():
                raise PearlProtocolError(
                    f"Pearl's answer to POST {path} has no request 'id'",
                    status_code=response.status_code,
                )
        except PearlProtocolError as exc:
            exc.call_may_be_placed = True
            raise
        logger.info("Pearl accepted call to %s: request %s", mask_phone(to), request_id)
        return request_id

    def get_call_request(self, request_id: str) -> dict[str, Any]:
        """Return Pearl's call request ``request_id`` as a dict.

        Keys per Pearl: ``id``, ``status`` (:class:`CallRequestStatus`), ``outboundId``,
        ``created``, ``errors`` (list or None), ``callId`` (None until the call exists).

        Raises:
            ValueError: bad ``request_id``.
            PearlAuthError, PearlRejectedError (e.g. 404 unknown id), PearlUnavailableError,
            PearlProtocolError: not a JSON object with an integer ``status``.
        """
        path = f"/v1/Outbound/CallRequest/{path_param('request_id', request_id)}"
        return self._get_object(path)

    def get_call(self, call_id: str) -> dict[str, Any]:
        """Return Pearl's call ``call_id`` as a dict.

        Keys per Pearl: ``id``, ``relatedId``, ``startTime``, ``status`` (:class:`CallStatus`),
        ``conversationStatus`` (:class:`ConversationStatus`), ``from``, ``to``, ``name``,
        ``duration`` (s), ``recording``, ``transcript``, ``summary``, ``collectedInfo``
        (list of ``{id, name, value}``), ``tags``, ...

        Raises:
            ValueError: bad ``call_id``.
            PearlAuthError, PearlRejectedError (e.g. 404 unknown id), PearlUnavailableError,
            PearlProtocolError: not a JSON object with an integer ``status``.
        """
        path = f"/v1/Call/{path_param('call_id', call_id)}"
        return self._get_object(path)

    def search_call_requests(
        self,
        outbound_id: str,
        from_date: datetime | str,
        to_date: datetime | str,
        *,
        skip: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        """One page of the outbound's call requests created between ``from_date`` and
        ``to_date`` (``POST /v1/Outbound/{outboundId}/CallRequest``).

        Returns Pearl's ``{"count": <total matching>, "results": [...]}``; each result is a
        call request (``id``, ``status``, ``created``, ``callId``, ...; the fake server and,
        per the issue, Pearl also give ``to`` and the ``callData`` sent). Dates are aware
        datetimes or ISO strings with an offset, sent as UTC ``...Z``.

        Raises:
            ValueError: bad ids, dates, ``skip`` or ``limit``; nothing was sent.
            PearlAuthError, PearlNotFoundError (unknown outbound), PearlRejectedError,
            PearlUnavailableError, PearlProtocolError: not ``{count: int, results: list}``.
        """
        path = f"/v1/Outbound/{path_param('outbound_id', outbound_id)}/CallRequest"
        body = _search_body(from_date, to_date, skip, limit)
        return self._search(path, body)

    def iter_call_requests(
        self,
        outbound_id: str,
        from_date: datetime | str,
        to_date: datetime | str,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every call request of :meth:`search_call_requests` for the range, page by page.

        Stops at the first empty or short page, or once ``count`` results were read. Pages
        are read one after the other: if Pearl's order shifts meanwhile an item may come
        twice or be missed, so match by ``id``/``callData`` and treat "not found" as final
        only for a range that no longer changes (older than the reconcile grace period).
        """
        return self._iterate(
            lambda skip: self.search_call_requests(
                outbound_id, from_date, to_date, skip=skip, limit=page_size
            ),
            page_size,
        )

    def search_calls(
        self,
        outbound_id: str,
        from_date: datetime | str,
        to_date: datetime | str,
        *,
        skip: int = 0,
        limit: int = 100,
        statuses: Sequence[int] | None = None,
        tags: Sequence[str] | None = None,
        search_input: str | None = None,
        sort_prop: str | None = None,
        is_ascending: bool | None = None,
    ) -> dict[str, Any]:
        """One page of the outbound's calls between the dates (``POST
        /v1/Outbound/{outboundId}/Calls``).

        Returns ``{"count", "results": [{"id", "startTime", "conversationStatus", "status",
        "from", "to", "duration", "tags"}]}`` (Pearl's short call view: no ``callData``; use
        :meth:`get_call` for the full object). ``statuses`` filters on the conversation
        status codes Pearl lists for this search; ``search_input`` is Pearl's free text.

        Raises: as :meth:`search_call_requests`.
        """
        path = f"/v1/Outbound/{path_param('outbound_id', outbound_id)}/Calls"
        body = _search_body(from_date, to_date, skip, limit)
        if statuses is not None:
            if any(isinstance(v, bool) or not isinstance(v, int) for v in statuses):
                raise ValueError("statuses must be integers")
            body["statuses"] = list(statuses)
        if tags is not None:
            body["tags"] = [str(tag) for tag in tags]
        if search_input is not None:
            body["searchInput"] = str(search_input)
        if sort_prop is not None:
            body["sortProp"] = str(sort_prop)
        if is_ascending is not None:
            body["isAscending"] = bool(is_ascending)
        return self._search(path, body)

    def iter_calls(
        self,
        outbound_id: str,
        from_date: datetime | str,
        to_date: datetime | str,
        page_size: int = 100,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every call of :meth:`search_calls` for the range (``filters`` as its keywords)."""
        return self._iterate(
            lambda skip: self.search_calls(
                outbound_id, from_date, to_date, skip=skip, limit=page_size, **filters
            ),
            page_size,
        )

    def get_account(self, *, refresh: bool = False) -> dict[str, Any]:
        """Pearl's account (``GET /v1/Account``): ``name``, ``totalAgents``, ``creditBalance``,
        ``status`` (:class:`AccountStatus`), ``remainingMinutes``.

        An answer is reused for ``account_cache_seconds`` (60 s by default) unless
        ``refresh``; errors are not cached. Returns a copy.

        Raises:
            PearlAuthError, PearlRejectedError, PearlUnavailableError, PearlProtocolError.
        """
        with self._account_lock:
            cached = self._account
            if (
                not refresh
                and cached is not None
                and self._monotonic() - cached[0] < self._account_cache_seconds
            ):
                return dict(cached[1])
        response = self._request("GET", "/v1/Account", json_body=None, idempotent=True)
        payload = self._json_object(response, "GET", "/v1/Account")
        with self._account_lock:
            self._account = (self._monotonic(), payload)
        return dict(payload)

    def account_info(self, *, refresh: bool = False) -> AccountInfo:
        """:meth:`get_account` parsed into an :class:`AccountInfo` (status, name, credit)."""
        return AccountInfo.from_payload(self.get_account(refresh=refresh))

    def check_account_usable(self, *, refresh: bool = False) -> AccountInfo:
        """Return the account's :class:`AccountInfo` if it can place calls, else raise.

        An unknown status is logged and allowed (a new code is not a reason to stop calling).

        Raises:
            PearlAccountUnusableError: NoCredits (3), SuspendedAccount (4) or DebtReached (5),
                with a one-line message.
            PearlAuthError, PearlRejectedError, PearlUnavailableError, PearlProtocolError: as
                :meth:`get_account`.
        """
        info = self.account_info(refresh=refresh)
        if not info.usable:
            assert info.status is not None
            raise PearlAccountUnusableError(
                f"Pearl account cannot place calls: {info.describe()}",
                account_status=info.status,
                credit_balance=info.credit_balance,
            )
        if info.status_name.startswith("Unknown"):
            logger.warning("Pearl account status not recognised: %s", info.describe())
        return info

    # ---- internals

    def _search(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._request(
            "POST", path, json_body=body, idempotent=True, not_found_is_config=True
        )
        payload = self._json_object(response, "POST", path)
        count, results = payload.get("count"), payload.get("results")
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not isinstance(results, list)
            or not all(isinstance(item, dict) for item in results)
        ):
            raise PearlProtocolError(
                f"Pearl's answer to POST {path} is not {{count: int, results: [objects]}}",
                status_code=response.status_code,
            )
        return payload

    @staticmethod
    def _iterate(
        fetch: Callable[[int], dict[str, Any]], page_size: int
    ) -> Iterator[dict[str, Any]]:
        _check_page(0, page_size)

        def pages() -> Iterator[dict[str, Any]]:
            skip = 0
            while True:
                page = fetch(skip)
                results = page["results"]
                yield from results
                skip += len(results)
                if len(results) < page_size or skip >= page["count"]:
                    return

        return pages()

    def _get_object(self, path: str) -> dict[str, Any]:
        response = self._request("GET", path, json_body=None, idempotent=True)
        payload = self._json_object(response, "GET", path)
        status = payload.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise PearlProtocolError(
                f"Pearl's answer to GET {path} has no integer 'status'",
                status_code=response.status_code,
            )
        return payload


def _check_page(skip: object, limit: object) -> None:
    for name, value, low in (("skip", skip, 0), ("limit", limit, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}")
    assert isinstance(limit, int)
    if limit > MAX_PAGE_SIZE:
        raise ValueError(f"limit must be at most {MAX_PAGE_SIZE}")


def _search_body(
    from_date: datetime | str, to_date: datetime | str, skip: int, limit: int
) -> dict[str, Any]:
    _check_page(skip, limit)
    body: dict[str, Any] = {
        "fromDate": api_datetime("from_date", from_date),
        "toDate": api_datetime("to_date", to_date),
        "skip": skip,
        "limit": limit,
    }
    start, end = (datetime.fromisoformat(body[k][:-1] + "+00:00") for k in ("fromDate", "toDate"))
    if start > end:
        raise ValueError("from_date must not be after to_date")
    return body
