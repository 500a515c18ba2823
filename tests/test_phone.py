"""Tests for phone.py: E.164 normalisation and masking."""

from __future__ import annotations

import pytest

from phone import InvalidPhoneError, is_e164, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Spanish mobiles, every usual way of writing them.
        ("612345678", "+34612345678"),
        ("612 345 678", "+34612345678"),
        ("612-345-678", "+34612345678"),
        ("612.345.678", "+34612345678"),
        ("61 234 56 78", "+34612345678"),
        ("  612345678\t", "+34612345678"),
        ("+34 612 345 678", "+34612345678"),
        ("+34612345678", "+34612345678"),
        ("0034 612 345 678", "+34612345678"),
        ("0034612345678", "+34612345678"),
        ("(+34) 612-345-678", "+34612345678"),
        ("712 345 678", "+34712345678"),
        # Spanish landlines.
        ("912345678", "+34912345678"),
        ("91 234 56 78", "+34912345678"),
        ("(91) 234 56 78", "+34912345678"),
        ("+34 93 123 45 67", "+34931234567"),
        ("0034 954 123 456", "+34954123456"),
        # Foreign numbers with an international prefix.
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("+49 30 901820", "+4930901820"),
    ],
)
def test_normalize_phone_accepts_common_formats(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_normalize_phone_uses_default_region_for_national_numbers() -> None:
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"
    assert normalize_phone("06 12 34 56 78", default_region="fr") == "+33612345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "hello 612345678",
        "612345678 ext 12",
        "+34 612 345 678;ext=1",
        "1-800-FLOWERS",
        "12345",  # too short
        "+34 12345",
        "6123456789012",  # too long for Spain
        "012345678",  # no Spanish number starts with 0
        "+999 612345678",  # no such country code
        "+34 612 345 678 " + "9" * 60,
        "++34612345678",
        "612#345678",
    ],
)
def test_normalize_phone_rejects_garbage(raw: str) -> None:
    with pytest.raises(InvalidPhoneError):
        normalize_phone(raw)


@pytest.mark.parametrize("raw", [None, 612345678, 34.0, b"612345678", ["612345678"]])
def test_normalize_phone_rejects_non_strings(raw: object) -> None:
    with pytest.raises(InvalidPhoneError, match="must be a string"):
        normalize_phone(raw)  # type: ignore[arg-type]


def test_invalid_phone_error_is_a_value_error_and_hides_the_number() -> None:
    with pytest.raises(ValueError) as info:
        normalize_phone("+34 612 345")
    assert isinstance(info.value, InvalidPhoneError)
    message = str(info.value)
    assert "612" not in message
    assert "345" in message  # the last 3 digits (masked form) are fine


def test_invalid_phone_message_never_contains_the_digits() -> None:
    raw = "+34 699 88 77 6"
    with pytest.raises(InvalidPhoneError) as info:
        normalize_phone(raw)
    assert "69988" not in str(info.value).replace(" ", "")
    assert "699" not in str(info.value)


def test_normalize_phone_rejects_unknown_region() -> None:
    with pytest.raises(ValueError, match="default_region"):
        normalize_phone("612345678", default_region="XX")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34 612 345 678", "*********678"),
        ("+34612345678", "*********678"),
        ("612-345-678", "******678"),
        ("(91) 234.56.78", "******678"),
        ("1234", "*234"),
        ("123", "***"),
        ("12", "**"),
        ("+1", "**"),
        ("abc", "***"),
        ("", ""),
        ("   ", ""),
        (None, ""),
        (612345678, "******678"),
    ],
)
def test_mask_phone(raw: object, expected: str) -> None:
    assert mask_phone(raw) == expected


def test_is_e164() -> None:
    assert is_e164("+34612345678")
    assert not is_e164("34612345678")
    assert not is_e164("+34 612 345 678")
    assert not is_e164("+0612345678")
    assert not is_e164(None)
    assert not is_e164("+1234567890123456")
