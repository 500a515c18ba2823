"""Configuration: parsing rules (pure) and resolution from the real database."""

from __future__ import annotations

import logging
from datetime import date, time

import pytest

import scheduler_config
from calling_law import CALLING_LAWS, END_OF_DAY, HolidayCalendar
from reprogramar_llamadas_simple import get_retry_config_from_db
from scheduler_config import (
    dead_settings,
    effective_settings,
    parse_bool,
    parse_calling_law,
    parse_config,
    parse_hhmm,
    parse_holidays_country,
    parse_hours_range,
    parse_max_attempts,
    parse_time_slots,
    parse_windows,
    parse_working_days,
    validate_setting,
)
from tests.helpers import set_config


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,2,3,4,5", {1, 2, 3, 4, 5}),
        ("[1, 2, 3, 4, 5]", {1, 2, 3, 4, 5}),
        (" 6 , 7 ", {6, 7}),
        ("[6]", {6}),
        ("0,1", None),
        ("1,8", None),
        ("lunes", None),
        ("", None),
        ("[true]", None),
        ('{"a": 1}', None),
        ("1;2", None),
    ],
)
def test_parse_working_days(raw, expected):
    assert parse_working_days(raw) == (frozenset(expected) if expected else None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10:00", time(10)),
        ("9:30", time(9, 30)),
        ("20:15:30", time(20, 15, 30)),
        ("24:00", None),
        ("10:60", None),
        ("10", None),
        ("ten", None),
        (None, None),
    ],
)
def test_parse_hhmm(raw, expected):
    assert parse_hhmm(raw) == expected


def test_parse_hours_range():
    assert parse_hours_range("10:00-14:00") == (time(10), time(14))
    assert parse_hours_range("14:00-10:00") is None
    assert parse_hours_range("10:00") is None


@pytest.mark.parametrize(
    ("raw", "expected"), [("3", 3), ("3.0", 3), ("2.5", None), ("0", None), ("-1", None)]
)
def test_parse_max_attempts(raw, expected):
    assert parse_max_attempts(raw) == expected


def test_retry_resolution_each_value_on_its_own():
    config = parse_config(
        {"default_delay_hours": "2", "default_max_attempts": "5", "busy_delay_hours": "0.5"}
    )
    assert config.retry_for("busy").as_dict() == {"delay_hours": 0.5, "max_attempts": 5}
    assert config.retry_for("no_answer").as_dict() == {"delay_hours": 2.0, "max_attempts": 5}
    assert parse_config({}).retry_for("busy").as_dict() == {"delay_hours": 4.0, "max_attempts": 3}


@pytest.mark.parametrize("garbage", ["abc", "-2", "0", "nan", "inf", "1e400", "", "  ", "9999999"])
def test_garbage_delay_is_skipped_with_a_warning(garbage, caplog):
    caplog.set_level(logging.WARNING, logger="scheduler_config")
    config = parse_config({"busy_delay_hours": garbage, "default_delay_hours": "6"})
    assert config.retry_for("busy").delay_hours == 6.0
    if garbage.strip():
        assert "busy_delay_hours" in caplog.text


def test_garbage_working_time_falls_back_to_defaults(caplog):
    caplog.set_level(logging.WARNING, logger="scheduler_config")
    config = parse_config(
        {
            "working_hours_start": "25:00",
            "working_hours_end": "banana",
            "working_days": "8,9",
            "timezone": "Nowhere/Land",
            "working_hours_6": "14:00-10:00",
            "holidays": "2026-12-08, 2026-13-01, tomorrow",
            "holidays_country": "XX",
        }
    )
    wt = config.working_time
    assert (wt.start, wt.end, wt.days) == (time(10), time(20), frozenset({1, 2, 3, 4, 5}))
    assert wt.timezone.key == "Europe/Madrid"
    assert wt.day_windows == {}
    assert wt.holidays == frozenset({date(2026, 12, 8)})
    assert wt.holiday_calendar == HolidayCalendar("ES")  # the business zone's country
    for key in ("working_hours_start", "working_days", "timezone", "working_hours_6", "holidays"):
        assert key in caplog.text
    assert len(config.problems) == 7


