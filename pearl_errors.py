"""Exceptions raised by the Pearl AI client (:mod:`pearl_client`) and its settings.

Every exception is a :class:`PearlError` and carries the facts a caller needs to decide what
to do with a call: ``status_code`` (Pearl's HTTP answer, None without one) and
``call_may_be_placed`` (True when a call-placing POST may have reached Pearl: never resend
it blindly, reconcile it). Messages are one line, never contain the API key, and mask phone
numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PearlAccountUnusableError",
    "PearlAuthError",
    "PearlConfigError",
    "PearlError",
    "PearlNotFoundError",
    "PearlProtocolError",
    "PearlRejectedError",
    "PearlTimeoutError",
    "PearlUnavailableError",
]


class PearlError(Exception):
    """Base of every error raised by the Pearl client.

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
    """The settings are unusable (no or placeholder API key, bad URL, placeholder outbound id).

    Raised before any request is sent. Not retryable: an operator must fix the configuration.
    """


class PearlAuthError(PearlError):
    """Pearl answered 401/403: the key or its permissions are wrong. Not retryable."""


class PearlRejectedError(PearlError):
    """Pearl refused this request (a 4xx other than 401/403/429, e.g. 400/404/422).

    Resending the same request will fail the same way; for the call-placing POST the call
    was not placed (``call_may_be_placed`` is False). ``status_code`` says which 4xx.
    """


class PearlNotFoundError(PearlRejectedError):
    """Pearl answered 404 to a request scoped to an outbound campaign (placing a call or
    searching the outbound's call requests or calls): the outbound id is wrong.

    A configuration error, not a refusal of one lead: the caller should stop dialling (the
    dispatcher exits 2). The call was not placed.
    """


class PearlUnavailableError(PearlError):
    """Pearl could not be reached or kept failing (connection refused, 429, 5xx) after retries.

    For the call-placing POST this is raised only when Pearl cannot have acted on it (the
    connection was never made, or every answer was 429): the call was not placed.

    Attributes:
        retry_after: seconds Pearl last asked to wait (``Retry-After``), if it said so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PearlTimeoutError(PearlError):
    """The call-placing POST may have reached Pearl but its outcome is unknown.

    Raised on a read/write timeout, a connection lost after sending, or any 5xx answer to
    the POST. THE CALL MAY HAVE BEEN PLACED (``call_may_be_placed`` is True): reconcile with
    :meth:`pearl_client.PearlClient.iter_call_requests` instead of resending.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("call_may_be_placed", True)
        super().__init__(message, **kwargs)


class PearlProtocolError(PearlError):
    """Pearl answered 2xx (or 1xx/3xx) with something that is not the expected JSON.

    From :meth:`pearl_client.PearlClient.make_call` this means the call was probably placed
    (``call_may_be_placed`` is True).
    """


class PearlAccountUnusableError(PearlError):
    """Pearl's account cannot place calls (``GET /v1/Account`` status NoCredits, Suspended or
    DebtReached). Raised by :meth:`pearl_client.PearlClient.check_account_usable`.

    Attributes:
        account_status: the account's integer status (3, 4 or 5).
        credit_balance: the credit balance Pearl reported, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        account_status: int,
        credit_balance: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.account_status = account_status
        self.credit_balance = credit_balance
