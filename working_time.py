"""Working-time arithmetic: pure functions, no database.

A `WorkingTime` says which local days are worked, the calling windows of each (several
a day: split shifts), the holidays, the legal envelope (`calling_law.CallingLaw`) and
where a day splits into morning and afternoon. Windows are half-open [start, end) in
local wall-clock time of a zone (the business zone or a lead's own).

DST safety: an instant is working time exactly when its own local wall time, in the
zone, lies inside a window of its own local date — `is_working_instant` checks that
directly, so no instant outside the wall-clock window can count. `next_working_instant`
only returns instants that pass that check, taken from the finite set of places where
working time can begin (a window's start, first and second occurrence, and the zone's
offset transitions); a window lying entirely in a DST gap is simply empty that day, and
a window's exclusive end is never returned.

The effective windows of a date = configured windows ∩ the law's envelope (lead-local
hours, weekdays, public holidays of the lead's country), optionally clipped to the
lead's preferred part of the day (falling back to the whole day when that part has no
working time on any weekday).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calling_law import (
    END_OF_DAY,
    CallingLaw,
    Window,
    country_for_zone,
    law_windows,
)

DEFAULT_TIMEZONE = "Europe/Madrid"
DEFAULT_START = time(10, 0)
DEFAULT_END = time(20, 0)
DEFAULT_DAYS = frozenset({1, 2, 3, 4, 5})
DEFAULT_MORNING_END = time(14, 0)
DEFAULT_AFTERNOON_START = time(15, 0)
PREFERENCES = ("morning", "afternoon")
# How far ahead to look before declaring that there is no working time at all.
SEARCH_DAYS = 2 * 366
# How far after the first candidate day a requested callback time is looked for.
CALLBACK_SEARCH_DAYS = 31


class NoWorkingTimeError(ValueError):
    """No working instant exists within the search horizon (every day off)."""


def format_window(window: Window) -> str:
    """(10:00, 14:00) -> '10:00-14:00' (an END_OF_DAY end is shown as 24:00)."""
    start, end = window
    shown_end = "24:00" if end == END_OF_DAY else _hhmm(end)
    return f"{_hhmm(start)}-{shown_end}"


def format_windows(windows: Iterable[Window]) -> str:
    """Windows as the `working_hours` syntax: '10:00-14:00,16:00-21:00' ('' for none)."""
    return ",".join(format_window(w) for w in windows)


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def check_windows(windows: Iterable[Window], what: str = "windows") -> tuple[Window, ...]:
    """Validate windows: each start before its end, in order, none overlapping. Windows
    that touch (10:00-14:00,14:00-18:00) are merged. Raises ValueError (one line)."""
    result: list[Window] = []
    for window in windows:
        start, end = window
        if not (isinstance(start, time) and isinstance(end, time)) or not start < end:
            raise ValueError(f"{what}: {window!r} must be a (start, end) of times, start first")
        if result and start < result[-1][1]:
            if start < result[-1][0]:
                raise ValueError(f"{what}: {format_window(window)} is out of order")
            raise ValueError(
                f"{what}: {format_window(window)} overlaps {format_window(result[-1])}"
            )
        if result and start == result[-1][1]:
            result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    if not result:
        raise ValueError(f"{what}: at least one window is needed")
    return tuple(result)


def intersect_windows(first: Iterable[Window], second: Iterable[Window]) -> list[Window]:
    """The parts common to two ordered lists of windows, in order."""
    result = []
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                result.append((start, end))
    return sorted(result)


@dataclass(frozen=True)
class WorkingTime:
    """When calls may be placed. Days use ISO numbers: 1 = Monday ... 7 = Sunday.

    `windows` are the general windows of every worked day; `day_windows` replaces them
    on a weekday ({6: ((time(10), time(14)),)}). `calling_law` None means no legal
    envelope. `law_country` is whose public holidays the law uses when a lead's own
    country is unknown (the business country).
    """

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    days: frozenset[int] = DEFAULT_DAYS
    windows: tuple[Window, ...] = ((DEFAULT_START, DEFAULT_END),)
    day_windows: Mapping[int, tuple[Window, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    # A `holidays` package calendar (anything supporting `date in calendar`), or None.
    holiday_calendar: Any = None
    calling_law: CallingLaw | None = None
    law_lunch_break: bool = False
    law_country: str | None = None
    morning_end: time = DEFAULT_MORNING_END
    afternoon_start: time = DEFAULT_AFTERNOON_START

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(1, 8)):
            raise ValueError(f"days must be a non-empty subset of 1..7, got {sorted(self.days)}")
        object.__setattr__(self, "windows", check_windows(self.windows, "working hours"))
        day_windows = {}
        for day, windows in self.day_windows.items():
            if day not in range(1, 8):
                raise ValueError(f"day_windows: day {day!r} is not 1..7")
            day_windows[day] = check_windows(windows, f"working hours of day {day}")
        object.__setattr__(self, "day_windows", day_windows)
        # Which preferred parts of the day have working time on some weekday.
        available = frozenset(
            preference
            for preference in PREFERENCES
            if any(_clip(self._weekday_windows(day), preference, self) for day in sorted(self.days))
        )
        object.__setattr__(self, "_preferences_available", available)
        object.__setattr__(self, "_cache", {})

    @property
    def start(self) -> time:
        """Start of the first general window (for display)."""
        return self.windows[0][0]

    @property
    def end(self) -> time:
        """End of the last general window (for display)."""
        return self.windows[-1][1]

    def windows_for(self, day: date) -> tuple[Window, ...]:
        """The configured windows of that local date's weekday (law and holidays aside)."""
        return self.day_windows.get(day.isoweekday(), self.windows)

    def is_working_day(self, day: date) -> bool:
        """Whether the local date is worked by the business: a working weekday, no holiday
        (the law's own days and holidays are applied by `effective_windows`)."""
        if day.isoweekday() not in self.days or day in self.holidays:
            return False
        return self.holiday_calendar is None or day not in self.holiday_calendar

    def preference_available(self, preference: str) -> bool:
        """Whether that part of the day has working time on some weekday."""
        return preference in self._preferences_available  # type: ignore[attr-defined]

    def _weekday_windows(self, weekday: int) -> list[Window]:
        windows = list(self.day_windows.get(weekday, self.windows))
        if self.calling_law is not None:
            law = self.calling_law
            if weekday not in law.days:
                return []
            # 1 January 2001 was a Monday: date(2001, 1, weekday) is that weekday.
            envelope = law_windows(law, date(2001, 1, weekday), lunch_break=self.law_lunch_break,
                                   country=None)  # fmt: skip
            windows = intersect_windows(windows, envelope)
        return windows