def test_start_after_end_uses_default_hours():
    wt = parse_config({"working_hours_start": "18:00", "working_hours_end": "09:00"}).working_time
    assert (wt.start, wt.end) == (time(10), time(20))


def test_number_setting_with_bounds(caplog):
    config = parse_config({"call_result_timeout_minutes": "-5", "ok_minutes": "15"})
    assert config.number("call_result_timeout_minutes", 60, minimum=1) == 60
    assert config.number("ok_minutes", 30, minimum=1) == 15
    assert config.number("missing", 30) == 30
    assert "call_result_timeout_minutes" in caplog.text


# --- working time: split shifts, the original's slots, the law, preferences ---------------

W = time  # shorthand in the tables below


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10:00-14:00", ((W(10), W(14)),)),
        ("10:00-14:00,16:00-21:00", ((W(10), W(14)), (W(16), W(21)))),
        (" 10:00 - 14:00 , 16:00-21:00 ", ((W(10), W(14)), (W(16), W(21)))),
        ("22:00-24:00", ((W(22), END_OF_DAY),)),
        ("10:00-14:00,14:00-16:00", ((W(10), W(16)),)),  # touching windows merge
        ("10:00-14:00,13:00-16:00", None),  # overlapping
        ("16:00-21:00,10:00-14:00", None),  # unordered
        ("14:00-10:00", None),
        ("10:00-14:00,", None),
        ("10-14", None),
        ("", None),
        ("25:00-26:00", None),
    ],
)
def test_parse_windows(raw, expected):
    assert parse_windows(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('[{"start": "10:00", "end": "14:00"}, {"start": "16:00", "end": "21:00"}]',
         ((W(10), W(14)), (W(16), W(21)))),
        ('[{"start": "18:00", "end": "21:00"}, {"start": "12:00", "end": "14:00"}]',
         ((W(12), W(14)), (W(18), W(21)))),  # the original accepted any order
        ('[{"start": "22:00", "end": "06:00"}]', ((W(0), W(6)), (W(22), END_OF_DAY))),
        ('[{"start": "22:00", "end": "23:59"}, {"start": "00:00", "end": "06:00"}]',
         ((W(0), W(6)), (W(22), W(23, 59)))),
        ('[{"start": "10:00", "end": "14:00"}, {"start": "12:00", "end": "16:00"}]', None),
        ('[{"start": "10:00"}]', None),
        ('[{"start": "10:00", "end": "10:00"}]', None),
        ('{"start": "10:00", "end": "14:00"}', None),
        ("[]", None),
        ("10:00-14:00", None),
    ],
)  # fmt: skip
def test_parse_original_time_slots(raw, expected):
    assert parse_time_slots(raw) == expected


def test_small_parsers():
    assert [parse_bool(v) for v in ("true", "No", " 1 ", "on", "maybe")] == [
        True, False, True, True, None,
    ]  # fmt: skip
    assert [parse_calling_law(v) for v in ("ES", "es", "off", "None", "FR", "")] == [
        "ES", "ES", "off", "off", None, None,
    ]  # fmt: skip
    assert [parse_holidays_country(v) for v in ("es", "MX", "off", "XX", "E S", "")] == [
        "ES", "MX", "off", None, None, None,
    ]  # fmt: skip


def test_working_hours_precedence_and_per_day_windows():
    wt = parse_config(
        {
            "working_hours": "10:00-14:00,16:00-21:00",
            "working_time_slots": '[{"start": "09:00", "end": "18:00"}]',
            "working_hours_start": "08:00",
            "working_hours_end": "22:00",
            "working_hours_5": "09:00-13:00",
        }
    ).working_time
    assert wt.windows == ((W(10), W(14)), (W(16), W(21)))
    assert wt.day_windows == {5: ((W(9), W(13)),)}
    slots = parse_config(
        {
            "working_time_slots": '[{"start": "12:00", "end": "14:00"}, {"start": "18:00", '
            '"end": "21:00"}]',
            "working_hours_start": "08:00",
        }
    ).working_time
    assert slots.windows == ((W(12), W(14)), (W(18), W(21)))
    legacy = parse_config({"working_hours_start": "09:30", "working_hours_end": "18:00"})
    assert legacy.working_time.windows == ((W(9, 30), W(18)),)


