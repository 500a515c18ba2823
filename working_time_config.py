"""Working-time settings of `scheduler_config`: parsing, validation, dead combinations.

Pure functions over the configuration rows (key -> text), split out of
scheduler_config.py, which re-exports them. The keys: working_hours,
working_hours_<1-7>, working_time_slots (the original system's JSON form),
working_hours_start / _end, working_days, timezone, holidays, holidays_country,
holidays_subdivision, calling_law, calling_law_lunch_break, morning_end,
afternoon_start. Precedence of the general windows: working_hours, then
working_time_slots, then working_hours_start/end.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import calling_law
from calling_law import END_OF_DAY, Window
from working_time import (
    DEFAULT_AFTERNOON_START,
    DEFAULT_DAYS,
    DEFAULT_END,
    DEFAULT_MORNING_END,
    DEFAULT_START,
    DEFAULT_TIMEZONE,
    WorkingTime,
    check_windows,
    format_window,
    format_windows,
    law_warnings,
    weekly_windows,
)

_HHMM = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


class Problems(Protocol):
    """Where a parse reports an invalid value (scheduler_config's collector)."""

    def add(self, key: str, raw: Any, used: Any) -> None: ...


class _Silent:
    def add(self, key: str, raw: Any, used: Any) -> None:
        pass


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --- parsing single values ---------------------------------------------------------------------


def parse_hhmm(raw: Any) -> time | None:
    """'HH:MM' or 'HH:MM:SS' (24 h) as a time, else None."""
    match = _HHMM.fullmatch(str(raw).strip()) if raw is not None else None
    if not match:
        return None
    hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _parse_end(raw: str) -> time | None:
    """An end of a window: 'HH:MM' or '24:00' (midnight at the end of the day)."""
    return END_OF_DAY if raw.strip() in ("24:00", "24:00:00") else parse_hhmm(raw)


def _range_from_text(text: str) -> Window:
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"{text.strip()[:40]!r} is not HH:MM-HH:MM")
    start, end = parse_hhmm(parts[0]), _parse_end(parts[1])
    if start is None or end is None:
        raise ValueError(f"{text.strip()[:40]!r} is not HH:MM-HH:MM (00:00-24:00)")
    if not start < end:
        raise ValueError(f"{text.strip()!r} must start before it ends")
    return start, end


def parse_hours_range(raw: Any) -> tuple[time, time] | None:
    """'HH:MM-HH:MM' with start before end ('24:00' ends at midnight), else None."""
    try:
        return _range_from_text(str(raw)) if raw is not None else None
    except ValueError:
        return None


