"""The database side of a lead import: one batch written in one transaction, and the
spread of first calls over working time. importar_leads.py reads, validates and reports;
this module decides, for rows already valid and unique by number, what is new, what is a
duplicate or on the do-not-call list, and writes the new leads and their first calls.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import clock
import db
import do_not_call
import queries
import working_time
from lead_rows import LeadRow, Reject

DEFAULT_BATCH_SIZE = 5000

# --- first calls: the spread over working time ----------------------------------------------


@dataclass
class Spreader:
    """Hands out first-call instants: per zone, the next working instant at or after the
    previous one plus 3600/per_hour seconds (all at the next working instant without
    per_hour). `last` maps a lead's stored zone (None: business zone) to its latest slot.

    `stretches` remembers, per zone, a stretch of working time already found: an instant
    inside it is its own next working instant, so working_time is asked once per stretch
    rather than once per lead (the answer is the same)."""

    working: working_time.WorkingTime
    per_hour: float | None
    last: dict[str | None, datetime] = field(default_factory=dict)
    stretches: dict[str | None, tuple[datetime, datetime]] = field(default_factory=dict)

    def copy(self) -> Spreader:
        return Spreader(self.working, self.per_hour, dict(self.last), dict(self.stretches))

    def slot(self, zone_name: str | None, now: datetime) -> datetime:
        previous = self.last.get(zone_name)
        candidate = now
        if previous is not None and self.per_hour:
            candidate = max(now, previous + timedelta(seconds=3600 / self.per_hour))
        stretch = self.stretches.get(zone_name)
        if stretch is not None and stretch[0] <= candidate < stretch[1]:
            instant = candidate
        else:
            zone = ZoneInfo(zone_name) if zone_name else self.working.timezone
            instant = working_time.next_working_instant(candidate, self.working, zone)
            until = working_time.working_until(instant, self.working, zone)
            if until is not None:
                self.stretches[zone_name] = (instant, until)
        if self.per_hour:
            self.last[zone_name] = instant
        return instant


# --- the database work of one batch ---------------------------------------------------------


@dataclass
class Counts:
    """The report's numbers."""

    read: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    on_dnc_list: int = 0
    invalid: int = 0
    scheduled: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    origen: str
    region: str
    update: bool = False
    schedule: bool = False
    per_hour: float | None = None
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    workers: int = 0  # processes validating rows; 0 = automatic


def import_batch(
    cur, rows: Sequence[LeadRow], options: Options, spreader: Spreader | None, now: datetime
) -> tuple[Counts, list[Reject]]:
    """Write one batch inside the caller's transaction (rows already unique by number).

    Returns the counts and the rows skipped because their number is on the do-not-call list.
    In a dry run nothing is written; the counts say what would have been.
    """
    counts = Counts()
    listed = do_not_call.numbers_on_do_not_call(cur, [row.telefono for row in rows])
    skipped = [
        Reject(r.line, r.telefono, "on the do-not-call list") for r in rows if r.telefono in listed
    ]
    counts.on_dnc_list = len(skipped)
    rows = [r for r in rows if r.telefono not in listed]
    matches: dict[str, list[dict]] = {}
    if rows:
        found = db.fetch_all(
            cur,
            queries.LEADS_MATCHING_IMPORT,
            {"phones": json.dumps([r.telefono for r in rows]), "origen": options.origen},
        )
        for match in found:
            matches.setdefault(match["telefono"], []).append(match)
    new_rows = []
    for row in rows:
        existing = matches.get(row.telefono)
        if not existing:
            new_rows.append(row)
            continue
        open_ids = [m["id"] for m in existing if m["lead_status"] in (None, "open")]
        if options.update and open_ids:
            counts.updated += 1
            if not options.dry_run:
                for lead_id in open_ids:
                    db.execute(
                        cur,
                        queries.REFRESH_IMPORTED_LEAD,
                        {**_lead_values(row), "lead_id": lead_id},
                    )
        else:
            counts.duplicates += 1
    counts.imported = len(new_rows)
    if options.dry_run or not new_rows:
        counts.scheduled = counts.imported if options.schedule else 0
        return counts, skipped
    stamp = clock.to_db(now)
    leads = [
        [r.nombre, r.apellidos, r.telefono, r.timezone, r.preferencia_horario, r.call_data]
        for r in new_rows
    ]
    db.execute(
        cur,
        queries.INSERT_IMPORTED_LEADS,
        {"rows": json.dumps(leads, ensure_ascii=False), "origen": options.origen, "now": stamp},
    )
    if spreader is not None:
        calls = [
            [r.telefono, clock.to_db(spreader.slot(r.timezone, now)).isoformat(sep=" ")]
            for r in new_rows
        ]
        counts.scheduled = db.execute(
            cur,
            queries.INSERT_FIRST_CALLS,
            {"calls": json.dumps(calls), "origen": options.origen, "now": stamp},
        )
    return counts, skipped


def _lead_values(row: LeadRow) -> dict[str, Any]:
    return {
        "nombre": row.nombre,
        "apellidos": row.apellidos,
        "timezone": row.timezone,
        "preferencia_horario": row.preferencia_horario,
        "call_data": row.call_data,
    }


def write_batch(
    rows: Sequence[LeadRow], options: Options, spreader: Spreader | None
) -> tuple[Counts, list[Reject], Spreader | None]:
    """import_batch in its own transaction; the spreader advances only if it commits
    (a retried transaction starts again from the same spread)."""
    attempt: list[Spreader | None] = [None]

    def work(cur) -> tuple[Counts, list[Reject]]:
        attempt[0] = spreader.copy() if spreader is not None else None
        return import_batch(cur, rows, options, attempt[0], clock.utc_now())

    counts, listed = db.run_in_transaction(work, name="import batch")
    return counts, listed, attempt[0]


class BatchWriter:
    """write_batch in a thread of its own (with its own connection), batch after batch in the
    order given, so that the server's work on one batch overlaps reading and validating the
    next. At most `depth` batches wait behind the one being written (memory stays flat);
    after a failed batch no later one is written. Results come back in the same order."""

    def __init__(self, options: Options, spreader: Spreader | None, depth: int = 1) -> None:
        self.options = options
        self.spreader = spreader
        self.depth = depth
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="import-writer")
        self._pending: deque[tuple[Future, Any]] = deque()
        self._failed = False

    def _write(self, rows: Sequence[LeadRow]) -> tuple[Counts, list[Reject]]:
        if self._failed:
            raise RuntimeError("an earlier batch failed")  # reported first, in order
        try:
            counts, listed, self.spreader = write_batch(rows, self.options, self.spreader)
        except BaseException:
            self._failed = True
            raise
        return counts, listed

    def submit(self, rows: Sequence[LeadRow], tag: Any) -> Iterator[tuple[Any, Counts, list]]:
        """Queue a batch; yield (tag, counts, do-not-call rejects) of the batches done."""
        self._pending.append((self._pool.submit(self._write, rows), tag))
        while len(self._pending) > self.depth:
            yield self._oldest()

    def drain(self) -> Iterator[tuple[Any, Counts, list]]:
        """Wait for every queued batch; yield their results in order."""
        while self._pending:
            yield self._oldest()

    def _oldest(self) -> tuple[Any, Counts, list]:
        future, tag = self._pending.popleft()
        counts, listed = future.result()
        return tag, counts, listed

    def close(self) -> None:
        """Drop the batches not started, let the one being written end, close the thread's
        connection."""
        for future, _tag in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.submit(db.close_connection).result()
        self._pool.shutdown(wait=True)
