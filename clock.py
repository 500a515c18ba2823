"""The one place "now" comes from.

Everything that needs the current time calls `utc_now()`, so tests can move
time with time-machine and the database only ever sees UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset_lock = threading.Lock()
_offset = timedelta(0)


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (moved by `rehearsal_at`, if active)."""
    return datetime.now(UTC) + _offset


@contextmanager
def rehearsal_at(moment: datetime) -> Iterator[None]:
    """Run a block as if the clock read `moment` when it starts (`--now` rehearsals on a demo
    database). Time keeps flowing from there, so decisions inside still take a fresh clock.
    Raises ValueError for a naive moment."""
    global _offset
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a rehearsal time must be aware (give its UTC offset or zone)")
    with _offset_lock:
        previous = _offset
        _offset = moment.astimezone(UTC) - datetime.now(UTC)
    try:
        yield
    finally:
        with _offset_lock:
            _offset = previous


def to_db(moment: datetime) -> datetime:
    """Convert an aware datetime to the naive UTC value stored in DATETIME columns.

    Microseconds are dropped (DATETIME keeps seconds; MySQL would round them,
    which can push 19:59:59.6 to 20:00:00, outside an exclusive window end).
    Raises ValueError for a naive datetime: its zone would be a guess.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("to_db needs an aware datetime; naive values are ambiguous")
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def from_db(value: datetime | None) -> datetime | None:
    """Read a naive UTC DATETIME column value as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC)