def windows_from_text(raw: Any, what: str = "windows") -> tuple[Window, ...]:
    """'10:00-14:00,16:00-21:00' as ordered windows. Raises ValueError (one line) for a
    malformed range, a window that ends before it starts, unordered or overlapping ones."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        raise ValueError(f"{what}: no windows given")
    return check_windows((_range_from_text(part) for part in text.split(",")), what)


def parse_windows(raw: Any) -> tuple[Window, ...] | None:
    """`working_hours` / `working_hours_<1-7>` syntax as windows, else None."""
    try:
        return windows_from_text(raw)
    except ValueError:
        return None


def windows_from_slots(raw: Any) -> tuple[Window, ...]:
    """The original system's `working_time_slots`: a JSON list of {"start": "HH:MM",
    "end": "HH:MM"}, or an object of named [start, end] pairs as its deployments store
    them ({"morning": ["10:00", "14:00"], ...}), in any order. A slot that crosses
    midnight (22:00-06:00) meant, in the original, both ends of the same weekday: it
    becomes 00:00-06:00 and 22:00-24:00.
    Raises ValueError (one line) for bad JSON, a bad slot or overlapping slots."""
    try:
        slots = json.loads(str(raw))
    except ValueError:
        raise ValueError('working_time_slots is not JSON like [{"start": "10:00", "end": '
                         '"14:00"}]') from None  # fmt: skip
    if isinstance(slots, dict) and slots:
        # The original system's deployments store named slots:
        # {"morning": ["10:00", "14:00"], "afternoon": ["16:00", "20:00"]}.
        named = []
        for name, pair in slots.items():
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"slot {_short(name)} must be [HH:MM, HH:MM]")
            named.append({"start": pair[0], "end": pair[1]})
        slots = named
    if not isinstance(slots, list) or not slots:
        raise ValueError("working_time_slots must be a non-empty JSON list of slots")
    windows: list[Window] = []
    for slot in slots:
        if not isinstance(slot, dict) or set(slot) - {"start", "end"} or len(slot) != 2:
            raise ValueError(f"slot {_short(slot)} must be {{'start': HH:MM, 'end': HH:MM}}")
        start, end = parse_hhmm(slot["start"]), _parse_end(str(slot["end"]))
        if start is None or end is None or start == end:
            raise ValueError(f"slot {_short(slot)} needs two different HH:MM times")
        if start < end:
            windows.append((start, end))
        else:
            windows.extend([(time(0), end), (start, END_OF_DAY)] if end != time(0) else
                           [(start, END_OF_DAY)])  # fmt: skip
    return check_windows(sorted(windows), "working_time_slots")


def parse_time_slots(raw: Any) -> tuple[Window, ...] | None:
    """`working_time_slots` JSON as windows, else None."""
    try:
        return windows_from_slots(raw)
    except ValueError:
        return None


def parse_bool(raw: Any) -> bool | None:
    """true/false, yes/no, on/off, 1/0 (any case), else None."""
    text = str(raw).strip().lower() if raw is not None else ""
    return {"true": True, "yes": True, "on": True, "1": True,
            "false": False, "no": False, "off": False, "0": False}.get(text)  # fmt: skip


def parse_calling_law(raw: Any) -> str | None:
    """A code of calling_law.CALLING_LAWS ('ES') or 'off' (also 'none'), else None."""
    text = str(raw).strip() if raw is not None else ""
    if text.lower() in ("off", "none", "false", "no"):
        return calling_law.LAW_OFF
    return text.upper() if text.upper() in calling_law.CALLING_LAWS else None


def parse_holidays_country(raw: Any) -> str | None:
    """A country the `holidays` package knows ('ES'), or 'off' (also 'none'), else None."""
    text = str(raw).strip() if raw is not None else ""
    if text.lower() in ("off", "none"):
        return "off"
    if not re.fullmatch(r"[A-Za-z]{2,3}", text) or not calling_law.holiday_calendar_exists(text):
        return None
    return text.upper()


def parse_working_days(raw: Any) -> frozenset[int] | None:
    """'1,2,3,4,5' or '[1, 2, 3, 4, 5]' (1 = Monday) as a set, else None."""
    text = str(raw).strip() if raw is not None else ""
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            return None
        if not isinstance(items, list):
            return None
    else:
        items = [part.strip() for part in text.split(",")]
    days = set()
    for item in items:
        if isinstance(item, bool):
            return None
        try:
            day = int(item)
        except (TypeError, ValueError):
            return None
        if not 1 <= day <= 7 or str(item).strip() not in {str(day), str(day) + ".0"}:
            return None
        days.add(day)
    return frozenset(days) or None


def parse_timezone(raw: Any) -> ZoneInfo | None:
    """An IANA zone name as a ZoneInfo, else None."""
    name = str(raw).strip() if raw is not None else ""
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_holiday_dates(raw: Any) -> tuple[frozenset[date], list[str]]:
    """Comma-separated YYYY-MM-DD dates: the valid ones, and the entries that are not."""
    dates, bad = set(), []
    for part in str(raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            dates.add(date.fromisoformat(part))
        except ValueError:
            bad.append(part)
    return frozenset(dates), bad


# --- building WorkingTime from the rows ------------------------------------------------------


def _present(raw: Mapping[str, str | None], key: str) -> bool:
    value = raw.get(key)
    return value is not None and bool(str(value).strip())


def _business_country(raw: Mapping[str, str | None], zone: ZoneInfo) -> str | None:
    """holidays_country when set ('off' -> None), else the business zone's country."""
    value = parse_holidays_country(raw.get("holidays_country"))
    if _present(raw, "holidays_country") and value is not None:
        return None if value == "off" else value
    return calling_law.country_for_zone(zone)


