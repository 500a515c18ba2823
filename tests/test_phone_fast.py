"""phone_fast gives the general path's answer for every number: E.164, zone, or the error."""

from __future__ import annotations

import random

import phonenumbers
import pytest

import phone_fast
from phone import InvalidPhoneError

REGIONS = ("ES", "US", "GB", "FR", "DE", "MX", "IT", "AR", "BR", "PT", "RU", "AU", "IN")
SEPARATORS = ("", "", "", " ", "-", ".", "  ", "/", "(", ")")
COUNTRY_CODES = ("34", "1", "44", "33", "49", "52", "39", "54", "351", "7", "61", "91", "999")


def _answer(function, raw: str, region: str) -> tuple:
    try:
        return function(raw, region)
    except InvalidPhoneError as exc:
        return ("rejected", str(exc))


def _random_inputs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    inputs = []
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 13)))
        if rng.random() < 0.6:
            digits = rng.choice("6789") + digits
        if rng.random() < 0.3:
            digits = rng.choice(("+", "00", "+ ", "")) + rng.choice(COUNTRY_CODES) + digits
        text = "".join(c + (rng.choice(SEPARATORS) if rng.random() < 0.2 else "") for c in digits)
        inputs.append((text, rng.choice(REGIONS)))
    return inputs


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("612 345 678", "ES", ("+34612345678", None)),
        ("+34 922 123 456", "ES", ("+34922123456", "Atlantic/Canary")),
        ("+1 212 555 0100", "ES", ("+12125550100", "America/New_York")),
        ("0034 612 345 678", "ES", ("+34612345678", None)),
        ("020 7946 0958", "GB", ("+442079460958", "Europe/London")),
    ],
)
def test_known_numbers(raw, region, expected):
    assert phone_fast.e164_and_zone(raw, region) == expected


def test_same_answer_as_the_general_path_for_every_input():
    for raw, region in _random_inputs(20_000, seed=13):
        fast = _answer(phone_fast.e164_and_zone, raw, region)
        assert fast == _answer(phone_fast.slow_e164_and_zone, raw, region), (raw, region)


def test_number_type_is_phonenumbers_own_for_every_region():
    rng = random.Random(8)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        rules = phone_fast._region(region)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for _ in range(50):
            nsn = rng.choice("123456789") + "".join(
                rng.choice("0123456789") for _ in range(rng.randint(1, 12))
            )
            number = phonenumbers.PhoneNumber(country_code=metadata.country_code,
                                              national_number=int(nsn))  # fmt: skip
            expected = phonenumbers.number_type(number)
            if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[metadata.country_code]) == 1:
                assert rules.number_type(nsn) == expected, (region, nsn)
