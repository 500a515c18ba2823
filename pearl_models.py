"""Pearl AI's status codes and the parsed view of its account, as its API reference lists them.

Sources (developers.nlpearl.ai): Get Call Request (call request ``status``), Get Call and the
Call Webhook (call ``status`` and ``conversationStatus``), Get Account (account ``status``:
"the authorization status for making calls").
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "UNUSABLE_ACCOUNT_STATUSES",
    "AccountInfo",
    "AccountStatus",
    "CallRequestStatus",
    "CallStatus",
    "ConversationStatus",
]


class CallRequestStatus(enum.IntEnum):
    """``status`` of a call request (``GET /v1/Outbound/CallRequest/{requestId}``)."""

    IN_CALL_QUEUE = 1
    ON_CALL = 2
    COMPLETED = 10
    BLACKLISTED = 20
    ERROR = 100


class CallStatus(enum.IntEnum):
    """Technical ``status`` of a call (``GET /v1/Call/{callId}``, the Call Webhook)."""

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


class AccountStatus(enum.IntEnum):
    """``status`` of ``GET /v1/Account``: whether the account may make calls."""

    FULL_ACCESS = 1
    LIMITED_ACCESS = 2
    NO_CREDITS = 3
    SUSPENDED_ACCOUNT = 4
    DEBT_REACHED = 5


# Pearl's own names, as its API reference spells them.
_STATUS_NAMES = {
    AccountStatus.FULL_ACCESS: "FullAccess",
    AccountStatus.LIMITED_ACCESS: "LimitedAccess",
    AccountStatus.NO_CREDITS: "NoCredits",
    AccountStatus.SUSPENDED_ACCOUNT: "SuspendedAccount",
    AccountStatus.DEBT_REACHED: "DebtReached",
}
UNUSABLE_ACCOUNT_STATUSES = frozenset(
    {AccountStatus.NO_CREDITS, AccountStatus.SUSPENDED_ACCOUNT, AccountStatus.DEBT_REACHED}
)


@dataclass(frozen=True)
class AccountInfo:
    """The parts of ``GET /v1/Account`` the dispatcher decides on.

    ``status`` is Pearl's integer (None if absent), ``status_name`` Pearl's name for it
    (``"Unknown(<n>)"`` for a value the docs do not list), ``usable`` False only for
    NoCredits, SuspendedAccount and DebtReached: an unknown or missing status is not a
    reason to stop calling (it is logged by the client). ``credit_balance`` and
    ``remaining_minutes`` are None when Pearl does not send a finite number.
    """

    status: int | None
    status_name: str
    usable: bool
    credit_balance: float | None
    remaining_minutes: float | None
    name: str | None
    total_agents: int | None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AccountInfo:
        """Parse Pearl's account object (camelCase keys; PascalCase accepted too)."""

        def pick(key: str) -> Any:
            if key in payload:
                return payload[key]
            return payload.get(key[:1].upper() + key[1:])

        raw_status = pick("status")
        status = _integer(raw_status)
        if status is None:
            name = "Unknown"
        else:
            try:
                name = _STATUS_NAMES[AccountStatus(status)]
            except ValueError:
                name = f"Unknown({status})"
        agents = pick("totalAgents")
        account_name = pick("name")
        return cls(
            status=status,
            status_name=name,
            usable=status not in UNUSABLE_ACCOUNT_STATUSES,
            credit_balance=_number(pick("creditBalance")),
            remaining_minutes=_number(pick("remainingMinutes")),
            name=account_name if isinstance(account_name, str) else None,
            total_agents=_integer(agents),
        )

    def describe(self) -> str:
        """One line for logs and errors: status name and number, credit balance."""
        parts = [f"{self.status_name} (status {self.status})"]
        if self.credit_balance is not None:
            parts.append(f"credit balance {self.credit_balance:.2f}")
        return ", ".join(parts)


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