def _holiday_calendar(
    raw: Mapping[str, str | None], zone: ZoneInfo, problems: Problems
) -> calling_law.HolidayCalendar | None:
    if (
        _present(raw, "holidays_country")
        and parse_holidays_country(raw["holidays_country"]) is None
    ):
        problems.add("holidays_country", raw["holidays_country"], "the business zone's country")
    country = _business_country(raw, zone)
    if country is None:
        return None
    subdivision = (raw.get("holidays_subdivision") or "").strip()
    if subdivision:
        if calling_law.holiday_calendar_exists(f"{country}-{subdivision}"):
            return calling_law.HolidayCalendar(f"{country}-{subdivision}")
        problems.add("holidays_subdivision", subdivision, f"the national holidays of {country}")
    return calling_law.HolidayCalendar(country)


def _general_windows(raw: Mapping[str, str | None], problems: Problems) -> tuple[Window, ...]:
    """working_hours, else the original's working_time_slots, else working_hours_start/end."""
    for key, parser in (("working_hours", parse_windows), ("working_time_slots", parse_time_slots)):
        if _present(raw, key):
            windows = parser(raw[key])
            if windows is not None:
                return windows
            problems.add(key, raw[key], "the next working-hours setting")
    start, end = DEFAULT_START, DEFAULT_END
    for key in ("working_hours_start", "working_hours_end"):
        if _present(raw, key) and parse_hhmm(raw[key]) is None:
            problems.add(key, raw[key], "10:00" if key.endswith("start") else "20:00")
    if _present(raw, "working_hours_start"):
        start = parse_hhmm(raw["working_hours_start"]) or DEFAULT_START
    if _present(raw, "working_hours_end"):
        end = parse_hhmm(raw["working_hours_end"]) or DEFAULT_END
    if not start < end:
        problems.add("working_hours_start/end", f"{start}-{end}", "10:00-20:00")
        start, end = DEFAULT_START, DEFAULT_END
    return ((start, end),)


def build_working_time(raw: Mapping[str, str | None], problems: Problems) -> WorkingTime:
    """A WorkingTime from configuration rows; every invalid value is reported through
    `problems.add(key, raw, used)` and replaced by its fallback (never raises)."""

    def pick(key: str, parser, default, shown_default):
        value = raw.get(key)
        if value is None or not str(value).strip():
            return default
        parsed = parser(value)
        if parsed is None:
            problems.add(key, value, shown_default)
            return default
        return parsed

    zone = pick("timezone", parse_timezone, ZoneInfo(DEFAULT_TIMEZONE), DEFAULT_TIMEZONE)
    days = pick("working_days", parse_working_days, DEFAULT_DAYS, "1,2,3,4,5")
    windows = _general_windows(raw, problems)
    day_windows = {}
    for day in range(1, 8):
        hours = pick(f"working_hours_{day}", parse_windows, None, "the general hours")
        if hours is not None:
            day_windows[day] = hours
    dates, bad = parse_holiday_dates(raw.get("holidays"))
    if bad:
        problems.add("holidays", ",".join(bad), "the valid dates only")
    default_law = calling_law.default_law_code(zone)
    law_code = pick("calling_law", parse_calling_law, default_law, default_law)
    morning_end = pick("morning_end", parse_hhmm, DEFAULT_MORNING_END, "14:00")
    afternoon_start = pick("afternoon_start", parse_hhmm, DEFAULT_AFTERNOON_START, "15:00")
    if morning_end == time(0):
        problems.add("morning_end", raw.get("morning_end"), "14:00")
        morning_end = DEFAULT_MORNING_END
    calendar = _holiday_calendar(raw, zone, problems)
    working_time = WorkingTime(
        timezone=zone,
        days=days,
        windows=windows,
        day_windows=day_windows,
        holidays=dates,
        holiday_calendar=calendar,
        calling_law=calling_law.CALLING_LAWS.get(law_code),
        law_lunch_break=pick("calling_law_lunch_break", parse_bool, False, "false"),
        law_country=_business_country(raw, zone) or calling_law.country_for_zone(zone),
        morning_end=morning_end,
        afternoon_start=afternoon_start,
    )
    if not any(weekly_windows(working_time).values()):
        # Nothing lawful is left on any weekday: no call could ever be scheduled. Like any
        # invalid value this falls back to the defaults (inside the law), loudly.
        law = working_time.calling_law.code if working_time.calling_law else "off"
        problems.add(
            "working_days/working_hours",
            f"{','.join(str(d) for d in sorted(days))} {format_windows(windows)}",
            f"10:00-20:00 Monday-Friday (with calling_law {law} they leave no time to call)",
        )
        working_time = dataclasses.replace(
            working_time, days=DEFAULT_DAYS, windows=((DEFAULT_START, DEFAULT_END),), day_windows={}
        )
    return working_time


