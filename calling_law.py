"""The legal calling window, public holidays and a lead's country: pure tables and look-ups.

A `CallingLaw` is a hard envelope no configuration can exceed: the weekdays and the
lead-local hours in which commercial calls are allowed at all, whether public holidays
are excluded, and an optional pause. `CALLING_LAWS` is the table of known laws keyed by
code; it is the extension point for other countries — add a row with the law's citation
rather than guessing a rule. Only Spain is known today.

Holidays are looked up with the `holidays` package, per (country, subdivision, year),
cached. A country is written `ES` or, with a subdivision, `ES-MD` (ISO 3166-2 style).
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import phonenumbers

logger = logging.getLogger(__name__)

# A calling window: [start, end) in local wall-clock time; END_OF_DAY ends it at midnight.
Window = tuple[time, time]
END_OF_DAY = time.max

LAW_OFF = "off"
SPANISH_ZONES = frozenset({"Europe/Madrid", "Atlantic/Canary", "Africa/Ceuta"})


@dataclass(frozen=True)
class CallingLaw:
    """A legal envelope for commercial calls, read in the lead's local time."""

    code: str
    citation: str
    days: frozenset[int]  # ISO weekdays on which calls are allowed at all
    window: Window  # allowed hours on those days
    public_holidays_off: bool  # no calls on public holidays of the lead's country
    # An optional pause inside the window (enabled by calling_law_lunch_break).
    lunch_break: Window | None = None


# The extension point: one row per country whose law is known. Do not guess a row.
CALLING_LAWS: dict[str, CallingLaw] = {
    "ES": CallingLaw(
        code="ES",
        citation=(
            "Spain, TRLGDCU art. 96.2 (RDL 1/2007, as amended by Ley 4/2022): no commercial "
            "calls before 09:00, after 21:00, on weekends or public holidays; operators' code "
            "of conduct: no calls 15:00-16:00"
        ),
        days=frozenset({1, 2, 3, 4, 5}),
        window=(time(9, 0), time(21, 0)),
        public_holidays_off=True,
        lunch_break=(time(15, 0), time(16, 0)),
    ),
}


def default_law_code(zone: ZoneInfo) -> str:
    """`ES` for a business zone in Spain, else `off` (the `calling_law` default)."""
    return "ES" if zone.key in SPANISH_ZONES else LAW_OFF


def law_windows(law: CallingLaw, day: date, *, lunch_break: bool, country: str | None) -> list:
    """The law's allowed windows on a lead-local date: [] on a banned weekday or holiday."""
    if day.isoweekday() not in law.days:
        return []
    if law.public_holidays_off and country and is_public_holiday(country, day):
        return []
    start, end = law.window
    if lunch_break and law.lunch_break is not None:
        pause_start, pause_end = law.lunch_break
        return [w for w in ((start, pause_start), (pause_end, end)) if w[0] < w[1]]
    return [law.window]


# --- public holidays -----------------------------------------------------------------------


def split_country(country: str) -> tuple[str, str | None]:
    """'ES-MD' -> ('ES', 'MD'); 'ES' -> ('ES', None)."""
    code, _, subdivision = country.strip().partition("-")
    return code.upper(), (subdivision or None)


@functools.lru_cache(maxsize=512)
def _holiday_dates(code: str, subdivision: str | None, year: int) -> frozenset[date]:
    try:
        calendar = holidays_lib.country_holidays(code, subdiv=subdivision, years=year)
    except (NotImplementedError, KeyError, ValueError):
        if subdivision is not None:
            return _holiday_dates(code, None, year)
        logger.warning("no public-holiday calendar for %r; none assumed", code[:10])
        return frozenset()
    return frozenset(calendar)


def is_public_holiday(country: str, day: date) -> bool:
    """Whether `day` is a public holiday in `country` ('ES' or 'ES-MD'); an unknown
    subdivision falls back to the country, an unknown country has no holidays."""
    code, subdivision = split_country(country)
    return day in _holiday_dates(code, subdivision, day.year)


@dataclass(frozen=True)
class HolidayCalendar:
    """A country's public holidays ('ES' or 'ES-MD'): `day in calendar`, cached per year
    and safe to share between threads."""

    country: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and is_public_holiday(self.country, day)


@functools.lru_cache(maxsize=256)
def holiday_calendar_exists(country: str) -> bool:
    """Whether the `holidays` package knows the country (and subdivision, when given)."""
    code, subdivision = split_country(country)
    supported = holidays_lib.list_supported_countries()
    if code not in supported:
        return False
    return subdivision is None or subdivision in supported[code]


# --- a lead's country ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country, from the tz database's zone.tab (the tzdata package)."""
    try:
        text = importlib.resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):  # pragma: no cover
        try:
            with open("/usr/share/zoneinfo/zone.tab", encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            return {}
    countries = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) >= 3:
                countries[fields[2]] = fields[0]
    return countries


def country_for_zone(zone: ZoneInfo | str | None) -> str | None:
    """The ISO country of an IANA zone ('Europe/Madrid' -> 'ES'); None for UTC, Etc/*
    and other zones that belong to no single country."""
    if zone is None:
        return None
    key = zone.key if isinstance(zone, ZoneInfo) else str(zone)
    return _zone_countries().get(key)


def country_for_lead(phone: str | None, zone: ZoneInfo | str | None = None) -> str | None:
    """A lead's ISO country: from its E.164 phone number when it has one that names a
    region, else from its zone; None when neither tells. Never raises."""
    if phone:
        try:
            number = phonenumbers.parse(str(phone), None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None:
            region = phonenumbers.region_code_for_number(number)
            if region and region != "001":  # 001: non-geographic numbers
                return region
    return country_for_zone(zone)