def parse_preference(raw: Any) -> str | None:
    """'morning' / 'afternoon' in any case (a lead's `preferencia_horario`), else None."""
    text = str(raw).strip().lower() if raw is not None else ""
    return text if text in PREFERENCES else None


def _check_preference(preference: str | None) -> str | None:
    if preference is None:
        return None
    normalised = parse_preference(preference)
    if normalised is None:
        raise ValueError(f"preference must be 'morning', 'afternoon' or None, got {preference!r}")
    return normalised


def _clip(windows: Iterable[Window], preference: str | None, wt: WorkingTime) -> list[Window]:
    if preference == "morning":
        return intersect_windows(windows, [(time(0), wt.morning_end)])
    if preference == "afternoon":
        return intersect_windows(windows, [(wt.afternoon_start, END_OF_DAY)])
    return list(windows)


def effective_windows(
    wt: WorkingTime,
    local_date: date,
    country: str | None = None,
    *,
    preference: str | None = None,
) -> list[Window]:
    """The windows really used on a local date: the configured ones on a worked day,
    within the legal envelope for `country` ('ES' or 'ES-MD'; default the business
    country `wt.law_country`), clipped to `preference` when that part of the day has
    working time on some weekday. [] when nothing may be called that day."""
    return list(_effective(wt, local_date, country, _check_preference(preference)))


def _effective(
    wt: WorkingTime, local_date: date, country: str | None, preference: str | None
) -> tuple[Window, ...]:
    """effective_windows for a checked preference, memoised on the WorkingTime (the hot
    path of every dispatch decision; a WorkingTime is immutable, so entries never go stale)."""
    cache: dict = wt._cache  # type: ignore[attr-defined]
    key = (local_date, country, preference)
    found = cache.get(key)
    if found is not None:
        return found
    windows: tuple[Window, ...] = ()
    if wt.is_working_day(local_date):
        windows = wt.windows_for(local_date)
        law = wt.calling_law
        if law is not None:
            envelope = law_windows(
                law, local_date, lunch_break=wt.law_lunch_break, country=country or wt.law_country
            )
            windows = tuple(intersect_windows(windows, envelope))
        if preference is not None and wt.preference_available(preference):
            windows = tuple(_clip(windows, preference, wt))
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = windows
    return windows


