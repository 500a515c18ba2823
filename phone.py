"""Phone-number helpers: E.164 normalisation and masking for logs.

Pure functions, no I/O. Numbers are personal data: nothing here puts a full number in an
exception message; use :func:`mask_phone` whenever a number has to appear in a log line.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["InvalidPhoneError", "is_e164", "mask_phone", "normalize_phone"]

# Longer inputs are not phone numbers; the cap also bounds the work done by the parser.
_MAX_RAW_LENGTH = 64
# Formatting accepted around the digits: whitespace, + - . ( ) /.
_ALLOWED_PUNCTUATION = frozenset("+-.()/")
# E.164: '+', a non-zero country-code digit, at most 15 digits in all.
_E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")


class InvalidPhoneError(ValueError):
    """A phone number that cannot be parsed or is not a valid number.

    The message never contains the number itself, only its masked form.
    """


def mask_phone(raw: object) -> str:
    """Return ``raw`` with every character but the last 3 digits replaced by ``*``.

    Whitespace and the separators ``-.()/`` are dropped first, so
    ``"+34 612 345 678"`` gives ``"*********678"``. ``None`` or an empty value gives ``""``;
    a value with fewer than 4 digits is masked completely. Never raises.
    """
    if raw is None:
        return ""
    text = raw if isinstance(raw, str) else str(raw)
    compact = "".join(ch for ch in text if not ch.isspace() and ch not in "-.()/")
    if not compact:
        return ""
    digits = [ch for ch in compact if ch.isdigit()]
    if len(digits) < 4:
        return "*" * len(compact)
    return "*" * (len(compact) - 3) + "".join(digits[-3:])


def is_e164(value: object) -> bool:
    """True if ``value`` is a string already in E.164 form (``+`` and 2-15 digits).

    Only the shape is checked; :func:`normalize_phone` also checks the number is valid.
    """
    return isinstance(value, str) and _E164_RE.fullmatch(value) is not None


def normalize_phone(raw: str, default_region: str = "ES") -> str:
    """Return ``raw`` as an E.164 string such as ``"+34612345678"``.

    Accepts spaces, dashes, dots, slashes, parentheses, a leading ``+`` or ``00`` international
    prefix; numbers without one are read as national numbers of ``default_region`` (ISO 3166
    alpha-2, e.g. ``"ES"``).

    Raises:
        InvalidPhoneError: ``raw`` is not a string, is empty or too long, contains letters or
            other characters, cannot be parsed, has an extension, or is not a valid number
            according to ``phonenumbers.is_valid_number``.
        ValueError: ``default_region`` is not a region known to ``phonenumbers``.
    """
    region = default_region.upper() if isinstance(default_region, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default_region {default_region!r}")
    if not isinstance(raw, str):
        raise InvalidPhoneError(f"phone number must be a string, not {type(raw).__name__}")
    text = raw.strip()
    masked = mask_phone(text)
    if not text:
        raise InvalidPhoneError("phone number is empty")
    if len(text) > _MAX_RAW_LENGTH:
        raise InvalidPhoneError(f"phone number is too long ({len(text)} characters)")
    if any(not (ch.isdigit() or ch.isspace() or ch in _ALLOWED_PUNCTUATION) for ch in text):
        raise InvalidPhoneError(f"phone number {masked!r} contains characters that are not digits")
    plus = text.find("+")
    if plus != -1 and (text.count("+") > 1 or any(ch.isdigit() for ch in text[:plus])):
        raise InvalidPhoneError(f"phone number {masked!r} has a misplaced '+'")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneError(f"phone number {masked!r} cannot be parsed") from None
    if number.extension:
        raise InvalidPhoneError(f"phone number {masked!r} has an extension")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneError(f"phone number {masked!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_DIGIT_RUN = re.compile(r"\+?\d[\d .\-()]{4,}\d")


def mask_digits(text: object) -> str:
    """Free text (collected from a call, an error) with every number of six or more digits
    masked like a phone: 'llámame al 612 345 678' -> 'llámame al *******678'."""
    value = str(text)

    def hide(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        return mask_phone(digits) if len(digits) >= 6 else match.group()

    return _DIGIT_RUN.sub(hide, value)
