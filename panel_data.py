"""What the dashboard shows, read from the database: the overview, leads, the review queue.

Read-only. Every query is named in queries.py and is an index range scan on a big
campaign (bench/bench_panel.py). Times come back aware: UTC from the database, shown in
the business zone (scheduler_config `timezone`) by the caller with `local()`.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import db
import queries
import scheduler_config
from apply_disposition import CLOSURE_APPOINTMENT
from call_manager_scheduler_integration import CLOSURE_NOT_INTERESTED
from clock import from_db, to_db
from collected_info import normalize_collected_info
from phone import mask_digits, mask_phone
from probar_llamadas_programadas import check_alerts
from reprogramar_llamadas_simple import CLOSURE_MAX_ATTEMPTS, LeadNotFoundError
from working_time import is_working_instant

logger = logging.getLogger(__name__)

IN_FLIGHT_STATES = ("claimed", "placing", "placed")
# First status labels that mean a person answered (dispositions.py's labels).
CONTACTED_LABELS = frozenset(
    {"Cita Agendada", "No Interesado", "Revisar", "Cita Manual", "Volver a llamar"}
)
MAX_DAYS = 92
SEARCH_LIMIT = 100


@dataclass
class Filters:
    """The overview's filters: campaign (origen_archivo) and a local date range."""

    campaign: str | None = None
    first: date | None = None
    last: date | None = None


@dataclass
class Overview:
    """Everything the overview page shows."""

    zone: ZoneInfo
    now: datetime
    counts: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    hourly: tuple[list[str], dict[str, list[int]]] = ([], {})
    daily: tuple[list[str], dict[str, list[int]]] = ([], {})
    funnel: list[tuple[str, int]] = field(default_factory=list)
    attempts: list[tuple[str, int]] = field(default_factory=list)
    queue: tuple[list[str], list[int], list[bool]] = ([], [], [])
    campaigns: list[str] = field(default_factory=list)


def business_zone(config: scheduler_config.SchedulerConfig | None = None) -> ZoneInfo:
    """The business time zone (scheduler_config `timezone`)."""
    return (config or scheduler_config.get_config()).working_time.timezone


