"""Loading a do-not-call list from a file: `python importar_leads.py --dnc FILE`.

Spain's Lista Robinson export or a client's opt-out file, CSV or XLSX: the number column is
`telefono` (or `--map`); a one-column file needs no header. Numbers are normalised to E.164
and added to `do_not_call` in batches, each one transaction; loading the same file again adds
nothing. Invalid numbers go to the rejects file beside the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import db
import do_not_call
from lead_files import RejectsFile, batches, open_table
from lead_rows import ImportConfigError, Reject, build_column_map, parse_map_options
from phone import InvalidPhoneError, normalize_phone

DEFAULT_BATCH_SIZE = 1000


def run_dnc_load(
    path: Path,
    *,
    source: str,
    region: str,
    dry_run: bool = False,
    column_maps: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, Any]:
    """Load the numbers of `path` into do_not_call (idempotent); return the report.

    The number is the `telefono` column (or --map); a file with one column needs no header
    (a first row that is a valid number is data). Invalid numbers go to the rejects file.
    """
    table = open_table(path)
    rows: Iterable[tuple[int, list[str]]] = table.rows
    try:
        index = build_column_map(table.header, parse_map_options(column_maps)).fields["telefono"]
    except ImportConfigError:
        if len(table.header) != 1:
            raise
        index = 0
        try:  # a header-less single column: its first "header" is a number
            normalize_phone(table.header[0], region)
            rows = _chain([(1, list(table.header))], table.rows)
        except InvalidPhoneError:
            pass
    counts = {"read": 0, "added": 0, "already_listed": 0, "duplicates": 0, "invalid": 0}
    rejects = RejectsFile(path, enabled=not dry_run)
    seen_in_dry_run: set[str] = set()
    try:
        for batch in batches(iter(rows), batch_size):
            numbers: dict[str, int] = {}
            bad = []
            for line, cells in batch:
                counts["read"] += 1
                raw = cells[index] if index < len(cells) else ""
                try:
                    number = normalize_phone(raw, region)
                except InvalidPhoneError as exc:
                    bad.append(Reject(line, raw, str(exc)))
                    continue
                if number in numbers or number in seen_in_dry_run:
                    counts["duplicates"] += 1
                else:
                    numbers[number] = line
            counts["invalid"] += len(bad)
            rejects.write(bad)

            def work(cur, numbers=tuple(numbers)):
                listed = do_not_call.numbers_on_do_not_call(cur, numbers)
                new = [n for n in numbers if n not in listed]
                if new and not dry_run:
                    do_not_call.add_many_to_do_not_call(cur, new, source, "imported list")
                return len(listed)

            already = db.run_in_transaction(work, name="load do-not-call batch")
            if dry_run:
                seen_in_dry_run.update(numbers)
            counts["already_listed"] += already
            counts["added"] += len(numbers) - already
    finally:
        rejects.close()
    return {
        "file": path.name,
        "source": source,
        "dry_run": dry_run,
        **counts,
        "rejects_file": str(rejects.path) if rejects.written else None,
    }


def _chain(first: Iterable[Any], rest: Iterator[Any]) -> Iterator[Any]:
    yield from first
    yield from rest