def test_bad_working_hours_fall_back_to_the_next_setting():
    config = parse_config(
        {"working_hours": "16:00-21:00,10:00-14:00", "working_hours_start": "09:00"}, log=False
    )
    assert config.working_time.windows == ((W(9), W(20)),)
    assert any(p.startswith("working_hours=") for p in config.problems)


def test_law_and_holiday_defaults_follow_the_business_zone():
    madrid = parse_config({}).working_time
    assert madrid.calling_law == CALLING_LAWS["ES"] and madrid.law_country == "ES"
    assert madrid.holiday_calendar == HolidayCalendar("ES") and not madrid.law_lunch_break
    canary = parse_config({"timezone": "Atlantic/Canary"}).working_time
    assert canary.calling_law == CALLING_LAWS["ES"]
    mexico = parse_config({"timezone": "America/Mexico_City"}).working_time
    assert mexico.calling_law is None and mexico.holiday_calendar == HolidayCalendar("MX")
    utc_zone = parse_config({"timezone": "Etc/GMT-3"}).working_time
    assert utc_zone.calling_law is None and utc_zone.holiday_calendar is None
    explicit = parse_config(
        {
            "timezone": "America/Mexico_City",
            "calling_law": "es",
            "calling_law_lunch_break": "yes",
            "holidays_country": "ES",
            "holidays_subdivision": "MD",
            "morning_end": "13:00",
            "afternoon_start": "16:30",
        }
    ).working_time
    assert explicit.calling_law == CALLING_LAWS["ES"] and explicit.law_lunch_break
    assert explicit.holiday_calendar == HolidayCalendar("ES-MD")
    assert (explicit.morning_end, explicit.afternoon_start) == (W(13), W(16, 30))
    off = parse_config({"calling_law": "off", "holidays_country": "off"}).working_time
    assert off.calling_law is None and off.holiday_calendar is None
    assert off.law_country == "ES"  # for a law switched on later, still the zone's


def test_garbage_law_keys_fall_back_with_a_problem_each():
    config = parse_config(
        {
            "calling_law": "FR",
            "calling_law_lunch_break": "sometimes",
            "holidays_subdivision": "ZZ",
            "morning_end": "00:00",
            "afternoon_start": "noon",
            "working_time_slots": "[broken",
        },
        log=False,
    )
    wt = config.working_time
    assert wt.calling_law == CALLING_LAWS["ES"] and not wt.law_lunch_break
    assert wt.holiday_calendar == HolidayCalendar("ES")
    assert (wt.morning_end, wt.afternoon_start) == (W(14), W(15))
    keys = sorted(p.split("=")[0] for p in config.problems)
    assert keys == [
        "afternoon_start",
        "calling_law",
        "calling_law_lunch_break",
        "holidays_subdivision",
        "morning_end",
        "working_time_slots",
    ]


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("working_hours", "10:00-14:00,16:00-21:00", None),
        ("working_hours", "10:00-14:00,13:00-15:00", "13:00-15:00 overlaps 10:00-14:00"),
        ("working_hours", "16:00-21:00,10:00-14:00", "out of order"),
        ("working_hours", "10-14", "is not HH:MM-HH:MM"),
        ("working_hours_6", "10:00-14:00", None),
        ("working_hours_6", "10:00-12:00,11:00-13:00", "overlaps"),
        ("working_hours_8", "10:00-14:00", "unknown key"),
        ("working_time_slots", '[{"start": "10:00", "end": "14:00"}]', None),
        ("working_time_slots", "[{", "not JSON"),
        (
            "working_time_slots",
            '[{"start": "10:00", "end": "14:00"}, {"start": "13:00", "end": "15:00"}]',
            "overlaps",
        ),
        ("calling_law", "ES", None),
        ("calling_law", "off", None),
        ("calling_law", "FR", "calling_law must be off or one of ES"),
        ("calling_law_lunch_break", "true", None),
        ("calling_law_lunch_break", "maybe", "invalid calling_law_lunch_break"),
        ("holidays_country", "MX", None),
        ("holidays_country", "off", None),
        ("holidays_country", "XX", "not a country the holidays package knows"),
        ("morning_end", "13:30", None),
        ("morning_end", "00:00", "after 00:00"),
        ("afternoon_start", "25:00", "invalid afternoon_start"),
        ("working_hours_start", "09:00", None),
        ("working_days", "1,2,9", "invalid working_days"),
        ("timezone", "Mars/Base", "invalid timezone"),
    ],
)
def test_validate_working_time_keys(key, value, error):
    result = validate_setting(key, value)
    if error is None:
        assert result is None
    else:
        assert result is not None and error in result and "\n" not in result


