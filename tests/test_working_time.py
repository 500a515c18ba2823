"""Working-time arithmetic, without a database (config passed explicitly)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calling_law import CALLING_LAWS, HolidayCalendar, country_for_lead
from reprogramar_llamadas_simple import calculate_next_working_datetime
from working_time import (
    NoWorkingTimeError,
    WorkingTime,
    effective_windows,
    is_working_instant,
    law_warnings,
    next_callback_instant,
    next_working_instant,
    parse_preference,
    weekly_windows,
    working_until,
)

MADRID = ZoneInfo("Europe/Madrid")
DEFAULT = WorkingTime()  # 10:00-20:00, Monday to Friday, Europe/Madrid
EVERY_DAY = WorkingTime(days=frozenset(range(1, 8)), windows=((time(0, 0), time(23, 59)),))


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
    config = WorkingTime(windows=((time(9, 30), time(18, 45)),))
    assert nxt(datetime(2026, 11, 24, 9, 29), config=config) == datetime(2026, 11, 24, 9, 30)
    assert nxt(datetime(2026, 11, 24, 18, 44), config=config) == datetime(2026, 11, 24, 18, 44)
    assert nxt(datetime(2026, 11, 24, 18, 45), config=config) == datetime(2026, 11, 25, 9, 30)


def test_per_weekday_hours_change_only_worked_days():
    config = WorkingTime(
        days=frozenset({1, 2, 3, 4, 5, 6}),
        day_windows={6: ((time(10), time(14)),), 7: ((time(10), time(14)),)},
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
        WorkingTime(windows=((time(20), time(10)),))
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


# --- split shifts ------------------------------------------------------------------------

SPLIT = WorkingTime(windows=((time(10), time(14)), (time(16), time(21))))


def madrid(*args, **kwargs) -> datetime:
    return datetime(*args, tzinfo=MADRID, **kwargs)


def local(moment: datetime, zone: ZoneInfo = MADRID) -> datetime:
    return moment.astimezone(zone)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (madrid(2026, 11, 24, 9, 0), madrid(2026, 11, 24, 10, 0)),
        (madrid(2026, 11, 24, 13, 59), madrid(2026, 11, 24, 13, 59)),
        (madrid(2026, 11, 24, 14, 0), madrid(2026, 11, 24, 16, 0)),  # lunch break skipped
        (madrid(2026, 11, 24, 15, 30), madrid(2026, 11, 24, 16, 0)),
        (madrid(2026, 11, 24, 21, 0), madrid(2026, 11, 25, 10, 0)),
        (madrid(2026, 11, 27, 21, 0), madrid(2026, 11, 30, 10, 0)),  # Friday -> Monday
    ],
)
def test_split_shift_next_working_instant(start, expected):
    assert next_working_instant(start, SPLIT) == expected
    assert is_working_instant(expected, SPLIT)


def test_split_shift_per_weekday_and_holiday():
    wt = WorkingTime(
        days=frozenset({1, 2, 3, 4, 5, 6}),
        windows=((time(10), time(14)), (time(16), time(21))),
        day_windows={6: ((time(10), time(12)),)},
        holiday_calendar=holidays.country_holidays("ES"),
    )
    # Friday 4 December 2026 after hours -> Saturday morning, only until 12:00.
    assert next_working_instant(madrid(2026, 12, 4, 21, 0), wt) == madrid(2026, 12, 5, 10, 0)
    assert next_working_instant(madrid(2026, 12, 5, 12, 0), wt) == madrid(2026, 12, 7, 10, 0)
    # Monday 7 evening -> Tuesday 8 is the Immaculate Conception -> Wednesday 9.
    assert next_working_instant(madrid(2026, 12, 7, 21, 0), wt) == madrid(2026, 12, 9, 10, 0)
    assert effective_windows(wt, date(2026, 12, 8)) == []
    assert effective_windows(wt, date(2026, 12, 5)) == [(time(10), time(12))]


def test_windows_are_validated():
    for bad in (
        ((time(10), time(14)), (time(13), time(15))),  # overlapping
        ((time(16), time(18)), (time(10), time(12))),  # out of order
        ((time(14), time(10)),),  # ends before it starts
        (),
    ):
        with pytest.raises(ValueError):
            WorkingTime(windows=bad)
    with pytest.raises(ValueError):
        WorkingTime(day_windows={8: ((time(10), time(12)),)})
    touching = WorkingTime(windows=((time(10), time(14)), (time(14), time(18))))
    assert touching.windows == ((time(10), time(18)),)
    assert is_working_instant(madrid(2026, 11, 24, 14, 0), touching)


# --- DST nights (issue 10 symptom 14) -----------------------------------------------------

NIGHT = WorkingTime(
    days=frozenset(range(1, 8)), windows=((time(1), time(2, 30)), (time(3, 30), time(5)))
)


def test_window_ending_in_the_spring_gap_stops_at_the_jump():
    # Madrid, Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST.
    assert is_working_instant(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), NIGHT)  # 01:59 CET
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert not is_working_instant(jump, NIGHT)
    assert not is_working_instant(madrid(2026, 3, 29, 3, 15), NIGHT)  # the reported symptom
    assert next_working_instant(jump, NIGHT) == madrid(2026, 3, 29, 3, 30)


def test_window_entirely_in_the_gap_is_empty_that_day():
    gap_only = WorkingTime(days=frozenset(range(1, 8)), windows=((time(2, 10), time(2, 40)),))
    result = next_working_instant(madrid(2026, 3, 29, 0, 0), gap_only)
    assert local(result) == madrid(2026, 3, 30, 2, 10)  # never the exclusive end 02:40
    for minutes in range(0, 24 * 60, 5):
        moment = datetime(2026, 3, 29, tzinfo=UTC) + timedelta(minutes=minutes)
        if local(moment).date() == date(2026, 3, 29):
            assert not is_working_instant(moment, gap_only), moment


def test_autumn_repeated_hour_is_worked_twice_but_never_beyond_the_window():
    # Madrid, Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET.
    first_0230 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert not is_working_instant(first_0230, NIGHT)  # 02:30 CEST, first pass
    assert not is_working_instant(datetime(2026, 10, 25, 0, 45, tzinfo=UTC), NIGHT)
    second_0200 = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET, second pass
    assert next_working_instant(first_0230, NIGHT) == second_0200
    assert not is_working_instant(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), NIGHT)  # 02:30 CET
    assert next_working_instant(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), NIGHT) == datetime(
        2026, 10, 25, 2, 30, tzinfo=UTC
    )  # 03:30 CET


def test_split_shift_across_a_dst_night_with_a_holiday():
    # Madrid region: Maundy Thursday 2 April 2026 is a holiday; the night windows skip it.
    wt = WorkingTime(
        days=frozenset(range(1, 8)),
        windows=NIGHT.windows,
        holiday_calendar=holidays.country_holidays("ES", subdiv="MD"),
    )
    assert next_working_instant(madrid(2026, 4, 1, 5, 0), wt) == madrid(2026, 4, 4, 1, 0)
    assert next_working_instant(madrid(2026, 3, 29, 2, 30), wt) == madrid(2026, 3, 29, 3, 30)


# --- the legal envelope ------------------------------------------------------------------

GREEDY = WorkingTime(
    days=frozenset(range(1, 8)),
    windows=((time(8), time(22)),),
    calling_law=CALLING_LAWS["ES"],
    law_country="ES",
)


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (madrid(2026, 11, 24, 8, 30), False),  # configured, but before 09:00
        (madrid(2026, 11, 24, 9, 0), True),
        (madrid(2026, 11, 24, 20, 59), True),
        (madrid(2026, 11, 24, 21, 0), False),  # configured until 22:00, law says 21:00
        (madrid(2026, 11, 28, 12, 0), False),  # Saturday
        (madrid(2026, 11, 29, 12, 0), False),  # Sunday
        (madrid(2026, 12, 8, 12, 0), False),  # a national holiday, no business calendar set
    ],
)
def test_law_envelope_is_never_exceeded(moment, working):
    assert is_working_instant(moment, GREEDY) is working


def test_law_envelope_in_arithmetic_and_effective_windows():
    assert next_working_instant(madrid(2026, 11, 24, 21, 0), GREEDY) == madrid(2026, 11, 25, 9, 0)
    assert next_working_instant(madrid(2026, 12, 4, 21, 0), GREEDY) == madrid(2026, 12, 7, 9, 0)
    assert next_working_instant(madrid(2026, 12, 7, 21, 0), GREEDY) == madrid(2026, 12, 9, 9, 0)
    assert effective_windows(GREEDY, date(2026, 11, 24)) == [(time(9), time(21))]
    assert effective_windows(GREEDY, date(2026, 11, 28)) == []
    with_break = dataclasses.replace(GREEDY, law_lunch_break=True)
    assert effective_windows(with_break, date(2026, 11, 24)) == [
        (time(9), time(15)),
        (time(16), time(21)),
    ]
    assert not is_working_instant(madrid(2026, 11, 24, 15, 30), with_break)
    assert next_working_instant(madrid(2026, 11, 24, 15, 0), with_break) == madrid(
        2026, 11, 24, 16, 0
    )


def test_law_uses_the_leads_local_time_and_country():
    mexico = ZoneInfo("America/Mexico_City")
    # Wednesday 16 September 2026 is Mexico's Independence Day, not a Spanish holiday.
    independence = datetime(2026, 9, 16, 12, 0, tzinfo=mexico)
    assert not is_working_instant(independence, GREEDY, mexico)  # zone -> MX
    assert not is_working_instant(independence, GREEDY, mexico, country="MX")
    assert is_working_instant(independence, GREEDY, mexico, country="ES")
    # 08:30 in Mexico is before the law's 09:00 there, whatever the time in Madrid.
    assert not is_working_instant(datetime(2026, 9, 17, 8, 30, tzinfo=mexico), GREEDY, mexico)
    # A regional holiday counts when the subdivision is known.
    maundy = madrid(2026, 4, 2, 12, 0)
    assert not is_working_instant(maundy, GREEDY, country="ES-MD")
    assert is_working_instant(maundy, GREEDY, country="ES-CT")
    assert is_working_instant(maundy, GREEDY)  # national only without a subdivision


def test_law_warnings_name_what_the_law_refuses():
    lines = law_warnings(GREEDY)
    assert any(
        line.startswith("Monday, Tuesday, Wednesday, Thursday, Friday: 08:00-22:00")
        and "allows only 09:00-21:00" in line
        for line in lines
    ), lines
    assert any(line.startswith("Saturday, Sunday: 08:00-22:00") for line in lines), lines
    assert any("public holidays" in line for line in lines)
    lawful = WorkingTime(calling_law=CALLING_LAWS["ES"], holiday_calendar=HolidayCalendar("ES"))
    assert law_warnings(lawful) == []
    assert law_warnings(WorkingTime(days=frozenset(range(1, 8)))) == []  # no law, no warning
    assert weekly_windows(GREEDY)[6] == [] and weekly_windows(GREEDY)[1] == [(time(9), time(21))]


# --- preferences -------------------------------------------------------------------------


def test_morning_and_afternoon_preferences():
    base = madrid(2026, 11, 24, 15, 0)  # Tuesday
    assert next_working_instant(base, DEFAULT, preference="morning") == madrid(2026, 11, 25, 10)
    assert next_working_instant(base, DEFAULT, preference="afternoon") == base
    assert next_working_instant(madrid(2026, 11, 24, 10), DEFAULT, preference="AFTERNOON") == (
        madrid(2026, 11, 24, 15)
    )
    assert not is_working_instant(madrid(2026, 11, 24, 14, 0), DEFAULT, preference="morning")
    assert not is_working_instant(madrid(2026, 11, 24, 14, 30), DEFAULT, preference="afternoon")
    assert is_working_instant(madrid(2026, 11, 24, 14, 30), DEFAULT)
    custom = dataclasses.replace(DEFAULT, morning_end=time(12), afternoon_start=time(17))
    assert next_working_instant(madrid(2026, 11, 24, 12), custom, preference="morning") == (
        madrid(2026, 11, 25, 10)
    )
    with pytest.raises(ValueError):
        is_working_instant(base, DEFAULT, preference="evening")
    assert parse_preference(" Morning ") == "morning" and parse_preference("tarde") is None


def test_preference_falls_back_to_the_whole_day_only_when_no_day_has_that_part():
    mornings_only = WorkingTime(windows=((time(9), time(13)),))
    base = madrid(2026, 11, 24, 11, 0)
    assert next_working_instant(base, mornings_only, preference="afternoon") == base
    assert not mornings_only.preference_available("afternoon")
    # One afternoon a week: the preference waits for it instead of falling back.
    friday_afternoon = WorkingTime(
        windows=((time(9), time(13)),), day_windows={5: ((time(9), time(18)),)}
    )
    assert next_working_instant(base, friday_afternoon, preference="afternoon") == madrid(
        2026, 11, 27, 15, 0
    )


# --- callbacks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "asked", "on", "expected"),
    [
        (madrid(2026, 11, 24, 11, 0), time(17, 30), None, madrid(2026, 11, 24, 17, 30)),  # today
        (madrid(2026, 11, 24, 18, 0), time(17, 30), None, madrid(2026, 11, 25, 17, 30)),  # passed
        (madrid(2026, 11, 27, 18, 0), time(17, 30), None, madrid(2026, 11, 30, 17, 30)),  # weekend
        (madrid(2026, 11, 24, 11, 0), time(12, 0), date(2026, 11, 28), madrid(2026, 11, 30, 12)),
        (madrid(2026, 11, 24, 11, 0), time(11, 0), None, madrid(2026, 11, 24, 11, 0)),  # now
        (madrid(2026, 11, 24, 11, 0), time(23, 0), None, None),  # never working time
        (madrid(2026, 11, 24, 11, 0), time(9, 0), None, None),
    ],
)
def test_callback_at_the_requested_time(now, asked, on, expected):
    assert next_callback_instant(now, DEFAULT, None, asked, on) == expected


def test_callback_respects_law_holidays_and_zone():
    # Asked on Monday 7 December for 10:00: Tuesday 8 is a national holiday under the law.
    now = madrid(2026, 12, 7, 12, 0)
    assert next_callback_instant(now, GREEDY, MADRID, time(10)) == madrid(2026, 12, 9, 10)
    # 08:30 is configured but before the law's 09:00: never.
    assert next_callback_instant(now, GREEDY, MADRID, time(8, 30)) is None
    mexico = ZoneInfo("America/Mexico_City")
    # 12:00 in Madrid is 05:00 in Mexico City: 10:00 there is still ahead today.
    asked = next_callback_instant(now, DEFAULT, mexico, time(10))
    assert asked == datetime(2026, 12, 7, 10, 0, tzinfo=mexico)


def test_callback_without_a_time_uses_the_preference():
    now = madrid(2026, 11, 24, 11, 0)
    result = next_callback_instant(now, DEFAULT, None, None, date(2026, 11, 26))
    assert result == madrid(2026, 11, 26, 10, 0)
    result = next_callback_instant(now, DEFAULT, None, None, preference="afternoon")
    assert result == madrid(2026, 11, 24, 15, 0)


def test_callback_at_a_time_inside_a_dst_gap_skips_that_day():
    night = WorkingTime(days=frozenset(range(1, 8)), windows=((time(0), time(6)),))
    now = madrid(2026, 3, 28, 23, 0)
    assert next_callback_instant(now, night, None, time(2, 30)) == madrid(2026, 3, 30, 2, 30)


# --- a lead's country --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "zone", "expected"),
    [
        ("+34612345678", None, "ES"),
        ("+525512345678", "Europe/Madrid", "MX"),  # the phone wins over the zone
        ("612345678", "Europe/Paris", "FR"),  # not E.164: the zone decides
        (None, ZoneInfo("Atlantic/Canary"), "ES"),
        ("+80012345678", "Etc/UTC", None),  # non-geographic number, zone of no country
        (None, None, None),
    ],
)
def test_country_for_lead(phone, zone, expected):
    assert country_for_lead(phone, zone) == expected


# --- a property over random configurations -----------------------------------------------

minutes_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def working_times(draw) -> WorkingTime:
    cuts = sorted(draw(st.sets(minutes_of_day, min_size=2, max_size=6)))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    windows = tuple((time(a // 60, a % 60), time(b // 60, b % 60)) for a, b in pairs)
    law = draw(st.booleans())
    return WorkingTime(
        timezone=ZoneInfo(draw(st.sampled_from(["Europe/Madrid", "America/New_York"]))),
        days=frozenset(draw(st.sets(st.integers(1, 7), min_size=1))),
        windows=windows,
        calling_law=CALLING_LAWS["ES"] if law else None,
        law_lunch_break=draw(st.booleans()),
        law_country="ES",
        holiday_calendar=HolidayCalendar("ES") if draw(st.booleans()) else None,
    )


@settings(max_examples=120, deadline=None)
@given(
    wt=working_times(),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    preference=st.sampled_from([None, "morning", "afternoon"]),
    country=st.sampled_from([None, "ES", "ES-MD", "US"]),
)
def test_next_working_instant_obeys_config_law_and_preference(wt, start, preference, country):
    moment = start.replace(tzinfo=UTC)
    try:
        result = next_working_instant(moment, wt, preference=preference, country=country)
    except NoWorkingTimeError:
        assert not any(weekly_windows(wt).values())
        return
    kwargs = {"preference": preference, "country": country}
    assert result >= moment and is_working_instant(result, wt, **kwargs)
    wall = result.astimezone(wt.timezone)
    assert any(s <= wall.time() < e for s, e in wt.windows)  # the configuration
    assert wall.isoweekday() in wt.days
    if wt.calling_law is not None:  # the law, in the lead's local time and country
        assert wall.isoweekday() <= 5 and time(9) <= wall.time() < time(21)
        assert not (wt.law_lunch_break and time(15) <= wall.time() < time(16))
        lead_country = country or ("ES" if wt.timezone.key == "Europe/Madrid" else "US")
        assert wall.date() not in HolidayCalendar(lead_country)
    if preference == "morning" and wt.preference_available("morning"):
        assert wall.time() < wt.morning_end
    if preference == "afternoon" and wt.preference_available("afternoon"):
        assert wall.time() >= wt.afternoon_start
    # Nothing earlier within six hours (on the minute grid) was working time.
    probe = moment
    while probe < min(result, moment + timedelta(hours=6)):
        assert not is_working_instant(probe, wt, **kwargs), probe
        probe = (probe + timedelta(minutes=1)).replace(second=0, microsecond=0)


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    zone_name=st.sampled_from(["Europe/Madrid", "America/New_York", "Australia/Lord_Howe"]),
    steps=st.lists(st.integers(min_value=0, max_value=12 * 3600), min_size=1, max_size=5),
)
def test_working_until_is_a_stretch_next_working_instant_leaves_alone(start, zone_name, steps):
    """Every instant from a working instant up to working_until is its own next working
    instant (the importer's spread relies on it to skip the per-lead search)."""
    zone = ZoneInfo(zone_name)
    instant = next_working_instant(start.replace(tzinfo=UTC), DEFAULT, zone)
    until = working_until(instant, DEFAULT, zone)
    assert until is not None and until > instant
    assert working_until(until - timedelta(seconds=1), DEFAULT, zone) is not None
    for step in steps:
        moment = instant + timedelta(seconds=step)
        if moment < until:
            assert next_working_instant(moment, DEFAULT, zone) == moment
    off = next_working_instant(start.replace(tzinfo=UTC), DEFAULT, zone) - timedelta(seconds=1)
    if next_working_instant(off, DEFAULT, zone) != off:
        assert working_until(off, DEFAULT, zone) is None
