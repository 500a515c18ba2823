"""Working-time arithmetic, without a database (config passed explicitly)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import holidays
import pytest

from reprogramar_llamadas_simple import calculate_next_working_datetime
from working_time import NoWorkingTimeError, WorkingTime, is_working_instant

MADRID = ZoneInfo("Europe/Madrid")
DEFAULT = WorkingTime()  # 10:00-20:00, Monday to Friday, Europe/Madrid
EVERY_DAY = WorkingTime(days=frozenset(range(1, 8)), start=time(0, 0), end=time(23, 59))


def nxt(base: datetime, delay: float = 0, config: WorkingTime = DEFAULT, **kw) -> datetime:
    return calculate_next_working_datetime(base, delay, config=config, **kw)


# 2026-11-23 is a Monday; 2026-11-27 a Friday.
@pytest.mark.parametrize(
    ("base", "delay", "expected"),
    [
        (datetime(2026, 11, 24, 8, 0), 0, datetime(2026, 11, 24, 10, 0)),  # before start
        (datetime(2026, 11, 24, 10, 0), 0, datetime(2026, 11, 24, 10, 0)),  # start exactly
        (datetime(2026, 11, 24, 12, 30), 4, datetime(2026, 11, 24, 16, 30)),  # inside
        (datetime(2026, 11, 24, 19, 59, 59), 0, datetime(2026, 11, 24, 19, 59, 59)),
        (datetime(2026, 11, 24, 20, 0), 0, datetime(2026, 11, 25, 10, 0)),  # end is exclusive
        (datetime(2026, 11, 24, 18, 0), 4, datetime(2026, 11, 25, 10, 0)),  # after end
        (datetime(2026, 11, 24, 9, 0), 0.5, datetime(2026, 11, 24, 10, 0)),  # fractional delay
        (datetime(2026, 11, 24, 11, 0), 0.5, datetime(2026, 11, 24, 11, 30)),
        (datetime(2026, 11, 27, 18, 0), 4, datetime(2026, 11, 30, 10, 0)),  # Friday -> Monday
        (datetime(2026, 11, 28, 12, 0), 0, datetime(2026, 11, 30, 10, 0)),  # Saturday
        (datetime(2026, 11, 29, 23, 0), 0, datetime(2026, 11, 30, 10, 0)),  # Sunday night
        (datetime(2026, 11, 24, 12, 0), 48, datetime(2026, 11, 26, 12, 0)),  # days of delay
    ],
)
def test_default_working_time(base, delay, expected):
    assert nxt(base, delay) == expected


def test_minutes_are_honoured():
    config = WorkingTime(start=time(9, 30), end=time(18, 45))
    assert nxt(datetime(2026, 11, 24, 9, 29), config=config) == datetime(2026, 11, 24, 9, 30)
    assert nxt(datetime(2026, 11, 24, 18, 44), config=config) == datetime(2026, 11, 24, 18, 44)
    assert nxt(datetime(2026, 11, 24, 18, 45), config=config) == datetime(2026, 11, 25, 9, 30)


def test_per_weekday_hours_change_only_worked_days():
    config = WorkingTime(
        days=frozenset({1, 2, 3, 4, 5, 6}),
        day_hours={6: (time(10), time(14)), 7: (time(10), time(14))},
    )
    # Friday evening -> Saturday morning.
    assert nxt(datetime(2026, 11, 27, 19, 0), 2, config) == datetime(2026, 11, 28, 10, 0)
    # Saturday after its own end (14:00), though before the general end -> Monday.
    assert nxt(datetime(2026, 11, 28, 13, 30), 1, config) == datetime(2026, 11, 30, 10, 0)
    # Sunday has hours configured but is not a working day.
    assert nxt(datetime(2026, 11, 29, 11, 0), 0, config) == datetime(2026, 11, 30, 10, 0)


def test_explicit_holiday_is_skipped():
    config = WorkingTime(holidays=frozenset({date(2026, 12, 8)}))
    assert nxt(datetime(2026, 12, 7, 19, 0), 2, config) == datetime(2026, 12, 9, 10, 0)


def test_country_and_subdivision_holidays():
    madrid = WorkingTime(holiday_calendar=holidays.country_holidays("ES", subdiv="MD"))
    spain = WorkingTime(holiday_calendar=holidays.country_holidays("ES"))
    base = datetime(2026, 4, 1, 19, 0)  # Wednesday before Easter
    # Maundy Thursday is a holiday in Madrid only; Good Friday in all of Spain.
    assert nxt(base, 2, madrid) == datetime(2026, 4, 6, 10, 0)
    assert nxt(base, 2, spain) == datetime(2026, 4, 2, 10, 0)
    assert nxt(datetime(2026, 4, 2, 19, 0), 2, spain) == datetime(2026, 4, 6, 10, 0)


def test_dst_spring_delay_is_real_hours():
    # Madrid skips 02:00-03:00 on 2026-03-29: 4 real hours after 23:00 is 04:00 local.
    assert nxt(datetime(2026, 3, 28, 23, 0), 4, EVERY_DAY) == datetime(2026, 3, 29, 4, 0)
    aware = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert nxt(aware, 4, EVERY_DAY) == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_dst_autumn_delay_is_real_hours():
    # Madrid repeats 02:00-03:00 on 2026-10-25: 4 real hours after 23:00 is 02:00 local.
    assert nxt(datetime(2026, 10, 24, 23, 0), 4, EVERY_DAY) == datetime(2026, 10, 25, 2, 0)
    aware = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)
    assert nxt(aware, 4, EVERY_DAY) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def test_dst_window_is_local_wall_time():
    # Friday 18:00 CET + 4 h is night; the next window opens Monday 10:00 CEST = 08:00 UTC.
    aware = datetime(2026, 3, 27, 17, 0, tzinfo=UTC)
    assert nxt(aware, 4) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    # And in autumn Monday 10:00 CET = 09:00 UTC.
    aware = datetime(2026, 10, 23, 16, 0, tzinfo=UTC)
    assert nxt(aware, 4) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_aware_result_keeps_the_base_tzinfo():
    base = datetime(2026, 11, 24, 20, 30, tzinfo=MADRID)
    result = nxt(base, 0)
    assert result.tzinfo is MADRID
    assert result == datetime(2026, 11, 25, 10, 0, tzinfo=MADRID)


def test_lead_time_zone():
    # 21:00 UTC on a Tuesday: 22:00 in Madrid (closed), 15:00 in Mexico City (open).
    base = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    assert nxt(base, 0, timezone="America/Mexico_City") == base
    assert nxt(base, 0) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert nxt(base, 0, timezone=ZoneInfo("Asia/Tokyo")) == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("2026-11-24", 4), {}),
        ((datetime(2026, 11, 24), -1), {}),
        ((datetime(2026, 11, 24), float("nan")), {}),
        ((datetime(2026, 11, 24), float("inf")), {}),
        ((datetime(2026, 11, 24), 1e300), {}),
        ((datetime(2026, 11, 24), True), {}),
        ((datetime(2026, 11, 24), "4"), {}),
        ((datetime(2026, 11, 24), 4), {"timezone": "Mars/Olympus_Mons"}),
        ((datetime(2026, 11, 24), 4), {"timezone": "../../etc/passwd"}),
    ],
)
def test_bad_arguments_raise_value_error(args, kwargs):
    with pytest.raises(ValueError):
        calculate_next_working_datetime(*args, config=DEFAULT, **kwargs)


def test_invalid_working_time_is_refused():
    with pytest.raises(ValueError):
        WorkingTime(start=time(20), end=time(10))
    with pytest.raises(ValueError):
        WorkingTime(days=frozenset())
    with pytest.raises(ValueError):
        WorkingTime(days=frozenset({0, 8}))


def test_no_working_day_at_all_is_an_error():
    every_day_off = WorkingTime(holiday_calendar=_AlwaysHoliday())
    with pytest.raises(NoWorkingTimeError):
        nxt(datetime(2026, 11, 24, 12, 0), 0, every_day_off)


class _AlwaysHoliday:
    def __contains__(self, day: object) -> bool:
        return True


def test_is_working_instant():
    assert is_working_instant(datetime(2026, 11, 24, 11, 0, tzinfo=MADRID), DEFAULT)
    assert not is_working_instant(datetime(2026, 11, 24, 20, 0, tzinfo=MADRID), DEFAULT)
    assert not is_working_instant(datetime(2026, 11, 28, 11, 0, tzinfo=MADRID), DEFAULT)