def test_dead_settings_are_reported():
    assert dead_settings({}) == []
    lines = dead_settings(
        {
            "working_days": "1,2,3,4,5",
            "working_hours_6": "10:00-14:00",
            "working_hours": "10:00-14:00,16:00-20:00",
            "working_hours_start": "10:00",
            "calling_law": "off",
            "calling_law_lunch_break": "true",
            "holidays_country": "off",
            "holidays_subdivision": "MD",
        }
    )
    assert len(lines) == 4, lines
    assert lines[0].startswith("working_hours_6 is set but day 6 is not in working_days")
    assert "working_hours_start have no effect" in lines[1]
    assert "calling_law_lunch_break" in lines[2] and "holidays_subdivision" in lines[3]
    every_day_own = dead_settings({"working_hours": "10:00-14:00", **{
        f"working_hours_{d}": "10:00-12:00" for d in range(1, 6)}})  # fmt: skip
    assert any("every working day has its own" in line for line in every_day_own)
    no_afternoon = dead_settings({"working_hours": "09:00-13:00"})
    assert no_afternoon == [
        "afternoon_start=15:00 leaves no afternoon working time on any day: "
        "an afternoon preference falls back to the whole day"
    ]


def test_effective_settings_show_windows_and_law():
    values = effective_settings(
        parse_config(
            {
                "working_hours": "10:00-14:00,16:00-24:00",
                "working_hours_6": "10:00-12:00",
                "calling_law_lunch_break": "true",
            }
        )
    )
    assert values["working_hours"] == "10:00-14:00,16:00-24:00"
    assert (values["working_hours_start"], values["working_hours_end"]) == ("10:00", "24:00")
    assert values["working_hours_6"] == "10:00-12:00"
    assert values["calling_law"] == "ES" and values["calling_law_lunch_break"] == "true"
    assert values["holidays_country"] == "ES"
    assert (values["morning_end"], values["afternoon_start"]) == ("14:00", "15:00")
    assert effective_settings(parse_config({"calling_law": "off"}))["calling_law"] == "off"


# --- from the database -----------------------------------------------------------------


def test_defaults_from_schema(clean_db):
    assert get_retry_config_from_db("no_answer") == {"delay_hours": 4.0, "max_attempts": 3}


def test_outcome_keys_then_default_keys_then_hardcoded(clean_db):
    set_config("no_answer_delay_hours", "1.5")
    set_config("default_max_attempts", "7")
    assert get_retry_config_from_db("no_answer") == {"delay_hours": 1.5, "max_attempts": 7}
    assert get_retry_config_from_db("busy") == {"delay_hours": 4.0, "max_attempts": 7}
    set_config("default_delay_hours", None)
    set_config("default_max_attempts", None)
    assert get_retry_config_from_db("busy") == {"delay_hours": 4.0, "max_attempts": 3}
    set_config("busy_max_attempts", "abc")
    set_config("busy_delay_hours", "-3")
    assert get_retry_config_from_db("busy") == {"delay_hours": 4.0, "max_attempts": 3}


