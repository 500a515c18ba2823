"""Dispatch and rescheduling across both Europe/Madrid DST changes and a holiday.

Time is moved with time-machine in 5-minute steps through each night; the
dispatcher runs at every step in simulation mode. Nothing may be dialled
outside working time, no call may be lost in the skipped hour, and none
dialled twice in the repeated hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

import scheduler_config
from despachar_llamadas import dispatch_due_calls
from reprogramar_llamadas_simple import reschedule_failed_call
from tests.helpers import make_lead, set_config, sql, utc
from working_time import is_working_instant

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.slow]
ALL_BUSY = {"busy": 1.0}


def _schedule_at(lead_id: int, when: datetime) -> None:
    sql(
        "INSERT INTO call_schedule (lead_id, scheduled_at, attempt_number, status) "
        "VALUES (%s, %s, 1, 'pending')",
        (lead_id, when.astimezone(UTC).replace(tzinfo=None)),
    )


def _run_night(start: datetime, end: datetime, step: timedelta = timedelta(minutes=5)) -> None:
    moment = start
    while moment <= end:
        with time_machine.travel(moment, tick=False):
            dispatch_due_calls(simulate=True, seed=1, mix=ALL_BUSY, now=moment, limit=500)
        moment += step


def _claims() -> list[dict]:
    return sql("SELECT lead_id, claimed_at, schedule_id FROM pearl_calls ORDER BY id")


def _check_night(lead_ids: list[int]) -> list[dict]:
    wt = scheduler_config.get_config().working_time
    claims = _claims()
    for claim in claims:
        assert is_working_instant(claim["claimed_at"].replace(tzinfo=UTC), wt), claim
    per_lead = {}
    for claim in claims:
        per_lead[claim["lead_id"]] = per_lead.get(claim["lead_id"], 0) + 1
    assert max(per_lead.values(), default=0) <= 1, "a lead was dialled twice in one night"
    for lead_id in lead_ids:
        pending = sql(
            "SELECT id FROM call_schedule WHERE lead_id = %s AND status = 'pending'", (lead_id,)
        )
        assert lead_id in per_lead or len(pending) == 1, f"lead {lead_id} was lost"
    return claims


@pytest.mark.parametrize(
    ("night_start", "window_utc"),
    [
        # Spring: 01:30-04:30 local is 00:30-02:30 UTC (02:00-03:00 does not exist).
        (utc(2026, 3, 28, 22, 0), (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2, 30))),
        # Autumn: 01:30-04:30 local is 23:30-03:30 UTC (02:00-03:00 happens twice).
        (utc(2026, 10, 24, 22, 0), (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3, 30))),
    ],
)
def test_dispatch_through_a_dst_night(night_start, window_utc):
    set_config("calling_law", "off")  # night calls on a Sunday: outside Spain's legal window
    set_config("working_days", "1,2,3,4,5,6,7")
    set_config("working_hours_start", "01:30")
    set_config("working_hours_end", "04:30")
    set_config("default_delay_hours", "48")
    lead_ids = []
    for minutes in range(0, 7 * 60, 10):  # a call due every 10 minutes, all night
        lead_id = make_lead(telefono=f"+34612{minutes:06d}")
        _schedule_at(lead_id, night_start + timedelta(minutes=minutes))
        lead_ids.append(lead_id)
    _run_night(night_start, night_start + timedelta(hours=7))
    claims = _check_night(lead_ids)
    window_start, window_end = window_utc
    due_in_time = [
        row["lead_id"]
        for row in sql("SELECT lead_id, scheduled_at FROM call_schedule WHERE attempt_number = 1")
        if row["scheduled_at"].replace(tzinfo=UTC) < window_end
    ]
    dialled = {claim["lead_id"] for claim in claims}
    # Everything due before the window closed was dialled inside it, skipped hour included.
    assert set(due_in_time) == dialled
    assert all(window_start <= c["claimed_at"].replace(tzinfo=UTC) < window_end for c in claims)
    # The rest waits for tomorrow's window, once each.
    for lead_id in set(lead_ids) - dialled:
        [pending] = sql(
            "SELECT scheduled_at FROM call_schedule WHERE lead_id = %s AND status = 'pending'",
            (lead_id,),
        )
        assert pending["scheduled_at"].replace(tzinfo=UTC) >= window_end


def test_nothing_dialled_on_a_holiday_or_weekend():
    set_config("holidays", "2026-12-08")  # a Tuesday
    set_config("default_delay_hours", "200")  # no second call within the test
    lead_ids = []
    # Due from Saturday 5 December to Tuesday 8 December, every 6 hours.
    for hours in range(0, 4 * 24, 6):
        lead_id = make_lead(telefono=f"+34611{hours:06d}")
        _schedule_at(lead_id, utc(2026, 12, 5, 0, 0) + timedelta(hours=hours))
        lead_ids.append(lead_id)
    _run_night(utc(2026, 12, 5, 0, 0), utc(2026, 12, 9, 12, 0), step=timedelta(minutes=30))
    claims = _check_night(lead_ids)
    days = {c["claimed_at"].date() for c in claims}
    assert date(2026, 12, 5) not in days and date(2026, 12, 6) not in days
    assert date(2026, 12, 8) not in days
    assert days <= {date(2026, 12, 7), date(2026, 12, 9)}


@pytest.mark.parametrize(
    ("failed_at", "expected"),
    [
        # 01:45 CET + 30 min of real time = 03:15 CEST (the clock jumped).
        (utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 15)),
        # First 02:15 CEST + 60 min = second 02:15 CET (the clock went back).
        (utc(2026, 10, 25, 0, 15), utc(2026, 10, 25, 1, 15)),
    ],
)
def test_rescheduling_inside_a_dst_change_uses_real_time(failed_at, expected):
    set_config("calling_law", "off")
    set_config("working_days", "1,2,3,4,5,6,7")
    set_config("working_hours_start", "00:00")
    set_config("working_hours_end", "23:59")
    set_config("busy_delay_hours", "0.5" if failed_at.month == 3 else "1")
    lead_id = make_lead()
    with time_machine.travel(failed_at, tick=False):
        assert reschedule_failed_call(lead_id, "busy").scheduled_at == expected


def test_split_shift_and_legal_envelope_through_the_dispatcher():
    """A configuration asking for more than Spain's law (08:00-22:00 every day, public
    holidays not configured): the dispatcher still dials only 09:00-14:00 and 16:00-21:00
    Madrid time, Monday to Friday, never on Tuesday 8 December (a national holiday)."""
    set_config("working_days", "1,2,3,4,5,6,7")
    set_config("working_hours", "08:00-14:00,16:00-22:00")
    set_config("holidays_country", "off")
    set_config("holidays", "")
    set_config("default_delay_hours", "200")  # one call per lead within the test
    madrid = ZoneInfo("Europe/Madrid")
    start = datetime(2026, 12, 4, 7, 0, tzinfo=madrid)  # Friday
    lead_ids = []
    for hours in range(0, 5 * 24, 2):
        lead_id = make_lead(telefono=f"+34613{hours:06d}")
        _schedule_at(lead_id, start + timedelta(hours=hours))
        lead_ids.append(lead_id)
    _run_night(start.astimezone(UTC), utc(2026, 12, 9, 12, 0), step=timedelta(minutes=30))
    claims = _check_night(lead_ids)
    assert claims, "nothing was dialled at all"
    for claim in claims:
        when = claim["claimed_at"].replace(tzinfo=UTC).astimezone(madrid)
        assert when.isoweekday() <= 5 and when.date() != date(2026, 12, 8), when
        assert time(9) <= when.time() < time(14) or time(16) <= when.time() < time(21), when
    local_days = {c["claimed_at"].replace(tzinfo=UTC).astimezone(madrid).date() for c in claims}
    assert local_days == {date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 9)}
