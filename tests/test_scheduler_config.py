"""Configuration: parsing rules (pure) and resolution from the real database."""

from __future__ import annotations

import logging
from datetime import date, time

import pytest

import scheduler_config
from reprogramar_llamadas_simple import get_retry_config_from_db
from scheduler_config import (
    parse_config,
    parse_hhmm,
    parse_hours_range,
    parse_max_attempts,
    parse_working_days,
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
    assert wt.day_hours == {}
    assert wt.holidays == frozenset({date(2026, 12, 8)})
    assert wt.holiday_calendar is None
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