_CACHE_SIZE = 4096


def _aware_utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} needs an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


def _lead_country(country: str | None, zone: ZoneInfo, wt: WorkingTime) -> str | None:
    if country:
        return country
    if wt.calling_law is None:
        return None
    return country_for_zone(zone) or wt.law_country


def _is_working(instant: datetime, wt, zone, country, preference) -> bool:
    local = instant.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    return any(
        start <= wall < end for start, end in _effective(wt, local.date(), country, preference)
    )


def is_working_instant(
    moment: datetime,
    working_time: WorkingTime,
    zone: ZoneInfo | None = None,
    *,
    preference: str | None = None,
    country: str | None = None,
) -> bool:
    """Whether an aware instant is working time: its local wall time in `zone` (default
    the business zone) lies in an effective window of its local date.

    `country` is the lead's ('ES', 'ES-MD'; default the zone's country, else the business
    country) for the law's public holidays. Raises ValueError for a naive moment or an
    unknown preference.
    """
    instant = _aware_utc(moment, "is_working_instant")
    zone = zone or working_time.timezone
    preference = _check_preference(preference)
    country = _lead_country(country, zone, working_time)
    return _is_working(instant, working_time, zone, country, preference)


@functools.lru_cache(maxsize=8192)
def _transitions_on(zone: ZoneInfo, day: date) -> tuple[datetime, ...]:
    """UTC instants at which the zone's offset changes between the start of `day` and the
    start of the next day (at most one per half day is found: enough for every zone)."""
    begin = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    if finish <= begin:  # a zone that skipped this whole date
        finish = begin + timedelta(days=1)
    middle = begin + (finish - begin) / 2
    found = []
    for low, high in ((begin, middle), (middle, finish)):
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            found.append(_bisect_transition(zone, low, high))
    return tuple(found)