def test_seed_example_change_default_delay(clean_db):
    # The seed's "Cambiar delay por defecto a 2 horas".
    set_config("default_delay_hours", "2")
    assert get_retry_config_from_db("hang_up")["delay_hours"] == 2.0


@pytest.mark.parametrize("bad", ["", "No", "busy\n", "a" * 33, "x; DROP TABLE leads", None, 3])
def test_retry_config_rejects_bad_outcome(bad):
    with pytest.raises(ValueError):
        get_retry_config_from_db(bad)


def test_cache_is_used_until_cleared(clean_db, monkeypatch):
    monkeypatch.setenv("SCHEDULER_CONFIG_CACHE_SECONDS", "60")
    scheduler_config.clear_config_cache()
    assert get_retry_config_from_db("busy")["delay_hours"] == 4.0
    from tests.helpers import sql

    sql("UPDATE scheduler_config SET config_value = '9' WHERE config_key = 'default_delay_hours'")
    assert get_retry_config_from_db("busy")["delay_hours"] == 4.0  # still cached
    scheduler_config.clear_config_cache()
    assert get_retry_config_from_db("busy")["delay_hours"] == 9.0


def test_cache_disabled_reads_every_time(clean_db, monkeypatch):
    monkeypatch.setenv("SCHEDULER_CONFIG_CACHE_SECONDS", "0")
    assert get_retry_config_from_db("busy")["delay_hours"] == 4.0
    from tests.helpers import sql

    sql("UPDATE scheduler_config SET config_value = '9' WHERE config_key = 'default_delay_hours'")
    assert get_retry_config_from_db("busy")["delay_hours"] == 9.0


def test_no_lawful_time_at_all_falls_back_to_the_defaults_with_a_problem():
    config = parse_config({"working_days": "6,7", "working_hours": "10:00-14:00"}, log=False)
    wt = config.working_time
    assert wt.days == frozenset({1, 2, 3, 4, 5}) and wt.windows == ((time(10), time(20)),)
    assert [p.split("=")[0] for p in config.problems] == ["working_days/working_hours"]
    assert "leave no time to call" in config.problems[0]
    night = parse_config({"working_hours": "21:00-23:00"}, log=False)
    assert night.working_time.windows == ((time(10), time(20)),) and night.problems
    unlawful_but_off = parse_config({"working_days": "6,7", "calling_law": "off"}, log=False)
    assert unlawful_but_off.working_time.days == frozenset({6, 7})
    assert unlawful_but_off.problems == ()


def test_working_time_report_for_check_config():
    report = scheduler_config.working_time_report(
        {
            "working_days": "1,2,3,4,5,6",
            "working_hours": "08:00-14:00,16:00-22:00",
            "working_hours_7": "10:00-12:00",
        }
    )
    assert report["windows"]["Monday"] == "09:00-14:00,16:00-21:00"
    assert report["windows"]["Saturday"] == "" and report["windows"]["Sunday"] == ""
    warnings = report["warnings"]
    assert warnings[0].startswith("working_hours_7 is set but day 7 is not in working_days")
    assert any(w.startswith("Monday, Tuesday") and "allows only 09:00-21:00" in w for w in warnings)
    assert any(w.startswith("Saturday:") and "allows no calls" in w for w in warnings)
    quiet = scheduler_config.working_time_report({})
    assert quiet == {
        "windows": {
            **{day: "10:00-20:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday",
                                              "Friday")},
            "Saturday": "",
            "Sunday": "",
        },
        "warnings": [],
    }  # fmt: skip


def test_working_time_slots_in_the_originals_named_form():
    from scheduler_config import windows_from_slots

    raw = '{"morning": ["10:00", "14:00"], "afternoon": ["16:00", "20:00"]}'
    assert windows_from_slots(raw) == ((time(10), time(14)), (time(16), time(20)))
    with pytest.raises(ValueError):
        windows_from_slots('{"morning": ["10:00"]}')
