"""HTTP client for Pearl AI (NLPearl): place outbound calls and read their outcome.

Why not the ``nlpearl`` PyPI package: its requests have no timeout, its base URL is fixed
(no local fake server, no proxy), and it has no retry policy, let alone one safe for placing
calls. This small httpx client has explicit timeouts, a configurable URL and safe retries.

Endpoints (Pearl API v1, https://developers.nlpearl.ai):

* ``POST /v1/Outbound/{outboundId}/Call`` -> ``{"id": <request id>, "from", "to", "queuePosition"}``
* ``GET /v1/Outbound/CallRequest/{requestId}`` -> ``{"id", "status", "outboundId", "created",
  "errors", "callId"}`` (status: see :class:`CallRequestStatus`)
* ``GET /v1/Call/{callId}`` -> the call (status: :class:`CallStatus`, conversationStatus:
  :class:`ConversationStatus`, from, to, duration, summary, transcript, collectedInfo, tags...)

Safety rule: the call-placing POST is resent only when Pearl cannot have acted on it (the
connection was never made, or Pearl answered 429/503). When the outcome is unknown the client
raises :class:`PearlTimeoutError` instead, so a person is never dialled twice.
"""

from __future__ import annotations

import email.utils
import enum
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import phonenumbers

from phone import InvalidPhoneError, is_e164, mask_phone, normalize_phone

