"""Connection settings for the Pearl AI client, read from ``PEARL_*`` variables and validated.

Everything that would make every call fail, or dial with a placeholder configuration, is
refused here with a one-line :class:`pearl_errors.PearlConfigError` before any request:

* the API key must be Pearl's ``AccountId:SecretKey`` with both parts non-empty, and not a
  placeholder (``AccountId:SecretKey``, ``your-...``, ``changeme``, an ``xxx`` token);
* ``PEARL_ACCOUNT_ID`` + ``PEARL_SECRET_KEY`` (the original system's names) are accepted
  instead of ``PEARL_API_KEY``;
* a trailing ``/v1`` in ``PEARL_API_URL`` (the original's value,
  ``https://api.nlpearl.ai/v1``) is removed: the client adds ``/v1/...`` to every path;
* an outbound id that is a placeholder (``your-outbound-campaign-id``) is refused.

The key never appears in a message, a log line or a ``repr``.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import phonenumbers

from pearl_errors import PearlConfigError

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_RETRIES_LIMIT",
    "PearlSettings",
    "is_placeholder",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.nlpearl.ai"
MAX_RETRIES_LIMIT = 10
_KEY_HELP = "set PEARL_API_KEY=AccountId:SecretKey (or PEARL_ACCOUNT_ID and PEARL_SECRET_KEY)"
# Words only an unedited example file contains.
_PLACEHOLDER_WORDS = ("your-", "your_", "changeme", "change-me", "change_me", "<", ">")
_PLACEHOLDER_EXACT = frozenset(
    {"accountid", "secretkey", "account_id", "secret_key", "account-id", "secret-key",
     "apikey", "api_key", "outboundid", "outbound_id", "placeholder", "todo", "none", "null"}
)  # fmt: skip
# "xxx" as a token of its own (xxx, sk-xxxx, XXXXXXXX), not inside a random secret.
_PLACEHOLDER_XXX = re.compile(r"(?i)(?:^|[-_.:])x{3,}(?:$|[-_.:])")
_VERSION_SUFFIX = re.compile(r"/v1/?$", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    """True when ``value`` looks like an example-file placeholder rather than a real id/key.

    Placeholders: ``AccountId``/``SecretKey``-style names, anything containing ``your-``,
    ``changeme`` or angle brackets, and ``xxx`` as a token of its own.
    """
    text = value.strip().lower()
    if not text or text in _PLACEHOLDER_EXACT:
        return True
    if any(word in text for word in _PLACEHOLDER_WORDS):
        return True
    if "outbound-campaign-id" in text or "outbound_campaign_id" in text:
        return True
    return bool(_PLACEHOLDER_XXX.search(text))


def _check_api_key(api_key: object) -> None:
    """Raise PearlConfigError unless ``api_key`` is a plausible ``AccountId:SecretKey``."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise PearlConfigError(f"Pearl API key missing: {_KEY_HELP}")
    if any(ch.isspace() or not ch.isprintable() for ch in api_key):
        raise PearlConfigError("PEARL_API_KEY contains whitespace or control characters")
    account_id, colon, secret = api_key.partition(":")
    if not colon or not account_id or not secret:
        raise PearlConfigError(
            "PEARL_API_KEY is not in Pearl's 'AccountId:SecretKey' form (both parts needed)"
        )
    if api_key.lower() == "accountid:secretkey" or is_placeholder(account_id):
        raise PearlConfigError(f"PEARL_API_KEY is the example placeholder: {_KEY_HELP}")
    if is_placeholder(secret):
        raise PearlConfigError(f"PEARL_API_KEY is the example placeholder: {_KEY_HELP}")