def _bisect_transition(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant of the new offset, to the second (transitions are whole seconds)."""
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=int((high - low).total_seconds()) // 2)
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _candidates(day: date, wt, zone, country, preference) -> Iterable[datetime]:
    """The instants at which working time may begin around a local date."""
    for start, _ in _effective(wt, day, country, preference):
        for fold in (0, 1):
            yield datetime.combine(day, start, tzinfo=zone).replace(fold=fold).astimezone(UTC)
    yield from _transitions_on(zone, day)


def next_working_instant(
    moment: datetime,
    working_time: WorkingTime,
    zone: ZoneInfo | None = None,
    *,
    preference: str | None = None,
    country: str | None = None,
) -> datetime:
    """Return the first instant at or after `moment` inside working time, in UTC.

    `moment` must be aware. Windows are read as wall time in `zone` (default: the
    working time's own zone); a window's end is exclusive and never returned.
    `preference` ('morning' / 'afternoon') keeps to that part of the day; `country` as
    in `is_working_instant`. Raises ValueError for a naive moment or an unknown
    preference, NoWorkingTimeError when nothing is worked within two years.
    """
    instant = _aware_utc(moment, "next_working_instant")
    zone = zone or working_time.timezone
    preference = _check_preference(preference)
    country = _lead_country(country, zone, working_time)
    args = (working_time, zone, country, preference)
    if _is_working(instant, *args):
        return instant
    first_day = instant.astimezone(zone).date() - timedelta(days=1)
    best: datetime | None = None
    for offset in range(SEARCH_DAYS + 2):
        day = first_day + timedelta(days=offset)
        for candidate in _candidates(day, *args):
            earlier = best is None or candidate < best
            if candidate >= instant and earlier and _is_working(candidate, *args):
                best = candidate
        # A local date can repeat after a fall-back over midnight: look one day further.
        if best is not None and offset > 0 and best.astimezone(zone).date() < day:
            return best
    if best is not None:
        return best
    raise NoWorkingTimeError(f"no working time in the {SEARCH_DAYS} days after {moment}")


def working_until(
    moment: datetime,
    working_time: WorkingTime,
    zone: ZoneInfo | None = None,
    *,
    preference: str | None = None,
    country: str | None = None,
) -> datetime | None:
    """For an instant inside working time, the end (exclusive, UTC) of its stretch: every
    instant from `moment` up to it is working time, so next_working_instant returns it
    unchanged (the importer's spread asks once per stretch, not once per lead). The
    stretch ends at its window's end or the zone's next offset change that day, whichever
    comes first. None when `moment` is not working time. Arguments as in
    `next_working_instant`."""
    instant = _aware_utc(moment, "working_until")
    zone = zone or working_time.timezone
    preference = _check_preference(preference)
    country = _lead_country(country, zone, working_time)
    local = instant.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    for start, end in _effective(working_time, local.date(), country, preference):
        if start <= wall < end:
            until = datetime.combine(local.date(), end, tzinfo=zone).astimezone(UTC)
            changes = [c for c in _transitions_on(zone, local.date()) if c > instant]
            until = min([until, *changes])
            return until if until > instant else None
    return None


def next_callback_instant(
    now: datetime,
    working_time: WorkingTime,
    zone: ZoneInfo | None,
    local_time: time | None,
    local_date: date | None = None,
    *,
    preference: str | None = None,
    country: str | None = None,
) -> datetime | None:
    """When to call back a person who asked for `local_time` (lead-local, in `zone`).

    The requested time on the first day, on or after `local_date` (default today in the
    zone), where it falls inside working time and is not before `now` (today when still
    ahead). An explicit time wins over the lead's stored preference; `preference` is used
    only when `local_time` is None ("call me on Tuesday"): then the first working instant
    on or after that date. Returns an aware UTC datetime, or None when no such day exists
    within CALLBACK_SEARCH_DAYS of the first candidate day (the caller falls back to a
    retry). A time that does not exist that day (a DST gap) skips the day. Raises
    ValueError for a naive `now` or an unknown preference.
    """
    instant = _aware_utc(now, "next_callback_instant")
    zone = zone or working_time.timezone
    preference = _check_preference(preference)
    country = _lead_country(country, zone, working_time)
    today = instant.astimezone(zone).date()
    first_day = max(today, local_date) if local_date is not None else today
    if local_time is None:
        start = max(instant, datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC))
        try:
            found = next_working_instant(
                start, working_time, zone, preference=preference, country=country
            )
        except NoWorkingTimeError:
            return None
        last_day = first_day + timedelta(days=CALLBACK_SEARCH_DAYS)
        return found if found.astimezone(zone).date() <= last_day else None
    wall = local_time.replace(tzinfo=None)
    for offset in range(CALLBACK_SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        for fold in (0, 1):
            local = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold)
            candidate = local.astimezone(UTC)
            shown = candidate.astimezone(zone)
            if shown.date() != day or shown.time() != wall or candidate < instant:
                continue  # not a real wall time that day, or already past
            if _is_working(candidate, working_time, zone, country, None):
                return candidate
    return None


def law_warnings(wt: WorkingTime) -> list[str]:
    """Human-readable lines where the configuration asks for more than the law allows
    (hours outside its window, banned weekdays, its pause); [] without a law."""
    law = wt.calling_law
    if law is None:
        return []
    grouped: dict[str, list[str]] = {}
    for weekday in sorted(wt.days):
        configured = format_windows(wt.day_windows.get(weekday, wt.windows))
        if weekday not in law.days:
            line = f"{configured} is configured, but calling law {law.code} allows no calls"
        else:
            envelope = law_windows(law, date(2001, 1, weekday), lunch_break=wt.law_lunch_break,
                                   country=None)  # fmt: skip
            wanted = wt.day_windows.get(weekday, wt.windows)
            allowed = intersect_windows(wanted, envelope)
            if allowed == list(wanted):
                continue
            line = (
                f"{configured} is configured, but calling law {law.code} allows only "
                f"{format_windows(envelope)}; calls use {format_windows(allowed) or 'no time'}"
            )
        grouped.setdefault(line, []).append(_WEEKDAYS[weekday - 1])
    lines = [f"{', '.join(days)}: {line}" for line, days in grouped.items()]
    if law.public_holidays_off and wt.holiday_calendar is None and not wt.holidays:
        lines.append(
            f"no public-holiday calendar is configured, but calling law {law.code} still "
            "excludes the public holidays of each lead's country"
        )
    return lines


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekly_windows(wt: WorkingTime) -> dict[int, list[Window]]:
    """For check-config: each ISO weekday's windows after the law (holidays aside)."""
    return {day: wt._weekday_windows(day) if day in wt.days else [] for day in range(1, 8)}
