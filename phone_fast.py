"""A file's phone numbers validated at import speed: E.164 and time zone from one pass.

`phone.normalize_phone` then `lead_rows.zone_from_number` parse every number twice with
phonenumbers' general parser (about 100 us a row, most of an import's CPU time). The rows of
a campaign file are nearly all written the plain way ("612 345 678", "+34 612345678"), and for
those the parser's work comes down to: drop the separators, take the country code, check that
no international or national prefix has to be stripped. :func:`e164_and_zone` does that much
itself, then validates **every** number the way `phonenumbers.is_valid_number` does (the
number type from the region's own patterns: valid means a type other than UNKNOWN) and takes
the zone from that same type (`phonenumbers.timezone.time_zones_for_number`'s rule), so the
result is the same as the slow path's, number by number.

Any input it is not sure about — other punctuation, a leading 0, a prefix the region strips,
a country code shared by several regions, an invalid number — goes to the slow path, which
also gives the error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType
from phonenumbers import timezone as phone_timezones
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from phone import normalize_phone

# Digit groups separated by one space, dot or dash, optionally after a '+': the shapes
# the fast path reads (phonenumbers drops those separators and nothing else happens).
_PLAIN = re.compile(r"\+?[0-9]+(?:[ .\-][0-9]+)*")
_SEPARATORS = str.maketrans("", "", " .-")
# phonenumbers' bounds on a national significant number and on a country code.
_MIN_NSN, _MAX_NSN, _MAX_CC_DIGITS = 2, 17, 3
# Default-region rules need this many digits before a '+': shorter goes to the slow path.
_MIN_AFTER_PLUS = _MIN_NSN + 1


# The number types phonenumbers tries, in its order, after the general description.
_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)

# A number description: its possible lengths (None: any) and its compiled pattern.
_Desc = tuple[frozenset[int] | None, re.Pattern]


@dataclass(frozen=True)
class _Region:
    """What the fast path needs of one region's metadata."""

    country_code: int
    idd: re.Pattern | None  # its international (dialling-out) prefix
    national_prefix: re.Pattern | None  # what phonenumbers strips as a national prefix
    general: _Desc | None
    specials: tuple[tuple[_Desc, int], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool

    def number_type(self, nsn: str) -> int:
        """phonenumbers' _number_type_helper for this region, with the patterns compiled
        once: the same descriptions tried in the same order."""
        if not _matches(nsn, self.general):
            return PhoneNumberType.UNKNOWN
        for desc, kind in self.specials:
            if _matches(nsn, desc):
                return kind
        if _matches(nsn, self.fixed_line):
            if self.same_mobile_and_fixed_line or _matches(nsn, self.mobile):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and _matches(nsn, self.mobile):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


def _matches(nsn: str, desc: _Desc | None) -> bool:
    """phonenumbers' _is_number_matching_desc: length first, then the whole pattern."""
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths is not None and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


def _desc(number_desc) -> _Desc | None:
    """A metadata PhoneNumberDesc compiled; None when it can match nothing."""
    if number_desc is None or not number_desc.national_number_pattern:
        return None
    lengths = frozenset(number_desc.possible_length) if number_desc.possible_length else None
    return lengths, re.compile(number_desc.national_number_pattern)


@cache
def _region_for_code(country_code: int) -> _Region | None:
    """The rules of the one region of `country_code`; None when several regions share it
    (+1, +44, +7...: phonenumbers picks the region per number) or the code is unknown."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions or len(regions) != 1:
        return None
    return _region(regions[0])


@cache
def _region(region: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None:
        return None
    idd = metadata.international_prefix
    national = metadata.national_prefix_for_parsing
    specials = tuple(
        (desc, kind)
        for name, kind in _SPECIAL_TYPES
        if (desc := _desc(getattr(metadata, name))) is not None
    )
    return _Region(
        country_code=metadata.country_code,
        idd=re.compile(idd) if idd else None,
        national_prefix=re.compile(national) if national else None,
        general=_desc(metadata.general_desc),
        specials=specials,
        fixed_line=_desc(metadata.fixed_line),
        mobile=_desc(metadata.mobile),
        same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _national_split(digits: str, plus: bool, region: str) -> tuple[_Region, str] | None:
    """(region rules, national significant number) when phonenumbers.parse would read the
    digits exactly so (no prefix to strip, no leading zero); None when unsure."""
    if plus:
        if len(digits) < _MIN_AFTER_PLUS or digits[0] == "0":
            return None
        for size in range(1, _MAX_CC_DIGITS + 1):
            if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
                code, nsn = int(digits[:size]), digits[size:]
                break
        else:
            return None
        rules = _region_for_code(code)
    else:
        rules = _region(region)
        if rules is None or _region_for_code(rules.country_code) is None:
            return None
        if rules.idd is not None and rules.idd.match(digits):
            return None
        if digits.startswith(str(rules.country_code)):
            return None
        nsn = digits
    if rules is None or not _MIN_NSN <= len(nsn) <= _MAX_NSN or nsn[0] == "0":
        return None
    if rules.national_prefix is not None and rules.national_prefix.match(nsn):
        return None
    return rules, nsn


def _zone(country_code: int, nsn: str, kind: int) -> str | None:
    """time_zones_for_number's zones for a number of known type; one zone or None."""
    if phonenumbers.is_number_type_geographical(kind, country_code):
        number = PhoneNumber(country_code=country_code, national_number=int(nsn))
        zones = phone_timezones.time_zones_for_geographical_number(number)
    else:
        zones = _country_zones(country_code)
    if len(zones) == 1 and zones[0] != phone_timezones.UNKNOWN_TIMEZONE:
        return zones[0]
    return None


@cache
def _country_zones(country_code: int) -> tuple[str, ...]:
    """The zones of a country calling code (a non-geographical number's zones)."""
    number = PhoneNumber(country_code=country_code, national_number=0)
    return tuple(phone_timezones._country_level_time_zones_for_number(number))


def slow_e164_and_zone(raw: str, region: str) -> tuple[str, str | None]:
    """The general path: phone.normalize_phone, then the zone of the parsed number."""
    e164 = normalize_phone(raw, region)
    zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    if len(zones) == 1 and zones[0] != phone_timezones.UNKNOWN_TIMEZONE:
        return e164, zones[0]
    return e164, None


def e164_and_zone(raw: str, region: str) -> tuple[str, str | None]:
    """`raw` (national in `region`, or international) as E.164, and its time zone when the
    number maps to exactly one (else None). Every number is validated.

    Raises phone.InvalidPhoneError like phone.normalize_phone.
    """
    text = raw.strip()
    if _PLAIN.fullmatch(text) is None:
        return slow_e164_and_zone(raw, region)
    plus = text[0] == "+"
    split = _national_split(text[1 if plus else 0 :].translate(_SEPARATORS), plus, region)
    if split is None:
        return slow_e164_and_zone(raw, region)
    rules, nsn = split
    kind = rules.number_type(nsn)
    if kind == PhoneNumberType.UNKNOWN:  # not valid: the slow path words the reason
        return slow_e164_and_zone(raw, region)
    return f"+{rules.country_code}{nsn}", _zone(rules.country_code, nsn, kind)