@dataclass(frozen=True, kw_only=True)
class PearlSettings:
    """Connection settings for :class:`pearl_client.PearlClient`.

    ``api_key`` is Pearl's bearer token, ``AccountId:SecretKey`` per Pearl's Authorization
    guide; it is excluded from ``repr`` and never logged. ``base_url`` is the API's root
    (``https://api.nlpearl.ai``); a trailing ``/v1`` is removed.

    Raises:
        PearlConfigError: a value is missing, a placeholder, or out of range (also a
            ``ValueError``); the message is one line and never shows the key.
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
        _check_api_key(self.api_key)
        base_url = str(self.base_url).strip().rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise PearlConfigError("PEARL_API_URL must start with https:// or http://")
        if _VERSION_SUFFIX.search(base_url):
            # The original system's value: every path would become /v1/v1/... and get 404.
            base_url = _VERSION_SUFFIX.sub("", base_url).rstrip("/")
            logger.info("PEARL_API_URL ends with /v1: using the API root; paths add /v1 itself")
        object.__setattr__(self, "base_url", base_url)
        if self.outbound_id is not None and not str(self.outbound_id).strip():
            object.__setattr__(self, "outbound_id", None)
        if self.outbound_id is not None and is_placeholder(str(self.outbound_id)):
            raise PearlConfigError(
                "PEARL_OUTBOUND_ID is the example placeholder: set your outbound campaign's id"
            )
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

        The key: PEARL_API_KEY, or PEARL_ACCOUNT_ID and PEARL_SECRET_KEY (joined as
        ``id:secret``); when both forms are set they must agree. Also reads PEARL_API_URL,
        PEARL_OUTBOUND_ID, PEARL_CONNECT_TIMEOUT, PEARL_READ_TIMEOUT, PEARL_MAX_RETRIES,
        PEARL_BACKOFF_SECONDS, PEARL_DEFAULT_REGION; empty values count as unset. Does not
        load any ``.env`` file.

        Raises:
            PearlConfigError: the key is missing, malformed or a placeholder, or a value is
                invalid; the message names the variable (and never shows the key).
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        kwargs: dict[str, Any] = {"api_key": _key_from_env(get)}
        if (url := get("PEARL_API_URL")) is not None:
            kwargs["base_url"] = url
        if (outbound_id := get("PEARL_OUTBOUND_ID")) is not None:
            kwargs["outbound_id"] = outbound_id
        if (region := get("PEARL_DEFAULT_REGION")) is not None:
            kwargs["default_region"] = region
        for var, key, parse in _NUMERIC_VARS:
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
            for var, key, _ in (*_NUMERIC_VARS, ("PEARL_DEFAULT_REGION", "default_region", str)):
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


_NUMERIC_VARS: tuple[tuple[str, str, type], ...] = (
    ("PEARL_CONNECT_TIMEOUT", "connect_timeout", float),
    ("PEARL_READ_TIMEOUT", "read_timeout", float),
    ("PEARL_MAX_RETRIES", "max_retries", int),
    ("PEARL_BACKOFF_SECONDS", "backoff_seconds", float),
)


def _key_from_env(get: Any) -> str:
    """The API key from PEARL_API_KEY or PEARL_ACCOUNT_ID + PEARL_SECRET_KEY."""
    api_key = get("PEARL_API_KEY")
    account_id, secret = get("PEARL_ACCOUNT_ID"), get("PEARL_SECRET_KEY")
    if account_id is None and secret is None:
        if api_key is None:
            raise PearlConfigError(f"Pearl API key missing: {_KEY_HELP}")
        return api_key
    if account_id is None or secret is None:
        missing = "PEARL_ACCOUNT_ID" if account_id is None else "PEARL_SECRET_KEY"
        raise PearlConfigError(
            f"{missing} missing: PEARL_ACCOUNT_ID and PEARL_SECRET_KEY go together"
        )
    if ":" in account_id:
        raise PearlConfigError("PEARL_ACCOUNT_ID must not contain ':'")
    joined = f"{account_id}:{secret}"
    if api_key is not None and api_key != joined:
        raise PearlConfigError(
            "PEARL_API_KEY and PEARL_ACCOUNT_ID/PEARL_SECRET_KEY disagree: set only one form"
        )
    return joined


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)