def local(moment: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware (or naive UTC from the database) moment as business-local text; '' if None."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(fmt)


def _hour(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _summarise_leads(rows: list[dict], counts: dict[str, int]) -> tuple[list, list]:
    attempts: dict[int, int] = defaultdict(int)
    funnel = dict.fromkeys(
        ("imported", "called", "contacted", "appointment", "declined", "max_attempts"), 0
    )
    for row in rows:
        total = int(row["total"])
        is_open = row["lead_status"] in (None, "open")
        counts["open" if is_open else "closed"] += total
        if is_open and row["manual_management"]:
            counts["under_review"] += total
        attempts[int(row["call_attempts_count"])] += total
        funnel["imported"] += total
        if row["call_attempts_count"] > 0:
            funnel["called"] += total
        reason = row["closure_reason"]
        contacted = row["status_level_1"] in CONTACTED_LABELS or reason in (
            CLOSURE_APPOINTMENT,
            CLOSURE_NOT_INTERESTED,
        )
        if contacted and row["call_attempts_count"] > 0:
            funnel["contacted"] += total
        if reason == CLOSURE_APPOINTMENT:
            funnel["appointment"] += total
        elif reason == CLOSURE_NOT_INTERESTED:
            funnel["declined"] += total
        elif reason == CLOSURE_MAX_ATTEMPTS:
            funnel["max_attempts"] += total
    top = max(attempts, default=0)
    histogram = [(str(n) if n < 10 else "10+", 0) for n in range(min(top, 10) + 1)]
    values = [0] * len(histogram)
    for n, total in attempts.items():
        values[min(n, 10)] += total
    return list(funnel.items()), [(label, values[i]) for i, (label, _) in enumerate(histogram)]


def _by_hour(rows: list[dict], start: datetime, hours: int) -> tuple[list[datetime], dict]:
    slots = [start + timedelta(hours=i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    series: dict[str, list[int]] = {}
    for row in rows:
        i = index.get(_hour(row["bucket"]))
        if i is None:
            continue
        name = row.get("outcome") or "(none)"
        series.setdefault(name, [0] * hours)[i] += int(row["total"])
    return slots, dict(sorted(series.items()))


# The overview's reads are independent: each runs in its own short transaction on its own
# thread (and connection), so the page costs about its heaviest read rather than their sum.
# The widgets may come from instants a few milliseconds apart; a dashboard can live with that.
_OVERVIEW_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="panel-overview")


def _in_parallel(tasks: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run each task on the overview's pool; their results by name (the first error raises)."""
    futures = {name: _OVERVIEW_POOL.submit(task) for name, task in tasks.items()}
    return {name: future.result() for name, future in futures.items()}


def overview(filters: Filters, now: datetime) -> Overview:
    """The overview at `now` (aware): counts, alerts and the charts' series. The calls per
    day cover filters.first..last (business-local dates; default the last 30 days, at most
    MAX_DAYS); the calls per hour the 24 hours before the end of that range or now."""
    config = scheduler_config.get_config()
    zone = config.working_time.timezone
    today = now.astimezone(zone).date()
    last = min(filters.last or today, today)
    first = filters.first or last - timedelta(days=29)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    result = Overview(zone=zone, now=now, alerts={})
    counts: dict[str, int] = defaultdict(int)
    campaign = filters.campaign or None
    hour_now = now.replace(minute=0, second=0, microsecond=0)
    range_end = min(now, datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))
    hourly_start = range_end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    day_start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    overdue_before = now - timedelta(minutes=config.number("alert_overdue_minutes", 15))
    week_start = today - timedelta(days=today.weekday())

    def read(name: str, query: queries.Query, params: Mapping[str, Any]) -> Callable[[], list]:
        def task() -> list[dict]:
            with db.transaction(f"dashboard overview: {name}") as cur:
                return db.fetch_all(cur, query, params)

        return task

    hourly_query = queries.PANEL_CALLS_BY_HOUR if campaign else queries.PANEL_CALLS_BY_HOUR_ALL
    lead_query = queries.PANEL_LEAD_GROUPS_IN_CAMPAIGN if campaign else queries.PANEL_LEAD_GROUPS
    found = _in_parallel({
        "alerts": lambda: check_alerts(now, echo=False),
        "leads": read("leads", lead_query, {"campaign": campaign}),
        "schedule": read("schedule", queries.PANEL_SCHEDULE_COUNTS, {
            "now": to_db(now), "overdue_before": to_db(overdue_before), "campaign": campaign}),
        "states": read("states", queries.PANEL_CALLS_BY_STATE, {"campaign": campaign}),
        "appointments": read("appointments", queries.PANEL_APPOINTMENTS_BETWEEN, {
            "first": week_start, "last": week_start + timedelta(days=6), "campaign": campaign}),
        "hourly": read("hourly", hourly_query, {
            "since": to_db(hourly_start), "until": to_db(hourly_start + timedelta(hours=24)),
            "campaign": campaign}),
        "daily": read("daily", hourly_query, {
            "since": to_db(day_start), "until": to_db(range_end), "campaign": campaign}),
        "queue": read("queue", queries.PANEL_PENDING_BY_HOUR, {
            "since": to_db(hour_now), "until": to_db(hour_now + timedelta(hours=48)),
            "campaign": campaign}),
        "campaigns": read("campaigns", queries.PANEL_CAMPAIGNS, {"limit": 500}),
    })  # fmt: skip
    alerts = found["alerts"]
    result.alerts = alerts
    rows, states, appointments = found["leads"], found["states"], found["appointments"]
    schedule = found["schedule"][0] if found["schedule"] else {}
    hourly_rows, daily_rows, queue_rows = found["hourly"], found["daily"], found["queue"]
    result.campaigns = [r["origen_archivo"] for r in found["campaigns"]]
    result.funnel, result.attempts = _summarise_leads(rows, counts)
    counts["stranded"] = alerts["stranded_leads"]
    counts["due_now"] = int(schedule.get("due_now") or 0)
    counts["overdue"] = int(schedule.get("overdue") or 0)
    by_state = {r["state"]: int(r["total"]) for r in states}
    counts["in_flight"] = sum(by_state.get(s, 0) for s in IN_FLIGHT_STATES)
    counts["uncertain"] = by_state.get("uncertain", 0)
    counts["quarantined"] = by_state.get("quarantined", 0)
    counts["appointments_today"] = sum(int(r["total"]) for r in appointments if r["cita"] == today)
    counts["appointments_week"] = sum(int(r["total"]) for r in appointments)
    result.counts = dict(counts)
    slots, series = _by_hour(hourly_rows, hourly_start, 24)
    result.hourly = ([local(s, zone, "%H") for s in slots], series)
    result.daily = _per_day(daily_rows, zone, first, last)
    queue_slots, queue_series = _by_hour(queue_rows, hour_now, 48)
    queue_values = queue_series.get("(none)", [0] * 48)
    shaded = [is_working_instant(s, config.working_time) for s in queue_slots]
    result.queue = ([local(s, zone, "%H") for s in queue_slots], queue_values, shaded)
    return result


def _per_day(rows: list[dict], zone: ZoneInfo, first: date, last: date) -> tuple[list, dict]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, list[int]] = {}
    for row in rows:
        day = _hour(row["bucket"]).astimezone(zone).date()
        if day in index:
            name = row["outcome"] or "(none)"
            series.setdefault(name, [0] * len(days))[index[day]] += int(row["total"])
    return [d.strftime("%d/%m") for d in days], dict(sorted(series.items()))


# --- leads -----------------------------------------------------------------------------------


def search_leads(
    name: str | None, digits: str | None, status: str | None, campaign: str | None
) -> list[dict]:
    """Leads matching every given filter (name prefix, trailing digits of the number, status
    'open'/'closed'/'review', campaign), newest first, at most SEARCH_LIMIT. The number
    comes back masked (`telefono_masked`); the full number is removed."""
    clean_digits = "".join(ch for ch in digits or "" if ch.isdigit())
    params = {
        "name": f"{_like(name.strip())}%" if name and name.strip() else None,
        "digits": f"%{clean_digits}" if clean_digits else None,
        "status": status if status in ("open", "closed", "review") else None,
        "campaign": campaign or None,
        "limit": SEARCH_LIMIT,
    }
    with db.transaction("dashboard search") as cur:
        rows = db.fetch_all(cur, queries.PANEL_SEARCH_LEADS, params)
    return [_masked(row) for row in rows]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")[:100]


def _masked(row: dict) -> dict:
    row = dict(row)
    row["telefono_masked"] = mask_phone(row.pop("telefono", None) or "")
    return row


def _pearl_fields(raw: str | None) -> dict[str, Any]:
    """Summary, duration, recording link and collected information from a stored call."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    pearl = data.get("pearl_response") if isinstance(data, Mapping) else None
    pearl = pearl if isinstance(pearl, Mapping) else {}
    recording = pearl.get("recording") or pearl.get("Recording")
    collected = {str(k): mask_digits(v)[:200] for k, v in normalize_collected_info(pearl).items()}
    summary = pearl.get("summary") or pearl.get("Summary")
    duration = pearl.get("duration") or pearl.get("Duration")
    return {
        "summary": mask_digits(summary)[:2000] if summary else None,
        "duration": duration if isinstance(duration, int | float) else None,
        "recording": recording if isinstance(recording, str) and recording.startswith("https://")
        else None,
        "collected": collected,
    }  # fmt: skip


def lead_page(lead_id: int) -> dict | None:
    """A lead (number masked), its calls with what Pearl sent, its schedule rows; None if
    it does not exist."""
    with db.transaction("dashboard lead") as cur:
        lead = db.fetch_one(cur, queries.PANEL_LEAD, {"lead_id": lead_id})
        if lead is None:
            return None
        calls = db.fetch_all(cur, queries.PANEL_LEAD_CALLS, {"lead_id": lead_id, "limit": 200})
        schedules = db.fetch_all(
            cur, queries.PANEL_LEAD_SCHEDULES, {"lead_id": lead_id, "limit": 200}
        )
    for call in calls:
        call.update(_pearl_fields(call.pop("raw_response")))
    pending = next((s for s in schedules if s["status"] == "pending"), None)
    in_flight = any(c["state"] in (*IN_FLIGHT_STATES, "uncertain") for c in calls)
    lead = _masked(lead)
    lead["call_error_message"] = mask_digits(lead["call_error_message"] or "") or None
    return {"lead": lead, "calls": calls, "schedules": schedules, "pending": pending,
            "in_flight": in_flight}  # fmt: skip


def lead_phone(lead_id: int) -> str | None:
    """A lead's full number, for a library call (the do-not-call list); never for a page.
    Raises LeadNotFoundError for an unknown lead."""
    with db.transaction("dashboard lead number") as cur:
        row = db.fetch_one(cur, queries.PANEL_LEAD, {"lead_id": lead_id})
    if row is None:
        raise LeadNotFoundError(f"lead {lead_id} does not exist")
    return row["telefono"]


def review_queue(limit: int = 100) -> list[dict]:
    """Open leads a person must decide on, oldest first, with the latest call's summary and
    collected information (numbers masked)."""
    with db.transaction("dashboard review queue") as cur:
        rows = db.fetch_all(cur, queries.PANEL_REVIEW_QUEUE, {"limit": limit})
        for row in rows:
            last = db.fetch_one(cur, queries.PANEL_LAST_CALL, {"lead_id": row["id"]})
            row["last_call"] = None
            if last is not None:
                row["last_call"] = {**_pearl_fields(last.pop("raw_response")), **last}
    for row in rows:
        row["call_error_message"] = mask_digits(row["call_error_message"] or "") or None
    return [_masked(row) for row in rows]


def from_database(moment: datetime | None) -> datetime | None:
    """A naive UTC value of the database as aware UTC (None stays None)."""
    return from_db(moment)
