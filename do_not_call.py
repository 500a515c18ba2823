"""The do-not-call list: numbers (E.164) that are never dialled.

A number gets on the list from a loaded file (`python importar_leads.py --dnc FILE`: Spain's
Lista Robinson export, a client's opt-outs) or when the person asks not to be called again
(the webhook's disposition). The importer never imports a listed number as callable; the
dispatcher's pre-flight closes a lead whose number was listed after import, with
:data:`DNC_CLOSURE_REASON`.

The cursor functions run inside the caller's transaction; :func:`record_do_not_call` is the
one-call wrapper with a transaction of its own. Numbers are personal data: nothing here logs
or raises with a full number.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import datetime

import clock
import db
import queries
from phone import InvalidPhoneError, is_e164, mask_phone, normalize_phone

logger = logging.getLogger(__name__)

# The closure reason of a lead whose number is on the list (the original system's wording).
DNC_CLOSURE_REASON = "Lista negra"
# Column widths of the do_not_call table.
_SOURCE_MAX = 100
_REASON_MAX = 255
# Numbers per look-up (one JSON array parameter each).
_LOOKUP_CHUNK = 10_000


def default_region() -> str:
    """The region national numbers are read in: PEARL_DEFAULT_REGION, else ES."""
    return (os.environ.get("PEARL_DEFAULT_REGION", "").strip() or "ES").upper()


def to_e164(telefono: str, region: str | None = None) -> str:
    """`telefono` in E.164 (unchanged when it already is).

    Raises InvalidPhoneError (message masked) for a number that is not valid.
    """
    if is_e164(telefono):
        return telefono
    return normalize_phone(telefono, region or default_region())


def is_on_do_not_call(cur, telefono: str) -> bool:
    """Whether `telefono` (E.164, or national in the default region) is on the list.

    A value that is not a valid phone number cannot be on the list: False.
    """
    try:
        number = to_e164(telefono)
    except InvalidPhoneError:
        return False
    return db.fetch_one(cur, queries.DNC_CONTAINS, (number,)) is not None


def numbers_on_do_not_call(cur, numbers: Iterable[str]) -> set[str]:
    """The subset of the given E.164 numbers that is on the list (one query per 10,000)."""
    pending = list(dict.fromkeys(numbers))
    found: set[str] = set()
    for start in range(0, len(pending), _LOOKUP_CHUNK):
        chunk = json.dumps(pending[start : start + _LOOKUP_CHUNK])
        rows = db.fetch_all(cur, queries.DNC_AMONG, {"phones": chunk})
        found.update(row["telefono"] for row in rows)
    return found


def add_to_do_not_call(
    cur,
    telefono: str,
    source: str | None,
    reason: str | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Put `telefono` on the list inside the caller's transaction; True if it was not there.

    `telefono` is E.164 or national in the default region (PEARL_DEFAULT_REGION, else ES).
    A number already listed keeps its first source, reason and date. Source and reason are
    cut to the column widths (100 and 255 characters).
    Raises InvalidPhoneError (message masked) when `telefono` is not a valid number.
    """
    number = to_e164(telefono)
    added = db.execute(
        cur,
        queries.DNC_ADD,
        {
            "telefono": number,
            "source": source[:_SOURCE_MAX] if source else None,
            "reason": reason[:_REASON_MAX] if reason else None,
            "now": clock.to_db(now or clock.utc_now()),
        },
    )
    if added:
        logger.info("added %s to the do-not-call list (source %s)", mask_phone(number), source)
    return bool(added)


def add_many_to_do_not_call(
    cur, numbers: Sequence[str], source: str | None, reason: str | None
) -> None:
    """Put E.164 `numbers` on the list in one multi-row statement (a file's batch), inside
    the caller's transaction; numbers already listed keep their first source and date."""
    now = clock.to_db(clock.utc_now())
    cur.executemany(
        queries.DNC_ADD.sql,
        [
            {
                "telefono": number,
                "source": source[:_SOURCE_MAX] if source else None,
                "reason": reason[:_REASON_MAX] if reason else None,
                "now": now,
            }
            for number in numbers
        ],
    )


def record_do_not_call(telefono: str, source: str | None, reason: str | None) -> bool:
    """:func:`add_to_do_not_call` in a transaction of its own; True if newly added."""
    return db.run_in_transaction(
        lambda cur: add_to_do_not_call(cur, telefono, source, reason), name="add to do-not-call"
    )
