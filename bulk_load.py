"""Rows into a table with LOAD DATA LOCAL INFILE: the way MySQL and MariaDB take rows
fastest, used by the lead import when the server allows it (``local_infile`` on).

The rows go through a tab-separated file in a private temporary directory (mode 0700, in
/dev/shm when there is one: memory, not disk), removed as soon as the server has read it: it
holds at most the batch being loaded.
LOAD DATA LOCAL turns a refused row (a duplicate key, a value too long) into a warning and
carries on, so :func:`load_file` checks that the server took exactly the rows written, with
no warning, and raises :class:`BulkLoadError` otherwise: the caller's transaction rolls back
and nothing of the batch is written. Its message names MySQL's warning code, never a value
(a refused row's value is a phone number).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import db
import queries
from queries import Query

__all__ = ["BulkLoadError", "LoadFiles", "load_file", "server_allows_local_infile", "tsv_field"]

_NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r", "\0")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})
_WARNING_TEXT = {
    1062: "a duplicate key",
    1265: "a value truncated",
    1366: "a value of the wrong type",
    1406: "a value too long",
    1452: "a reference to a row that does not exist",
    4025: "a failed CHECK constraint",
}


class BulkLoadError(db.DatabaseError):
    """The server did not take every row of a load as it was written (one line, no values)."""


def tsv_field(value: str | int | None) -> str:
    """One field in LOAD DATA's default format: ``\\N`` for NULL; backslash, tab, newline,
    carriage return and NUL escaped with a backslash."""
    if value is None:
        return _NULL
    text = value if isinstance(value, str) else str(value)
    if any(ch in text for ch in _SPECIAL):
        return text.translate(_ESCAPES)
    return text


class LoadFiles:
    """A private temporary directory for the files of one run's loads; ``close()`` removes
    it with whatever it holds."""

    def __init__(self) -> None:
        shm = Path("/dev/shm")  # noqa: S108 (a private mkdtemp directory inside it)
        where = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.directory = Path(tempfile.mkdtemp(prefix="bulk_load_", dir=where))

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.tsv"

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def server_allows_local_infile(cur) -> bool:
    """Whether the server accepts LOAD DATA LOCAL INFILE."""
    row = db.fetch_one(cur, queries.LOCAL_INFILE_ENABLED)
    return row is not None and str(row["enabled"]) in ("1", "ON")


def load_file(
    cur, query: Query, path: Path, rows: Iterable[Sequence[str | int | None]],
    params: Mapping[str, Any],
) -> int:  # fmt: skip
    """Write `rows` to `path` and run `query` (a LOAD DATA LOCAL INFILE of ``%(path)s``) with
    `params`; return the number of rows loaded. The connection must allow local files
    (db.allow_local_infile). Raises BulkLoadError when the server refused or changed any row
    (fewer rows than written, or any warning)."""
    written = 0
    try:
        with path.open("w", encoding="utf-8", newline="\n") as out:
            for row in rows:
                out.write("\t".join([tsv_field(value) for value in row]))
                out.write("\n")
                written += 1
        loaded = db.execute(cur, query, {**params, "path": str(path)})
    finally:
        path.unlink(missing_ok=True)  # personal data: on disk only while it is being loaded
    if loaded == written and not cur.warning_count:
        return loaded
    warnings = db.fetch_all(cur, queries.LOAD_WARNINGS) if cur.warning_count else []
    codes = sorted({int(w["Code"]) for w in warnings})
    what = ", ".join(f"MySQL {c} ({_WARNING_TEXT.get(c, 'see the server log')})" for c in codes)
    raise BulkLoadError(
        f"the database took {loaded} of {written} rows of the batch"
        + (f" with warnings: {what}" if what else "")
        + "; nothing of the batch was written"
    )
