"""Working-time arithmetic: pure functions, no database.

A `WorkingTime` says which local days are worked, the hours of each, and
the holidays. `next_working_instant` moves an instant forward to the first
moment inside working time. Windows are local wall time in a zone (the
business zone or a lead's own); instants are compared in UTC, so the
repeated and the skipped hour of a DST change are handled correctly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Madrid"
DEFAULT_START = time(10, 0)
DEFAULT_END = time(20, 0)
DEFAULT_DAYS = frozenset({1, 2, 3, 4, 5})
# How far ahead to look before declaring that there is no working time at all.
SEARCH_DAYS = 2 * 366


class NoWorkingTimeError(ValueError):
    """No working instant exists within the search horizon (every day off)."""


@dataclass(frozen=True)
class WorkingTime:
    """When calls may be placed. Days use ISO numbers: 1 = Monday ... 7 = Sunday."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    days: frozenset[int] = DEFAULT_DAYS
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    # Per-weekday hours overriding start/end on a worked day: {6: (time(10), time(14))}.
    day_hours: Mapping[int, tuple[time, time]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    # A `holidays` package calendar (anything supporting `date in calendar`), or None.
    holiday_calendar: Any = None

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(1, 8)):
            raise ValueError(f"days must be a non-empty subset of 1..7, got {sorted(self.days)}")
        for day, (start, end) in {0: (self.start, self.end), **self.day_hours}.items():
            if not start < end:
                raise ValueError(f"working hours must start before they end (day {day})")

    def hours_for(self, day: date) -> tuple[time, time]:
        """Start and end of working hours on that local date."""
        return self.day_hours.get(day.isoweekday(), (self.start, self.end))

    def is_working_day(self, day: date) -> bool:
        """Whether the local date is worked: a working weekday and no holiday."""
        if day.isoweekday() not in self.days or day in self.holidays:
            return False
        return self.holiday_calendar is None or day not in self.holiday_calendar


def _window_utc(day: date, hours: tuple[time, time], zone: ZoneInfo) -> tuple[datetime, datetime]:
    start, end = hours
    return (
        datetime.combine(day, start, tzinfo=zone).astimezone(UTC),
        datetime.combine(day, end, tzinfo=zone).astimezone(UTC),
    )


def next_working_instant(
    moment: datetime, working_time: WorkingTime, zone: ZoneInfo | None = None
) -> datetime:
    """Return the first instant at or after `moment` inside working time, in UTC.

    `moment` must be aware. Windows are read as wall time in `zone`
    (default: the working time's own zone); the end of a window is exclusive.
    Raises ValueError for a naive moment, NoWorkingTimeError when no day is
    worked within two years.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("next_working_instant needs an aware datetime")
    zone = zone or working_time.timezone
    instant = moment.astimezone(UTC)
    day = instant.astimezone(zone).date()
    for _ in range(SEARCH_DAYS):
        if working_time.is_working_day(day):
            start, end = _window_utc(day, working_time.hours_for(day), zone)
            if instant < end:
                return max(instant, start)
        day += timedelta(days=1)
    raise NoWorkingTimeError(f"no working time in the {SEARCH_DAYS} days after {moment}")


def is_working_instant(
    moment: datetime, working_time: WorkingTime, zone: ZoneInfo | None = None
) -> bool:
    """Whether an aware instant lies inside working time."""
    try:
        return next_working_instant(moment, working_time, zone) == moment.astimezone(UTC)
    except NoWorkingTimeError:
        return False
