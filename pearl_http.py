"""How the Pearl client talks to Pearl: one ``httpx.Client``, timeouts, retries that never
resend a call Pearl may have placed, and error answers turned into :mod:`pearl_errors`
exceptions with one-line messages free of secrets and phone numbers.

The endpoints themselves are in :mod:`pearl_client` (:class:`pearl_client.PearlClient`).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import httpx

from pearl_errors import (
    PearlAuthError,
    PearlConfigError,
    PearlNotFoundError,
    PearlProtocolError,
    PearlRejectedError,
    PearlTimeoutError,
    PearlUnavailableError,
)
from pearl_requests import parse_retry_after
from pearl_settings import PearlSettings
from phone import mask_phone

__all__ = ["ACCOUNT_CACHE_SECONDS", "PearlTransport"]

# Named for the public module: operators filter and tests capture "pearl_client".
logger = logging.getLogger("pearl_client")

ACCOUNT_CACHE_SECONDS = 60.0
_MAX_MESSAGE_LENGTH = 300
# Answers to the call-placing POST that prove Pearl did not act on it: safe to resend.
# A 5xx (503 included) may come from behind a proxy after Pearl acted: never resent.
_POST_RETRY_STATUSES = frozenset({429})
# Digit runs that may be phone numbers inside Pearl's messages (masked before use).
_PHONE_LIKE_RE = re.compile(r"\+?\d[\d .()/-]{5,}\d")


class PearlTransport:
    """Synchronous Pearl HTTP transport; one instance reuses one ``httpx.Client``.

    Use as a context manager or call :meth:`close`. An ``http_client`` passed in is used as
    is (its own timeouts are overridden per request) and is not closed by :meth:`close`.
    ``sleep`` is called with the number of seconds to wait between attempts; ``monotonic``
    is the clock of the account cache (:meth:`pearl_client.PearlClient.get_account` keeps an
    answer ``account_cache_seconds``, per client). Not safe to share across threads while
    closing.
    """

    def __init__(
        self,
        settings: PearlSettings,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], object] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        account_cache_seconds: float = ACCOUNT_CACHE_SECONDS,
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
        self._monotonic = monotonic
        self._account_cache_seconds = max(0.0, float(account_cache_seconds))
        self._account_lock = threading.Lock()
        self._account: tuple[float, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._settings.base_url!r})"

    def __enter__(self) -> Self:
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

    # ---- sending

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any,
        idempotent: bool,
        not_found_is_config: bool = False,
    ) -> httpx.Response:
        """Send one logical request with retries; return a 2xx response or raise.

        ``idempotent`` False (the call-placing POST): resent only when Pearl cannot have
        acted on it. ``not_found_is_config``: a 404 means the outbound id is wrong and
        raises :class:`PearlNotFoundError`.
        """
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
            if status == 404 and not_found_is_config:
                logger.error("Pearl %s -> %s (check PEARL_OUTBOUND_ID)", where, detail)
                raise PearlNotFoundError(
                    f"Pearl does not know {method} {path} (wrong outbound id?): {detail}",
                    status_code=status,
                    pearl_message=pearl_message,
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
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
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


def _mask_if_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    return mask_phone(text) if sum(ch.isdigit() for ch in text) >= 7 else text
