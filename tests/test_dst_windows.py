"""Issue 10 invariant 13: DST-safe windows, for every IANA zone and every transition.

Windows are local wall-clock time. For every zone in zoneinfo.available_timezones() and
every offset transition from 2026-01-01 to 2028-01-01, with windows built around that
transition (one ending inside the skipped or repeated hour, one lying entirely inside
it, and the fixed night windows 01:00-02:30 / 03:30-05:00):

- an instant counts as working time exactly when its own local wall time lies in a
  window (checked on a one-minute grid around the transition);
- next_working_instant returns the first such instant at or after its argument (the
  grid's answer), which is working time itself, so never a window's exclusive end.

Transitions are found by scanning each zone's UTC offset day by day and bisecting to
the second; zones with identical offsets around a transition are checked once (their
results are identical), so the whole run takes seconds.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from working_time import WorkingTime, is_working_instant, next_working_instant

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)
EVERY_DAY = frozenset(range(1, 8))
FIXED_NIGHT = ((time(1), time(2, 30)), (time(3, 30), time(5)))
MINUTE = timedelta(minutes=1)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset()


def transitions(zone: ZoneInfo) -> list[datetime]:
    """UTC instants in [START, END) at which the zone's offset changes."""
    found = []
    day = timedelta(days=1)
    moment, before = START, _offset(zone, START)
    while moment < END:
        after = _offset(zone, moment + day)
        if after != before:
            low, high = moment, moment + day  # bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=int((high - low).total_seconds()) // 2)
                if _offset(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            found.append(high)
        moment, before = moment + day, after
    return found


@functools.cache
def zone_transitions() -> list[tuple[str, datetime]]:
    """(zone, transition) for every zone; zones whose offsets around a transition are the
    same (Europe/Madrid and Europe/Paris) behave identically, so one of them stands for
    all — that keeps the run to seconds."""
    unique: dict[tuple, tuple[str, datetime]] = {}
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        for instant in transitions(zone):
            key = (instant, _offset(zone, instant - timedelta(seconds=1)), _offset(zone, instant))
            unique.setdefault(key, (name, instant))
    return sorted(unique.values(), key=lambda item: (item[1], item[0]))


def _walls(zone: ZoneInfo, instant: datetime) -> tuple[datetime, datetime]:
    """Local wall time just before and at a transition (naive)."""
    before = (instant - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
    after = instant.astimezone(zone).replace(tzinfo=None)
    return before + timedelta(seconds=1), after


def _window(start: datetime, end: datetime) -> tuple[time, time] | None:
    """A same-day window from naive wall datetimes, rounded to minutes; None if it cannot be."""
    start = start.replace(second=0, microsecond=0)
    end = end.replace(second=0, microsecond=0)
    if start.date() != end.date() or not start < end:
        return None
    return start.time(), end.time()


def window_sets(zone: ZoneInfo, instant: datetime) -> list[tuple[tuple[time, time], ...]]:
    """Windows around one transition: ending inside the gap/fold, inside it, fixed night."""
    wall_before, wall_after = _walls(zone, instant)
    low, high = sorted((wall_before, wall_after))  # the skipped or repeated wall times
    candidates = [
        _window(low - timedelta(hours=1), low + (high - low) / 2),  # ends in the gap/fold
        _window(low + (high - low) / 4, high - (high - low) / 4),  # lies inside it
        _window(low + (high - low) / 2, high + timedelta(hours=1)),  # starts in it
    ]
    sets = [(w,) for w in candidates if w is not None]
    return [*sets, FIXED_NIGHT]


def oracle(moment: datetime, zone: ZoneInfo, windows) -> bool:
    """The definition: the instant's own local wall time lies in a window."""
    wall = moment.astimezone(zone).time()
    return any(start <= wall < end for start, end in windows)


def test_transitions_are_found():
    assert transitions(ZoneInfo("Europe/Madrid"))[:2] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    ]
    assert len(transitions(ZoneInfo("Australia/Lord_Howe"))) == 4  # 30-minute changes
    assert transitions(ZoneInfo("Asia/Tokyo")) == []
    names = {name for name, _ in zone_transitions()}
    assert "America/New_York" in names or "America/Detroit" in names
    assert len(zone_transitions()) > 80


def test_every_zone_every_transition_window_is_wall_clock():
    checked = 0
    for name, instant in zone_transitions():
        zone = ZoneInfo(name)
        for windows in window_sets(zone, instant):
            wt = WorkingTime(timezone=zone, days=EVERY_DAY, windows=windows)
            begin = instant.replace(second=0, microsecond=0) - timedelta(hours=3)
            grid = [begin + k * MINUTE for k in range(6 * 60 + 1)]
            if instant not in grid:
                grid = sorted([*grid, instant])
            truth = [oracle(m, zone, windows) for m in grid]
            for moment, expected in zip(grid, truth, strict=True):
                assert is_working_instant(moment, wt) is expected, (name, windows, moment)
            for k in range(0, len(grid), 20):
                result = next_working_instant(grid[k], wt)
                assert result >= grid[k] and oracle(result, zone, windows), (name, windows)
                later = [m for m, ok in zip(grid[k:], truth[k:], strict=True) if ok]
                if later:
                    assert result == later[0], (name, windows, grid[k])
                ends = {end for _, end in windows}
                assert result.astimezone(zone).time() not in ends
                checked += 1
    assert checked > 500


@settings(max_examples=150, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=10**6),
    shift_minutes=st.integers(min_value=-26 * 60, max_value=26 * 60),
    starts=st.lists(st.integers(min_value=0, max_value=24 * 60 - 2), min_size=1, max_size=3),
    lengths=st.lists(st.integers(min_value=1, max_value=300), min_size=3, max_size=3),
)
def test_random_windows_near_random_transitions(index, shift_minutes, starts, lengths):
    name, instant = zone_transitions()[index % len(zone_transitions())]
    zone = ZoneInfo(name)
    windows, last_end = [], -1
    for start, length in zip(sorted(set(starts)), lengths, strict=False):
        if start <= last_end:
            continue
        end = min(start + length, 24 * 60 - 1)
        windows.append((time(start // 60, start % 60), time(end // 60, end % 60)))
        last_end = end
    wt = WorkingTime(timezone=zone, days=EVERY_DAY, windows=tuple(windows))
    moment = instant + timedelta(minutes=shift_minutes)
    assert is_working_instant(moment, wt) is oracle(moment, zone, windows)
    result = next_working_instant(moment, wt)
    assert result >= moment and oracle(result, zone, windows)
    # Nothing earlier on the minute grid (plus the transition itself) is working time.
    probe = moment
    while probe < result:
        assert not oracle(probe, zone, windows), (name, windows, probe)
        probe = (probe + MINUTE).replace(second=0, microsecond=0)
    if moment <= instant < result:
        assert not oracle(instant, zone, windows)


@pytest.mark.parametrize("name", ["Pacific/Apia", "Pacific/Kiritimati"])
def test_a_skipped_calendar_day_is_handled(name):
    # Samoa skipped 30 December 2011 entirely: the search goes on to the next real day.
    zone = ZoneInfo(name)
    wt = WorkingTime(timezone=zone, days=EVERY_DAY, windows=((time(9), time(17)),))
    result = next_working_instant(datetime(2011, 12, 29, 18, 0, tzinfo=zone), wt)
    assert oracle(result, zone, wt.windows)
    assert result.astimezone(zone).time() == time(9)
    assert result.astimezone(zone).date() in {date(2011, 12, 30), date(2011, 12, 31)}
