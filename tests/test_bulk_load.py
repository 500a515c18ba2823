"""LOAD DATA LOCAL INFILE for the lead import (bulk_load.py), against the real database: the
file format, refused rows rolling the batch back, and the same result as INSERT statements."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import time_machine

import bulk_load
import db
import importar_leads
import queries
from lead_writes import in_file_order
from tests.helpers import make_lead, sql, tables_checksum


@pytest.fixture
def db_ready(clean_db):
    sql("DELETE FROM do_not_call")
    yield clean_db
    sql("DELETE FROM do_not_call")


def in_loading_thread(work):
    """Run `work()` in a thread whose connection may send local files, as the import's
    writer thread does (the flag stays on that thread and its connection is closed)."""

    def run():
        db.allow_local_infile()
        try:
            return work()
        finally:
            db.close_connection()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


# --- pure -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (None, "\\N"),
        ("", ""),
        (42, "42"),
        ("Ana María", "Ana María"),
        ("a\tb", "a\\tb"),
        ("line1\nline2\r", "line1\\nline2\\r"),
        ("back\\slash", "back\\\\slash"),
        ("\\N", "\\\\N"),  # the text "\N", not NULL
        ("nul\0", "nul\\0"),
        ('{"k": "a\\"b"}', '{"k": "a\\\\"b"}'),
    ],
)
def test_tsv_field_escapes_what_load_data_would_read_otherwise(value, field) -> None:
    assert bulk_load.tsv_field(value) == field


def test_ids_are_taken_in_file_order_only_when_evenly_spaced() -> None:
    assert in_file_order(3, 3, 10, 12, 1)
    assert in_file_order(3, 3, 10, 16, 3)  # a Galera node's auto_increment_increment
    assert in_file_order(1, 1, 7, 7, 1)
    assert not in_file_order(3, 3, 10, 13, 1)  # a gap: another session's insert in between
    assert not in_file_order(3, 4, 10, 13, 1)  # a row of the file not from this load
    assert not in_file_order(3, 2, 10, 11, 1)
    assert not in_file_order(0, 0, None, None, 1)
    assert not in_file_order(2, 2, 5, 6, 0)


# --- the database ---------------------------------------------------------------------------


def test_the_server_here_accepts_local_files(db_ready) -> None:
    with db.transaction("test") as cur:
        assert bulk_load.server_allows_local_infile(cur)


def test_a_refused_row_raises_and_the_batch_writes_nothing(db_ready) -> None:
    lead = make_lead(telefono="+34600000001")
    other = make_lead(telefono="+34600000002")
    sql(
        "INSERT INTO call_schedule (lead_id, scheduled_at, status) VALUES (%s, %s, 'pending')",
        (lead, datetime(2026, 12, 7, 10, 0)),
    )
    before = tables_checksum()
    files = bulk_load.LoadFiles()
    now = datetime(2026, 12, 7, 9, 0)

    def load_calls():  # the second pending row of `lead` is a duplicate key: a warning
        with db.transaction("test load") as cur:
            bulk_load.load_file(
                cur, queries.LOAD_FIRST_CALLS, files.path("calls"),
                [(other, now), (lead, now)], {"now": now},
            )  # fmt: skip

    def load_leads():  # a name longer than the column: truncated with a warning
        with db.transaction("test load") as cur:
            bulk_load.load_file(
                cur, queries.LOAD_IMPORTED_LEADS, files.path("leads"),
                [("x" * 101, None, "+34600000003", None, None, None)],
                {"origen": "t", "now": now},
            )  # fmt: skip

    try:
        with pytest.raises(bulk_load.BulkLoadError, match=r"took 1 of 2 rows.*MySQL 1062"):
            in_loading_thread(load_calls)
        with pytest.raises(bulk_load.BulkLoadError, match=r"MySQL 1406|MySQL 1265") as info:
            in_loading_thread(load_leads)
        assert "+34" not in str(info.value) and "\n" not in str(info.value)
        assert list(files.directory.iterdir()) == []  # each file removed once loaded
    finally:
        files.close()
    assert not files.directory.exists()
    assert tables_checksum() == before


def _stored() -> list[tuple]:
    rows = sql(
        "SELECT l.nombre, l.apellidos, l.telefono, l.timezone, l.preferencia_horario, "
        "l.call_data, l.origen_archivo, l.lead_status, l.call_status, l.created_at, "
        "cs.scheduled_at, cs.attempt_number, cs.status "
        "FROM leads l LEFT JOIN call_schedule cs ON cs.lead_id = l.id ORDER BY l.telefono"
    )
    return [
        tuple(json.loads(v) if k == "call_data" and v else v for k, v in r.items()) for r in rows
    ]


AWKWARD = (
    "nombre,apellidos,telefono,nota,ruta\n"
    '"Ana\tMaría","O\'Brien ""la Jefa""",612 345 601,"línea 1\nlínea 2","C:\\\\datos\\\\x"\n'
    '\\N,\\,612 345 602,{"a": 1},\\t\n'
    "Zoë 😀,,612 345 603,,\n"
    "Bob,Smith,+1 212 555 0100,ok,\n"
)


def test_load_data_and_insert_statements_store_the_same_rows(db_ready, tmp_path) -> None:
    path = tmp_path / "awkward.csv"
    path.write_text(AWKWARD, encoding="utf-8")
    results = []
    for extra in ([], ["--no-load-data"]):
        sql("DELETE FROM leads")
        with time_machine.travel(datetime(2026, 12, 7, 7, 0, tzinfo=UTC), tick=False):
            code = importar_leads.main(
                [str(path), "--schedule", "--per-hour", "60", "--batch-size", "2", *extra]
            )
        assert code == 0
        results.append(_stored())
    loaded, inserted = results
    assert loaded == inserted
    assert len(loaded) == 4 and all(row[-1] == "pending" for row in loaded)
    by_phone = {row[2]: row for row in loaded}
    assert by_phone["+34612345601"][:2] == ("Ana\tMaría", 'O\'Brien "la Jefa"')
    assert by_phone["+34612345601"][5] == {"nota": "línea 1\nlínea 2", "ruta": "C:\\\\datos\\\\x"}
    assert by_phone["+34612345602"][:2] == ("\\N", "\\")  # text, not NULL
    assert by_phone["+34612345603"][0] == "Zoë 😀"
