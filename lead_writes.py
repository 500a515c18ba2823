"""The database side of a lead import: one batch written in one transaction, and the
spread of first calls over working time. importar_leads.py reads, validates and reports;
this module decides, for rows already valid and unique by number, what is new, what is a
duplicate or on the do-not-call list, and writes the new leads and their first calls.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import bulk_load
import clock
import db
import do_not_call
import queries
import working_time
from bulk_load import LoadFiles
from lead_rows import LeadRow, Reject

logger = logging.getLogger(__name__)

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
    load_data: bool = True  # LOAD DATA LOCAL INFILE when the server accepts it


def import_batch(
    cur, rows: Sequence[LeadRow], options: Options, spreader: Spreader | None, now: datetime,
    loads: LoadFiles | None = None,
) -> tuple[Counts, list[Reject]]:  # fmt: skip
    """Write one batch inside the caller's transaction (rows already unique by number).
    With `loads` (the connection allows LOAD DATA LOCAL INFILE) the rows go in through
    files, else through JSON_TABLE statements; the result is the same.

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
    slots = None
    if spreader is not None:
        slots = [clock.to_db(spreader.slot(r.timezone, now)) for r in new_rows]
    if loads is not None:
        counts.scheduled = _load_batch(cur, new_rows, slots, options.origen, stamp, loads)
        return counts, skipped
    leads = [
        [r.nombre, r.apellidos, r.telefono, r.timezone, r.preferencia_horario, r.call_data]
        for r in new_rows
    ]
    db.execute(
        cur,
        queries.INSERT_IMPORTED_LEADS,
        {"rows": json.dumps(leads, ensure_ascii=False), "origen": options.origen, "now": stamp},
    )
    if slots is not None:
        counts.scheduled = _first_calls_by_number(cur, new_rows, slots, options.origen, stamp)
    return counts, skipped


def _first_calls_by_number(
    cur, rows: Sequence[LeadRow], slots: Sequence[datetime], origen: str, stamp: datetime
) -> int:
    """Schedule the first calls of leads just inserted, each found by (origen, number)."""
    calls = [[r.telefono, slot.isoformat(sep=" ")] for r, slot in zip(rows, slots, strict=True)]
    return db.execute(
        cur,
        queries.INSERT_FIRST_CALLS,
        {"calls": json.dumps(calls), "origen": origen, "now": stamp},
    )


def _load_batch(
    cur, rows: Sequence[LeadRow], slots: Sequence[datetime] | None, origen: str,
    stamp: datetime, loads: LoadFiles,
) -> int:  # fmt: skip
    """The new leads (and their first calls when `slots` is given) through LOAD DATA LOCAL
    INFILE; returns the number of first calls scheduled.

    The first calls need the leads' ids. A load numbers its rows in file order; when the
    file's leads from the load's first id on are exactly as many as loaded and evenly spaced
    by the server's id step (always, unless another session inserted leads in the middle
    with innodb_autoinc_lock_mode=2), row i got first_id + i * step. Otherwise each lead is
    found by its number, as the JSON_TABLE path does."""
    values = [
        (r.nombre, r.apellidos, r.telefono, r.timezone, r.preferencia_horario, r.call_data)
        for r in rows
    ]
    params = {"origen": origen, "now": stamp}
    bulk_load.load_file(cur, queries.LOAD_IMPORTED_LEADS, loads.path("leads"), values, params)
    if slots is None:
        return 0
    ids = db.fetch_one(cur, queries.LOADED_LEAD_IDS, {"origen": origen})
    first, step = ids["first_id"], ids["step"]
    if not in_file_order(len(rows), ids["loaded"], first, ids["last_id"], step):
        return _first_calls_by_number(cur, rows, slots, origen, stamp)
    calls = ((first + i * step, slot) for i, slot in enumerate(slots))
    return bulk_load.load_file(cur, queries.LOAD_FIRST_CALLS, loads.path("calls"), calls, params)


def in_file_order(expected: int, loaded: int, first: int | None, last: int | None,
                  step: int) -> bool:  # fmt: skip
    """Whether `loaded` rows with ids first..last can only be the `expected` rows of one load
    numbered in file order: as many, and exactly `step` apart."""
    if expected == 0 or loaded != expected or first is None or last is None or step < 1:
        return False
    return last - first == (expected - 1) * step


def _lead_values(row: LeadRow) -> dict[str, Any]:
    return {
        "nombre": row.nombre,
        "apellidos": row.apellidos,
        "timezone": row.timezone,
        "preferencia_horario": row.preferencia_horario,
        "call_data": row.call_data,
    }


def write_batch(
    rows: Sequence[LeadRow], options: Options, spreader: Spreader | None,
    loads: LoadFiles | None = None,
) -> tuple[Counts, list[Reject], Spreader | None]:  # fmt: skip
    """import_batch in its own transaction; the spreader advances only if it commits
    (a retried transaction starts again from the same spread)."""
    attempt: list[Spreader | None] = [None]

    def work(cur) -> tuple[Counts, list[Reject]]:
        attempt[0] = spreader.copy() if spreader is not None else None
        return import_batch(cur, rows, options, attempt[0], clock.utc_now(), loads)

    counts, listed = db.run_in_transaction(work, name="import batch")
    return counts, listed, attempt[0]


class BatchWriter:
    """write_batch in a thread of its own (with its own connection), batch after batch in the
    order given, so that the server's work on one batch overlaps reading and validating the
    next. At most `depth` batches wait behind the one being written (memory stays flat);
    after a failed batch no later one is written. Results come back in the same order.

    With `options.load_data` (the default) the thread's connection loads the rows through
    files (LOAD DATA LOCAL INFILE, bulk_load.py) when the server accepts it, else it inserts
    them through JSON_TABLE statements, with a log line saying so."""

    def __init__(self, options: Options, spreader: Spreader | None, depth: int = 1) -> None:
        self.options = options
        self.spreader = spreader
        self.depth = depth
        self.loads: LoadFiles | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="import-writer")
        self._pending: deque[tuple[Future, Any]] = deque()
        self._failed = False
        self._started = False

    def _start(self) -> None:
        if not self.options.load_data or self.options.dry_run:
            return
        db.allow_local_infile()
        with db.transaction("import: can the server load files") as cur:
            allowed = bulk_load.server_allows_local_infile(cur)
        if allowed:
            self.loads = LoadFiles()
        else:
            logger.info(
                "the server does not accept LOAD DATA LOCAL INFILE (local_infile is off): "
                "inserting through JSON_TABLE statements, which is slower"
            )

    def _write(self, rows: Sequence[LeadRow]) -> tuple[Counts, list[Reject]]:
        if self._failed:
            raise RuntimeError("an earlier batch failed")  # reported first, in order
        try:
            if not self._started:  # in the writer thread: its connection is the one set up
                self._started = True
                self._start()
            counts, listed, self.spreader = write_batch(
                rows, self.options, self.spreader, self.loads
            )
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
        if self.loads is not None:
            self.loads.close()