def dead_settings(raw: Mapping[str, str | None]) -> list[str]:
    """Warnings (one line each) for settings that are valid but have no effect in this
    combination, e.g. working_hours_6 while 6 is not a working day."""
    wt = build_working_time(raw, _Silent())
    lines = []
    for day in range(1, 8):
        if _present(raw, f"working_hours_{day}") and day not in wt.days:
            lines.append(
                f"working_hours_{day} is set but day {day} is not in working_days "
                f"({','.join(str(d) for d in sorted(wt.days))}): it has no effect"
            )
    if _present(raw, "working_hours") and parse_windows(raw["working_hours"]) is not None:
        shadowed = [k for k in ("working_time_slots", "working_hours_start", "working_hours_end")
                    if _present(raw, k)]  # fmt: skip
        if shadowed:
            lines.append(f"working_hours is set, so {', '.join(shadowed)} have no effect")
    elif _present(raw, "working_time_slots") and parse_time_slots(raw["working_time_slots"]):
        shadowed = [k for k in ("working_hours_start", "working_hours_end") if _present(raw, k)]
        if shadowed:
            lines.append(f"working_time_slots is set, so {', '.join(shadowed)} have no effect")
    if all(day in wt.day_windows for day in wt.days):
        general = [k for k in ("working_hours", "working_time_slots") if _present(raw, k)]
        if general:
            lines.append(
                f"every working day has its own working_hours_<day>, so {', '.join(general)} "
                "has no effect"
            )
    if wt.calling_law is None and _present(raw, "calling_law_lunch_break"):
        lines.append("calling_law_lunch_break is set but calling_law is off: it has no effect")
    if wt.holiday_calendar is None and _present(raw, "holidays_subdivision"):
        lines.append("holidays_subdivision is set but no holidays_country applies: no effect")
    for preference, key, value in (
        ("morning", "morning_end", wt.morning_end),
        ("afternoon", "afternoon_start", wt.afternoon_start),
    ):
        if not wt.preference_available(preference):
            lines.append(
                f"{key}={value:%H:%M} leaves no {preference} working time on any day: "
                f"{'an' if preference[0] in 'aeiou' else 'a'} {preference} preference falls "
                "back to the whole day"
            )
    return lines


# --- validation of single keys ---------------------------------------------------------------

_WORKING_TIME_PARSERS = {
    "working_hours_start": parse_hhmm,
    "working_hours_end": parse_hhmm,
    "working_days": parse_working_days,
    "timezone": parse_timezone,
    "calling_law_lunch_break": parse_bool,
    "morning_end": parse_hhmm,
    "afternoon_start": parse_hhmm,
}
WORKING_TIME_KEYS = (
    "working_hours",
    "working_hours_<1-7>",
    "working_time_slots",
    "working_hours_start",
    "working_hours_end",
    "working_days",
    "timezone",
    "holidays",
    "holidays_country",
    "holidays_subdivision",
    "calling_law",
    "calling_law_lunch_break",
    "morning_end",
    "afternoon_start",
)