__all__ = [
    "CallRequestStatus",
    "CallStatus",
    "ConversationStatus",
    "PearlAuthError",
    "PearlClient",
    "PearlConfigError",
    "PearlError",
    "PearlProtocolError",
    "PearlRejectedError",
    "PearlSettings",
    "PearlTimeoutError",
    "PearlUnavailableError",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.nlpearl.ai"
MAX_RETRIES_LIMIT = 10
_MAX_PATH_PARAM_LENGTH = 128
_MAX_CALL_DATA_ITEMS = 100
_MAX_CALL_DATA_KEY_LENGTH = 100
_MAX_CALL_DATA_VALUE_LENGTH = 4000
_MAX_MESSAGE_LENGTH = 300
# Answers to the call-placing POST that prove Pearl did not act on it: safe to resend.
_POST_RETRY_STATUSES = frozenset({429, 503})
# Digit runs that may be phone numbers inside Pearl's messages (masked before use).
_PHONE_LIKE_RE = re.compile(r"\+?\d[\d .()/-]{5,}\d")


class CallRequestStatus(enum.IntEnum):
    """``status`` of a call request (``GET /v1/Outbound/CallRequest/{requestId}``)."""

    IN_CALL_QUEUE = 1
    ON_CALL = 2
    COMPLETED = 10
    BLACKLISTED = 20
    ERROR = 100


class CallStatus(enum.IntEnum):
    """Technical ``status`` of a call (``GET /v1/Call/{callId}``)."""

    IN_PROGRESS = 3
    COMPLETED = 4
    BUSY = 5
    FAILED = 6
    NO_ANSWER = 7
    CANCELED = 8


class ConversationStatus(enum.IntEnum):
    """``conversationStatus`` of a call: the outcome of the conversation.

    Older revisions of Pearl's docs list ``200`` for Error; treat unknown values defensively.
    """

    NEED_RETRY = 10
    IN_CALL_QUEUE = 20
    VOICEMAIL_LEFT = 70
    SUCCESS = 100
    NOT_SUCCESSFUL = 110
    COMPLETED = 130
    UNREACHABLE = 150
    BLACKLISTED = 220
    QUEUE_ABANDON = 300
    ERROR = 500


# --------------------------------------------------------------------------- exceptions


class PearlError(Exception):
    """Base of every error raised by this module.

    Attributes:
        status_code: HTTP status of Pearl's answer, or None when there was no answer.
        pearl_message: Pearl's own message (body ``message``/``title``/``detail`` or an
            excerpt), already stripped of secrets and masked for phone numbers; None if none.
        call_may_be_placed: True when a call-placing request may have reached Pearl and been
            acted on: the caller must not place the same call again without checking.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        pearl_message: str | None = None,
        call_may_be_placed: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.pearl_message = pearl_message
        self.call_may_be_placed = call_may_be_placed


class PearlConfigError(PearlError, ValueError):
    """The settings are unusable (no API key, bad URL or number). Not retryable."""


class PearlAuthError(PearlError):
    """Pearl answered 401/403: the key or its permissions are wrong. Not retryable."""


class PearlRejectedError(PearlError):
    """Pearl refused this request (a 4xx other than 401/403/429, e.g. 400/404/422).

    Resending the same request will fail the same way; for the call-placing POST the call
    was not placed.
    """


class PearlUnavailableError(PearlError):
    """Pearl could not be reached or kept failing (connection refused, 429, 5xx) after retries.

    For the call-placing POST the call was not placed and may be tried again later.

    Attributes:
        retry_after: seconds Pearl last asked to wait (``Retry-After``), if it said so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PearlTimeoutError(PearlError):
    """The call-placing POST may have reached Pearl but its outcome is unknown.

    Raised on a read/write timeout, a connection lost before the answer, or a 500/502/504
    answer to the POST. THE CALL MAY HAVE BEEN PLACED: do not resend it blindly.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("call_may_be_placed", True)
        super().__init__(message, **kwargs)


class PearlProtocolError(PearlError):
    """Pearl answered 2xx (or 1xx/3xx) with something that is not the expected JSON.

    From :meth:`PearlClient.make_call` this means the call was probably placed
    (``call_may_be_placed`` is True).
    """


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, kw_only=True)
class PearlSettings:
    """Connection settings for :class:`PearlClient`.

    ``api_key`` is Pearl's bearer token, ``AccountId:SecretKey`` per Pearl's Authorization
    guide; it is excluded from ``repr`` and never logged.

    Raises:
        PearlConfigError: a value is missing or out of range (also a ``ValueError``).
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    outbound_id: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    default_region: str = "ES"

    def __post_init__(self) -> None:
        if not isinstance(self.api_key, str) or not self.api_key.strip():
            raise PearlConfigError("Pearl API key missing: set PEARL_API_KEY")
        if any(ch.isspace() or not ch.isprintable() for ch in self.api_key):
            raise PearlConfigError("PEARL_API_KEY contains whitespace or control characters")
        if ":" not in self.api_key:
            logger.warning("PEARL_API_KEY does not look like Pearl's 'AccountId:SecretKey' form")
        base_url = str(self.base_url).strip().rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise PearlConfigError("PEARL_API_URL must start with https:// or http://")
        object.__setattr__(self, "base_url", base_url)
        if self.outbound_id is not None and not str(self.outbound_id).strip():
            object.__setattr__(self, "outbound_id", None)
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 < value <= 600:
                raise PearlConfigError(f"{name} must be a number of seconds in (0, 600]")
        for name in ("backoff_seconds", "max_backoff_seconds"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 3600:
                raise PearlConfigError(f"{name} must be a number of seconds in [0, 3600]")
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or not 0 <= self.max_retries <= MAX_RETRIES_LIMIT
        ):
            raise PearlConfigError(f"max_retries must be an integer in [0, {MAX_RETRIES_LIMIT}]")
        region = str(self.default_region).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise PearlConfigError("default_region must be a 2-letter region code such as 'ES'")
        object.__setattr__(self, "default_region", region)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PearlSettings:
        """Build settings from ``PEARL_*`` variables (``os.environ`` by default).

        Reads PEARL_API_KEY (required), PEARL_API_URL, PEARL_OUTBOUND_ID,
        PEARL_CONNECT_TIMEOUT, PEARL_READ_TIMEOUT, PEARL_MAX_RETRIES, PEARL_BACKOFF_SECONDS,
        PEARL_DEFAULT_REGION; empty values count as unset. Does not load any ``.env`` file.

        Raises:
            PearlConfigError: PEARL_API_KEY is missing, or a value is invalid; the message
                names the variable (and never shows the key).
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        api_key = get("PEARL_API_KEY")
        if api_key is None:
            raise PearlConfigError("Pearl API key missing: set PEARL_API_KEY")
        kwargs: dict[str, Any] = {"api_key": api_key}
        if (url := get("PEARL_API_URL")) is not None:
            kwargs["base_url"] = url
        if (outbound_id := get("PEARL_OUTBOUND_ID")) is not None:
            kwargs["outbound_id"] = outbound_id
        if (region := get("PEARL_DEFAULT_REGION")) is not None:
            kwargs["default_region"] = region
        for var, key, parse in (
            ("PEARL_CONNECT_TIMEOUT", "connect_timeout", float),
            ("PEARL_READ_TIMEOUT", "read_timeout", float),
            ("PEARL_MAX_RETRIES", "max_retries", int),
            ("PEARL_BACKOFF_SECONDS", "backoff_seconds", float),
        ):
            raw = get(var)
            if raw is None:
                continue
            try:
                value = parse(raw)
            except ValueError:
                kind = "an integer" if parse is int else "a number"
                raise PearlConfigError(f"{var} must be {kind}, got {raw!r}") from None
            if isinstance(value, float) and not math.isfinite(value):
                raise PearlConfigError(f"{var} must be a finite number, got {raw!r}")
            kwargs[key] = value
        try:
            return cls(**kwargs)
        except PearlConfigError as exc:
            # Re-word field names as the variables the operator actually sets.
            message = str(exc)
            for var, key in (
                ("PEARL_CONNECT_TIMEOUT", "connect_timeout"),
                ("PEARL_READ_TIMEOUT", "read_timeout"),
                ("PEARL_MAX_RETRIES", "max_retries"),
                ("PEARL_BACKOFF_SECONDS", "backoff_seconds"),
                ("PEARL_DEFAULT_REGION", "default_region"),
            ):
                if message.startswith(key + " "):
                    message = var + message[len(key) :]
            raise PearlConfigError(message) from None

    @property
    def timeout(self) -> httpx.Timeout:
        """The ``httpx.Timeout`` used on every request."""
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


# --------------------------------------------------------------------------- client


class PearlClient:
    """Synchronous Pearl API client; one instance reuses one ``httpx.Client``.

    Use as a context manager or call :meth:`close`. An ``http_client`` passed in is used as
    is (its own timeouts are overridden per request) and is not closed by :meth:`close`.
    ``sleep`` is called with the number of seconds to wait between attempts.
    Not safe to share across threads while closing.
    """

    def __init__(
        self,
        settings: PearlSettings,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not isinstance(settings, PearlSettings):
            raise PearlConfigError("settings must be a PearlSettings")
        self._settings = settings
        self._sleep = sleep
        self._owns_http = http_client is None
        self._http = httpx.Client(follow_redirects=False) if http_client is None else http_client
        self._timeout = settings.timeout
        # The whole key first, then its secret half on its own.
        self._secrets = tuple(
            s for s in (settings.api_key, settings.api_key.partition(":")[2]) if len(s) >= 4
        )

    def __repr__(self) -> str:
        return f"PearlClient(base_url={self._settings.base_url!r})"

    def __enter__(self) -> PearlClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def settings(self) -> PearlSettings:
        return self._settings

    def close(self) -> None:
        """Close the underlying HTTP client if this instance created it. Idempotent."""
        if self._owns_http:
            self._http.close()

    # ---- public API

    def make_call(self, outbound_id: str, to: str, call_data: Mapping[str, Any]) -> str:
        """Ask Pearl to call ``to`` from outbound campaign ``outbound_id``; return the request id.

        ``to`` must already be a valid E.164 number (see :func:`phone.normalize_phone`);
        ``call_data`` maps variable names to strings or numbers (Pearl's ``callData``).
        The POST is resent only when Pearl cannot have acted on it.

        Raises:
            ValueError: bad ``outbound_id``, ``to`` (``phone.InvalidPhoneError``) or
                ``call_data``; nothing was sent.
            PearlAuthError: 401/403.
            PearlRejectedError: Pearl refused the call (400/404/422...); not placed.
            PearlUnavailableError: Pearl unreachable, or 429/503 after all retries; not placed.
            PearlTimeoutError: outcome unknown; the call MAY HAVE BEEN PLACED.
            PearlProtocolError: 2xx without a usable ``id``; the call was probably placed.
        """
        path = f"/v1/Outbound/{_path_param('outbound_id', outbound_id)}/Call"
        if not is_e164(to) or _valid_e164(to, self._settings.default_region) != to:
            raise InvalidPhoneError(
                "'to' must be a valid number in E.164 form ('+', country code, digits only), "
                f"got {mask_phone(to)!r}"
            )
        body = {"to": to, "callData": _validated_call_data(call_data)}
        logger.info("Placing Pearl call to %s (outbound %s)", mask_phone(to), outbound_id)
        response = self._request("POST", path, json_body=body, idempotent=False)
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
        path = f"/v1/Outbound/CallRequest/{_path_param('request_id', request_id)}"
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
        path = f"/v1/Call/{_path_param('call_id', call_id)}"
        return self._get_object(path)

    # ---- internals

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

    def _request(
        self, method: str, path: str, *, json_body: Any, idempotent: bool
    ) -> httpx.Response:
        """Send one logical request with retries; return a 2xx response or raise."""
        url = self._settings.base_url + path
        headers = {
            "Authorization": f"Bearer {self._settings.api_key}",
            "Accept": "application/json",
        }
        content: bytes | None = None
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        attempts = self._settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            where = f"{method} {path} (attempt {attempt}/{attempts})"
            logger.debug("Pearl request %s", where)
            try:
                response = self._http.request(
                    method, url, content=content, headers=headers, timeout=self._timeout
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # No connection was made: Pearl cannot have seen the request.
                reason = f"{type(exc).__name__}: {self._clean(str(exc)) or 'no detail'}"
                if last:
                    logger.warning("Pearl unreachable for %s: %s; giving up", where, reason)
                    raise PearlUnavailableError(
                        f"Pearl unreachable for {method} {path} after {attempts} attempt(s): "
                        f"{reason}"
                    ) from None
                delay = self._backoff(attempt)
                logger.warning("Pearl unreachable for %s: %s; retry in %.2fs", where, reason, delay)
                self._sleep(delay)
                continue
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {self._clean(str(exc)) or 'no detail'}"
                maybe_sent = isinstance(
                    exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
                )
                if not maybe_sent:
                    # LocalProtocolError, UnsupportedProtocol, ProxyError: never sent.
                    logger.warning("Pearl request %s failed: %s", where, reason)
                    raise PearlUnavailableError(
                        f"Pearl request {method} {path} could not be sent: {reason}"
                    ) from None
                if not idempotent:
                    logger.error(
                        "Pearl %s: %s; outcome unknown, the call may have been placed; "
                        "not resending",
                        where,
                        reason,
                    )
                    raise PearlTimeoutError(
                        f"No answer from Pearl to {method} {path} ({reason}): "
                        "the call may have been placed"
                    ) from None
                if last:
                    logger.warning("Pearl %s: %s; giving up", where, reason)
                    raise PearlUnavailableError(
                        f"No answer from Pearl to {method} {path} after {attempts} "
                        f"attempt(s): {reason}"
                    ) from None
                delay = self._backoff(attempt)
                logger.warning("Pearl %s: %s; retry in %.2fs", where, reason, delay)
                self._sleep(delay)
                continue

            status = response.status_code
            if 200 <= status < 300:
                logger.debug("Pearl %s -> %d", where, status)
                return response
            pearl_message = self._pearl_message(response)
            detail = f"{status}" + (f": {pearl_message}" if pearl_message else "")
            if status in (401, 403):
                logger.error("Pearl %s -> %s (check PEARL_API_KEY)", where, detail)
                raise PearlAuthError(
                    f"Pearl refused the credentials for {method} {path}: {detail}",
                    status_code=status,
                    pearl_message=pearl_message,
                )
            if status < 200 or 300 <= status < 400:
                logger.error("Pearl %s -> unexpected %s", where, detail)
                raise PearlProtocolError(
                    f"Unexpected answer from Pearl to {method} {path}: {detail}",
                    status_code=status,
                    pearl_message=pearl_message,
                    call_may_be_placed=not idempotent,
                )
            if 400 <= status < 500 and status != 429:
                logger.warning("Pearl %s -> %s (rejected)", where, detail)
                raise PearlRejectedError(
                    f"Pearl rejected {method} {path}: {detail}",
                    status_code=status,
                    pearl_message=pearl_message,
                )
            # 429 or 5xx.
            if not idempotent and status not in _POST_RETRY_STATUSES:
                logger.error(
                    "Pearl %s -> %s; outcome unknown, the call may have been placed; not resending",
                    where,
                    detail,
                )
                raise PearlTimeoutError(
                    f"Pearl answered {detail} to {method} {path}: the call may have been placed",
                    status_code=status,
                    pearl_message=pearl_message,
                )
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if last:
                logger.warning("Pearl %s -> %s; giving up", where, detail)
                raise PearlUnavailableError(
                    f"Pearl kept failing {method} {path} after {attempts} attempt(s): {detail}",
                    status_code=status,
                    pearl_message=pearl_message,
                    retry_after=retry_after,
                )
            if retry_after is not None:
                delay = min(retry_after, self._settings.max_backoff_seconds)
            else:
                delay = self._backoff(attempt)
            logger.warning("Pearl %s -> %s; retry in %.2fs", where, detail, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for the wait after failed attempt ``attempt``."""
        base = min(
            self._settings.max_backoff_seconds,
            self._settings.backoff_seconds * 2 ** (attempt - 1),
        )
        return base / 2 + random.uniform(0, base / 2)

    def _json_object(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        """Decode a 2xx body as a JSON object (whatever its Content-Type) or raise."""
        try:
            payload = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            excerpt = self._clean(response.content[:_MAX_MESSAGE_LENGTH].decode("utf-8", "replace"))
            raise PearlProtocolError(
                f"Pearl answered {response.status_code} to {method} {path} with malformed JSON: "
                f"{excerpt!r}",
                status_code=response.status_code,
                pearl_message=excerpt or None,
            ) from None
        if not isinstance(payload, dict):
            raise PearlProtocolError(
                f"Pearl answered {response.status_code} to {method} {path} with JSON that is "
                f"not an object ({type(payload).__name__})",
                status_code=response.status_code,
            )
        return payload

    def _pearl_message(self, response: httpx.Response) -> str | None:
        """Pearl's message from an error body (ProblemDetails or similar), cleaned."""
        text: str | None = None
        try:
            body = json.loads(response.content) if response.content else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict):
            parts = [
                str(body[k]).strip()
                for k in ("message", "title", "detail")
                if isinstance(body.get(k), str | int | float) and str(body[k]).strip()
            ]
            errors = body.get("errors")
            if isinstance(errors, dict):
                for name, msgs in list(errors.items())[:3]:
                    first = msgs[0] if isinstance(msgs, list) and msgs else msgs
                    parts.append(f"{name}: {first}")
            elif isinstance(errors, list):
                parts.extend(str(e) for e in errors[:3])
            text = " | ".join(dict.fromkeys(parts)) or None
        if text is None and response.content:
            text = response.content[:_MAX_MESSAGE_LENGTH].decode("utf-8", "replace").strip()
        if not text:
            return None
        cleaned = self._clean(text)
        if len(cleaned) > _MAX_MESSAGE_LENGTH:
            cleaned = cleaned[: _MAX_MESSAGE_LENGTH - 3] + "..."
        return cleaned

    def _clean(self, text: str) -> str:
        """Remove the API key and mask phone-like numbers in text from outside."""
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return _PHONE_LIKE_RE.sub(_mask_if_phone, text).strip()


# --------------------------------------------------------------------------- helpers


def _mask_if_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    return mask_phone(text) if sum(ch.isdigit() for ch in text) >= 7 else text


def _valid_e164(to: str, region: str) -> str | None:
    try:
        return normalize_phone(to, region)
    except ValueError:
        return None


def _path_param(name: str, value: object) -> str:
    """Validate an id used in a URL path and return it percent-encoded."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    if not value or value != value.strip():
        raise ValueError(f"{name} must be non-empty, without surrounding whitespace")
    if len(value) > _MAX_PATH_PARAM_LENGTH:
        raise ValueError(f"{name} is too long ({len(value)} > {_MAX_PATH_PARAM_LENGTH})")
    if value in (".", "..") or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{name} contains characters not allowed in an id")
    return quote(value, safe="")


def _validated_call_data(call_data: Mapping[str, Any]) -> dict[str, str | int | float]:
    """Copy ``call_data`` after checking keys are names and values strings or finite numbers."""
    if not isinstance(call_data, Mapping):
        raise ValueError(f"call_data must be a mapping, not {type(call_data).__name__}")
    if len(call_data) > _MAX_CALL_DATA_ITEMS:
        raise ValueError(f"call_data has too many entries ({len(call_data)})")
    result: dict[str, str | int | float] = {}
    for key, value in call_data.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError("call_data keys must be non-empty strings")
        if len(key) > _MAX_CALL_DATA_KEY_LENGTH:
            raise ValueError(f"call_data key {key[:20]!r}... is too long")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(
                f"call_data[{key!r}] must be a string or a number, not {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"call_data[{key!r}] must be a finite number")
        if isinstance(value, str) and len(value) > _MAX_CALL_DATA_VALUE_LENGTH:
            raise ValueError(f"call_data[{key!r}] is too long ({len(value)} characters)")
        result[key] = value
    return result


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
