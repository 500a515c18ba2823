"""Import a campaign's leads from CSV or XLSX, or load a do-not-call list.

    python importar_leads.py FILE [--origen NAME] [--map "Teléfono móvil=telefono"] ...
        [--region ES] [--update] [--schedule [--per-hour N]] [--dry-run] [--json]
        [--no-load-data]
    python importar_leads.py --dnc FILE [--source NAME] [--dry-run] [--json]

Columns named like the schema's (`nombre`, `apellidos`, `telefono`, `timezone`,
`preferencia_horario`) are recognised case- and accent-insensitively; `--map` names others;
every other column goes into the lead's `call_data` (the agent's variables). Phones are
normalised to E.164 (`--region`, default PEARL_DEFAULT_REGION, else ES); a row with an invalid
number, zone or value is rejected with its line number and reason, into a rejects CSV beside
the input (`<file>.rejects.csv`: line, value, reason). Numbers on the do-not-call list are
never imported. A row whose number is already an open lead, or was already imported from
the same `--origen`, is a duplicate: skipped, or with `--update` its lead's data refreshed.

Work is committed in batches, each all-or-nothing, and is idempotent by (origen_archivo,
telefono): re-running a file, also after a crash in the middle, ends as one clean run.
`--schedule` gives each new lead its first call at the next working instant in its zone,
spread at `--per-hour N` per zone (the spread continues where an interrupted run stopped).
Rows are written with LOAD DATA LOCAL INFILE when the server accepts it (``local_infile``
on; MySQL 8 ships with it off), else, or with `--no-load-data`, with INSERT statements.

Exit codes: 0 imported (duplicates and listed numbers are not errors), 1 some rows were
invalid (see the rejects file), 2 bad arguments, configuration or unreadable file,
3 database error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import phonenumbers
import pymysql

import clock
import db
import do_not_call
import lead_rows
import queries
import scheduler_config
import working_time
from dnc_import import run_dnc_load
from lead_files import BadFileError, RejectsFile, batches, open_table
from lead_rows import (
    ImportConfigError,
    LeadRow,
    Reject,
    build_column_map,
    parse_map_options,
)
from lead_writes import DEFAULT_BATCH_SIZE, BatchWriter, Counts, Options, Spreader
from phone import mask_digits

logger = logging.getLogger(__name__)

AUTO_WORKERS_MIN_BYTES = 4 << 20
MAX_AUTO_WORKERS = 4
IMPORT_LOCK_NAME = "pearl_importar_leads"
IMPORT_LOCK_WAIT_SECONDS = 10
EXIT_OK, EXIT_INVALID_ROWS, EXIT_CONFIG, EXIT_DATABASE = 0, 1, 2, 3


# --- the run -------------------------------------------------------------------------------


def _auto_workers(path: Path) -> int:
    """Validation processes: one per CPU (at most 4) for files over 4 MB, else none."""
    if path.stat().st_size < AUTO_WORKERS_MIN_BYTES:
        return 1
    return max(1, min(MAX_AUTO_WORKERS, os.cpu_count() or 1))


def parsed_batches(
    batches: Iterable[list[tuple[int, list[str]]]],
    columns: lead_rows.ColumnMap,
    region: str,
    workers: int,
) -> Iterator[list[LeadRow | Reject]]:
    """Each batch validated (lead_rows.parse_batch), in file order.

    Row validation is most of the importer's own CPU time; with `workers` > 1 it runs in
    that many processes while this one reads the file and the writer thread
    (lead_writes.BatchWriter) writes earlier batches. At most 2 x workers batches are in
    flight, so memory stays flat whatever the file's size.
    """
    if workers <= 1:
        for batch in batches:
            yield lead_rows.parse_batch(batch, columns, region)
        return
    with ProcessPoolExecutor(workers) as pool:
        pending: deque[Future] = deque()
        for batch in batches:
            pending.append(pool.submit(lead_rows.parse_batch, batch, columns, region))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _progress(total: int | None, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="row", file=sys.stderr, leave=False)


def run_import(
    path: Path, options: Options, *, column_maps: Sequence[str] = (), progress: bool = False
) -> dict[str, Any]:
    """Import `path`; return the report (counts, file facts, rejects file).

    Raises BadFileError / ImportConfigError (exit 2) and database errors (exit 3).
    """
    table = open_table(path)
    columns = build_column_map(table.header, parse_map_options(column_maps))
    with db.transaction("import: lock and config") as cur:
        locked = db.fetch_one(
            cur,
            queries.IMPORT_LOCK,
            {"name": IMPORT_LOCK_NAME, "timeout": IMPORT_LOCK_WAIT_SECONDS},
        )
        if not locked or locked["taken"] != 1:
            raise ImportConfigError(
                "another import is running (its lock is held); try again when it ends"
            )
        config = scheduler_config.get_config(cur)
        spreader = None
        if options.schedule:
            spreader = Spreader(config.working_time, options.per_hour)
            for row in db.fetch_all(
                cur, queries.LAST_FIRST_CALL_BY_ZONE, {"origen": options.origen}
            ):
                spreader.last[row["timezone"]] = clock.from_db(row["last_at"])
    counts = Counts()
    rejects = RejectsFile(path, enabled=not options.dry_run)
    seen_in_dry_run: set[str] = set()  # a dry run cannot ask the database about earlier batches
    bar = _progress(table.total_rows, progress)
    writer = BatchWriter(options, spreader)

    def finished(done: Iterator[tuple[Any, Counts, list[Reject]]]) -> None:
        for (batch_counts, bad), written, listed in done:
            batch_counts.add(written)
            counts.add(batch_counts)
            rejects.write(sorted([*bad, *listed], key=lambda r: r.line))
            if bar is not None:
                bar.update(batch_counts.read)

    try:
        raw_batches = batches(table.rows, options.batch_size)
        workers = options.workers or _auto_workers(path)
        for parsed_batch in parsed_batches(raw_batches, columns, options.region, workers):
            batch_counts = Counts(read=len(parsed_batch))
            unique: dict[str, LeadRow] = {}
            bad: list[Reject] = []
            for parsed in parsed_batch:
                if isinstance(parsed, Reject):
                    bad.append(parsed)
                elif parsed.telefono in unique or parsed.telefono in seen_in_dry_run:
                    batch_counts.duplicates += 1
                else:
                    unique[parsed.telefono] = parsed
            if options.dry_run:
                seen_in_dry_run.update(unique)
            batch_counts.invalid = len(bad)
            finished(writer.submit(tuple(unique.values()), (batch_counts, bad)))
        finished(writer.drain())
    finally:
        writer.close()
        if bar is not None:
            bar.close()
        rejects.close()
        db.close_connection()  # also releases the import lock
    return {
        "file": path.name,
        "origen": options.origen,
        "dry_run": options.dry_run,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "columns": {name: table.header[i] for name, i in columns.fields.items()},
        "call_data_columns": list(columns.extras.values()),
        **asdict(counts),
        "rejects_file": str(rejects.path) if rejects.written else None,
    }


# --- command line --------------------------------------------------------------------------


def _text_report(report: dict[str, Any]) -> str:
    mode = " (dry run: nothing written)" if report["dry_run"] else ""
    if "added" in report:
        lines = [f"do-not-call list from {report['file']} (source {report['source']}){mode}"]
        keys = ("read", "added", "already_listed", "duplicates", "invalid")
    else:
        lines = [f"import of {report['file']} as origen {report['origen']!r}{mode}"]
        keys = ("read", "imported", "updated", "duplicates", "on_dnc_list", "invalid", "scheduled")
    lines += [f"  {key.replace('_', ' ')}: {report[key]}" for key in keys]
    if report.get("rejects_file"):
        lines.append(f"  rejected rows written to {report['rejects_file']}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Import leads from CSV/XLSX, or load a do-not-call list (--dnc).",
        epilog="Exit codes: 0 ok, 1 some rows invalid, 2 bad arguments or file, 3 database error.",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--dnc", action="store_true", help="load FILE into the do-not-call list")
    parser.add_argument(
        "--source", help="with --dnc: where the list comes from (default: file name)"
    )
    parser.add_argument(
        "--origen", help="campaign/file name stored on each lead (default: file name)"
    )
    parser.add_argument("--map", action="append", default=[], metavar="'Column=field'")
    parser.add_argument(
        "--region", help="region of national numbers (default PEARL_DEFAULT_REGION, else ES)"
    )
    parser.add_argument(
        "--update", action="store_true", help="refresh the data of duplicate open leads"
    )
    parser.add_argument("--schedule", action="store_true", help="give each new lead its first call")
    parser.add_argument(
        "--per-hour", type=float, help="with --schedule: first calls per hour and zone"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="read, validate and report; write nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--workers", type=int, default=0, help="validating processes (default: automatic)"
    )
    parser.add_argument(
        "--no-load-data",
        action="store_true",
        help="insert with INSERT statements, not LOAD DATA LOCAL INFILE (for a proxy or server "
        "that does not take local files; slower)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=argparse.SUPPRESS
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    region = (args.region or do_not_call.default_region()).upper()
    try:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ImportConfigError(f"unknown region {region!r} (an ISO 3166 code such as ES)")
        if args.per_hour is not None and (args.per_hour <= 0 or not args.schedule):
            raise ImportConfigError("--per-hour needs --schedule and a number above zero")
        if args.workers < 0:
            raise ImportConfigError("--workers must be 0 (automatic) or more")
        if args.batch_size < 1:
            raise ImportConfigError("--batch-size must be at least 1")
        if args.dnc:
            report = run_dnc_load(
                args.file,
                source=args.source or args.file.name,
                region=region,
                dry_run=args.dry_run,
                column_maps=args.map,
                batch_size=args.batch_size,
            )
        else:
            options = Options(
                origen=(args.origen or args.file.name)[:255],
                region=region,
                update=args.update,
                schedule=args.schedule,
                per_hour=args.per_hour,
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                workers=args.workers,
                load_data=not args.no_load_data,
            )
            report = run_import(
                args.file, options, column_maps=args.map, progress=sys.stderr.isatty()
            )
    except (BadFileError, ImportConfigError, working_time.NoWorkingTimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:  # DB settings from the environment
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (db.DatabaseError, pymysql.err.MySQLError) as exc:
        # A driver's message can quote a refused value: a phone number.
        print(f"database error: {mask_digits(exc)}", file=sys.stderr)
        return EXIT_DATABASE
    print(json.dumps(report, ensure_ascii=False) if args.json else _text_report(report))
    return EXIT_INVALID_ROWS if report["invalid"] else EXIT_OK


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    sys.exit(main())