def is_working_time_key(key: str) -> bool:
    """Whether `key` is one of the working-time settings (WORKING_TIME_KEYS)."""
    return key in WORKING_TIME_KEYS or re.fullmatch(r"working_hours_[1-7]", key) is not None


def validate_working_time_setting(key: str, value: str) -> str | None:
    """Why `value` is not acceptable for the working-time `key`, or None (one line)."""
    if key in ("working_hours",) or re.fullmatch(r"working_hours_[1-7]", key):
        try:
            windows_from_text(value, key)
        except ValueError as exc:
            return f"{exc} (expected e.g. 10:00-14:00,16:00-21:00)"
        return None
    if key == "working_time_slots":
        try:
            windows_from_slots(value)
        except ValueError as exc:
            return str(exc)
        return None
    if key == "calling_law":
        if parse_calling_law(value) is None:
            return f"calling_law must be off or one of {', '.join(calling_law.CALLING_LAWS)}"
        return None
    if key == "holidays":
        _, bad = parse_holiday_dates(value)
        return f"holidays has invalid dates: {', '.join(bad)[:80]}" if bad else None
    if key == "holidays_country":
        if parse_holidays_country(value) is None:
            return f"holidays_country {_short(value)!r} is not a country the holidays package knows"
        return None
    if key == "holidays_subdivision":
        ok = re.fullmatch(r"[A-Za-z0-9-]{0,10}", value) is not None
        return None if ok else f"invalid holidays_subdivision {_short(value)!r}"
    if key == "morning_end" and parse_hhmm(value) == time(0):
        return "morning_end must be after 00:00"
    if key in _WORKING_TIME_PARSERS:
        if _WORKING_TIME_PARSERS[key](value) is None:
            return f"invalid {key}: {_short(value)!r}"
        return None
    return f"{_short(key)!r} is not a working-time key"


def effective_working_time_settings(wt: WorkingTime) -> dict[str, str]:
    """The working-time values really used, as text (the keys of WORKING_TIME_KEYS)."""
    values = {
        "working_hours": format_windows(wt.windows),
        "working_hours_start": format_window((wt.start, wt.end)).split("-")[0],
        "working_hours_end": format_window((wt.start, wt.end)).split("-")[1],
        "working_days": ",".join(str(d) for d in sorted(wt.days)),
        "timezone": wt.timezone.key,
        "holidays": ",".join(d.isoformat() for d in sorted(wt.holidays)),
        "holidays_country": "off"
        if wt.holiday_calendar is None
        else str(getattr(wt.holiday_calendar, "country", "custom")).split("-")[0],
        "calling_law": wt.calling_law.code if wt.calling_law is not None else calling_law.LAW_OFF,
        "calling_law_lunch_break": "true" if wt.law_lunch_break else "false",
        "morning_end": f"{wt.morning_end:%H:%M}",
        "afternoon_start": f"{wt.afternoon_start:%H:%M}",
    }
    for day, windows in sorted(wt.day_windows.items()):
        values[f"working_hours_{day}"] = format_windows(windows)
    return values


def working_time_report(raw: Mapping[str, str | None]) -> dict[str, Any]:
    """For check-config: each weekday's windows after the legal guard (holidays aside)
    and every warning (dead combinations, then what the law cuts). Never raises.

    {"windows": {"Monday": "10:00-14:00,16:00-21:00", ..., "Sunday": ""},
     "warnings": ["working_hours_6 is set but day 6 is not in working_days ...", ...]}
    """
    wt = build_working_time(raw, _Silent())
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    windows = {names[day - 1]: format_windows(w) for day, w in weekly_windows(wt).items()}
    return {"windows": windows, "warnings": dead_settings(raw) + law_warnings(wt)}
