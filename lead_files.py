"""Reading the lists call centres receive: CSV (any delimiter, UTF-8 with or without BOM,
Latin-1/Windows-1252) and XLSX, streamed row by row so memory does not grow with the file.

`open_table(path)` returns a `Table`: its header, and an iterator of (line number, cells) with
every cell as a stripped string. Column names are matched with :func:`normalise_header`
(case- and accent-insensitive). Errors with the file itself raise `BadFileError` with a
one-line message.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # lead_rows imports this module
    from lead_rows import Reject

# Bytes read to sniff the delimiter.
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_CHUNK = 1 << 20


class BadFileError(ValueError):
    """The file cannot be read as a table (missing, unknown format, no header, bad bytes)."""


def normalise_header(name: object) -> str:
    """`name` lower-cased, accents removed, runs of other characters as one `_`.

    "Teléfono móvil" -> "telefono_movil"; "  APELLIDOS " -> "apellidos".
    """
    text = unicodedata.normalize("NFKD", str(name or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass
class Table:
    """A header and a one-pass iterator of data rows: (line or row number, cells)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str | None = None
    delimiter: str | None = None
    total_rows: int | None = None  # known for XLSX (an upper bound), None for CSV


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file decodes as UTF-8 (BOM or not), else 'cp1252' when it
    decodes as Windows-1252 (Excel's "CSV" in Spain), else 'latin-1' (never fails).

    Streams the file once with an incremental decoder: memory stays flat.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    decoder = codecs.getincrementaldecoder("cp1252")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    if len(lines) > 1 and not sample.endswith("\n"):
        lines = lines[:-1]  # the sample may cut the last line
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        pass
    # One column, or a file the sniffer cannot decide on: the most frequent candidate in
    # the header line, else a comma.
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _open_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    handle = path.open("r", encoding=encoding, newline="")
    delimiter = _sniff_delimiter(handle.read(_SNIFF_BYTES))
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise BadFileError(f"{path.name} is empty") from None
    except csv.Error as exc:
        handle.close()
        raise BadFileError(f"{path.name}: cannot read the header: {exc}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            try:
                for record in reader:
                    cells = [cell.strip() for cell in record]
                    if any(cells):
                        yield reader.line_num, cells
            except csv.Error as exc:
                raise BadFileError(f"{path.name} line {reader.line_num}: {exc}") from None

    return Table(
        header=[h.strip() for h in header], rows=rows(), encoding=encoding, delimiter=delimiter
    )


def cell_text(value: Any) -> str:
    """An XLSX cell as text: integral floats without '.0' (phones typed as numbers),
    dates as ISO, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _open_xlsx(path: Path) -> Table:
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean "not a readable xlsx"
        raise BadFileError(
            f"{path.name} is not a readable XLSX file ({type(exc).__name__})"
        ) from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [cell_text(v) for v in next(values)]
    except StopIteration:
        book.close()
        raise BadFileError(f"{path.name}: the first sheet is empty") from None
    total = (sheet.max_row - 1) if sheet.max_row else None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, record in enumerate(values, start=2):
                cells = [cell_text(v) for v in record]
                if any(cells):
                    yield number, cells
        finally:
            book.close()

    return Table(header=header, rows=rows(), total_rows=total)


def open_table(path: Path) -> Table:
    """Open a CSV or XLSX file (by its first bytes, not its name) for streaming.

    Raises BadFileError when the file is missing, empty, or not CSV/XLSX text.
    """
    if not path.is_file():
        raise BadFileError(f"{path} does not exist or is not a file")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"PK"):
        return _open_xlsx(path)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFileError(f"{path.name} is an old .xls workbook: save it as .xlsx or .csv")
    return _open_csv(path)


# --- writing the rejects, batching the rows ------------------------------------------------


class RejectsFile:
    """The rejects CSV beside the input, opened on the first reject (never in a dry run)."""

    def __init__(self, source: Path, enabled: bool) -> None:
        self.path = source.with_name(source.name + ".rejects.csv")
        self.enabled = enabled
        self._handle: TextIO | None = None
        self._writer: Any = None

    def write(self, rejects: Iterable[Reject]) -> None:
        for reject in rejects:
            if not self.enabled:
                return
            if self._writer is None:
                self._handle = self.path.open("w", encoding="utf-8", newline="")
                self._writer = csv.writer(self._handle)
                self._writer.writerow(["line", "value", "reason"])
            self._writer.writerow([reject.line, reject.value, reject.reason])

    @property
    def written(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def batches(
    rows: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
