"""Importing leads from CSV/XLSX and loading the do-not-call list, against the real database."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import time_machine

import do_not_call
import importar_leads
import lead_files
import lead_rows
from tests.helpers import ROOT, make_lead, run_script, sql, tables_checksum


@pytest.fixture
def db_ready(clean_db):
    sql("DELETE FROM do_not_call")
    yield clean_db
    sql("DELETE FROM do_not_call")


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _import(*args: str) -> tuple[int, dict]:
    result = run_script("importar_leads.py", *args, "--json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _leads(origen: str | None = None) -> dict[str, dict]:
    rows = sql("SELECT * FROM leads" + (" WHERE origen_archivo = %s" if origen else ""),
               (origen,) if origen else ())  # fmt: skip
    return {r["telefono"]: r for r in rows}


# --- pure -------------------------------------------------------------------------------------


def test_headers_match_case_and_accent_insensitively() -> None:
    assert lead_files.normalise_header("  Teléfono ") == "telefono"
    assert lead_files.normalise_header("APELLIDOS") == "apellidos"
    assert lead_files.normalise_header("Teléfono móvil") == "telefono_movil"
    columns = lead_rows.build_column_map(["NOMBRE", "Teléfono", "Póliza"], {})
    assert columns.fields == {"nombre": 0, "telefono": 1}
    assert columns.extras == {2: "Póliza"}


def test_map_option_and_its_errors() -> None:
    overrides = lead_rows.parse_map_options(["Teléfono móvil=telefono"])
    columns = lead_rows.build_column_map(["Nombre", "Teléfono móvil"], overrides)
    assert columns.fields["telefono"] == 1
    with pytest.raises(lead_rows.ImportConfigError, match="unknown field"):
        lead_rows.parse_map_options(["Movil=phone"])
    with pytest.raises(lead_rows.ImportConfigError, match="lacks"):
        lead_rows.build_column_map(
            ["Nombre", "Tel"], lead_rows.parse_map_options(["Movil=telefono"])
        )
    with pytest.raises(lead_rows.ImportConfigError, match="no phone column"):
        lead_rows.build_column_map(["Nombre", "Movil"], {})


@pytest.mark.parametrize(
    ("phone", "zone"),
    [
        ("+1 212 555 0100", "America/New_York"),
        ("612 345 678", None),  # a Spanish mobile: mainland or Canaries -> business zone
        ("912 345 678", "Europe/Madrid"),  # a Madrid landline
        ("+7 916 123 45 67", None),  # Russia: many zones -> business zone
    ],
)
def test_zone_from_the_number(phone: str, zone: str | None) -> None:
    columns = lead_rows.build_column_map(["telefono"], {})
    row = lead_rows.parse_row(2, [phone], columns, "ES")
    assert isinstance(row, lead_rows.LeadRow)
    assert row.timezone == zone


def test_invalid_rows_become_rejects_with_reasons() -> None:
    columns = lead_rows.build_column_map(["telefono", "timezone", "nombre"], {})
    bad_phone = lead_rows.parse_row(7, ["12", "", "x"], columns, "ES")
    assert isinstance(bad_phone, lead_rows.Reject) and bad_phone.line == 7
    assert "not a valid number" in bad_phone.reason
    bad_zone = lead_rows.parse_row(8, ["612345678", "Mars/Base", "x"], columns, "ES")
    assert isinstance(bad_zone, lead_rows.Reject) and "time zone" in bad_zone.reason
    too_long = lead_rows.parse_row(9, ["612345678", "", "n" * 101], columns, "ES")
    assert isinstance(too_long, lead_rows.Reject) and "nombre" in too_long.reason


# --- files and the database --------------------------------------------------------------------


def test_csv_utf8_bom_semicolons_auto_mapping_and_call_data(db_ready, tmp_path) -> None:
    path = _write(
        tmp_path / "campana.csv",
        "\ufeffNombre;APELLIDOS;Teléfono;Póliza;Zona\n"
        "Ana;García;612 345 678;P-1;norte\n"
        "Bob;Smith;+1 212 555 0100;P-2;\n"
        "Mal;Número;12345;P-3;\n",
    )
    code, report = _import(str(path), "--origen", "Campaña 1")
    assert code == 1  # one invalid row
    assert (report["read"], report["imported"], report["invalid"]) == (3, 2, 1)
    assert report["encoding"] == "utf-8-sig" and report["delimiter"] == ";"
    leads = _leads("Campaña 1")
    ana = leads["+34612345678"]
    assert (ana["nombre"], ana["apellidos"], ana["timezone"]) == ("Ana", "García", None)
    assert json.loads(ana["call_data"]) == {"Póliza": "P-1", "Zona": "norte"}
    assert leads["+12125550100"]["timezone"] == "America/New_York"
    with (tmp_path / "campana.csv.rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert rejects == [{"line": "4", "value": "12345", "reason": rejects[0]["reason"]}]
    assert "not a valid number" in rejects[0]["reason"]


def test_latin1_tab_separated_with_map(db_ready, tmp_path) -> None:
    path = _write(
        tmp_path / "lista.txt",
        "Nombre\tTeléfono móvil\tOficina\nMaría\t699 111 222\tMálaga\n",
        encoding="cp1252",
    )
    code, report = _import(str(path), "--map", "Teléfono móvil=telefono")
    assert code == 0
    assert report["encoding"] == "cp1252" and report["delimiter"] == "\t"
    lead = _leads()["+34699111222"]
    assert lead["nombre"] == "María"
    assert json.loads(lead["call_data"]) == {"Oficina": "Málaga"}
    assert lead["origen_archivo"] == "lista.txt"


def test_xlsx_with_numeric_phones_and_timezone_column(db_ready, tmp_path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["nombre", "telefono", "timezone", "Importe"])
    sheet.append(["Eva", 612000111, "Atlantic/Canary", 12.5])
    sheet.append(["Luis", "+44 20 7946 0958", None, 3])
    path = tmp_path / "leads.xlsx"
    book.save(path)
    code, report = _import(str(path))
    assert code == 0, report
    leads = _leads()
    assert leads["+34612000111"]["timezone"] == "Atlantic/Canary"
    assert json.loads(leads["+34612000111"]["call_data"]) == {"Importe": "12.5"}
    assert leads["+442079460958"]["timezone"] == "Europe/London"


def test_duplicates_in_file_and_open_leads_then_update(db_ready, tmp_path) -> None:
    existing = make_lead(nombre="Viejo", telefono="+34612345678", origen_archivo="otra")
    closed = make_lead(nombre="Cerrado", telefono="+34612345679", lead_status="closed")
    path = _write(
        tmp_path / "d.csv",
        "nombre,telefono\nNuevo,612345678\nRepe,600000001\nRepe2,600 000 001\nOtra,612345679\n",
    )
    code, report = _import(str(path))
    assert code == 0
    assert (report["imported"], report["duplicates"], report["updated"]) == (2, 2, 0)
    assert sql("SELECT nombre FROM leads WHERE id = %s", (existing,))[0]["nombre"] == "Viejo"
    # A closed lead of another file does not make the number a duplicate.
    assert len(sql("SELECT id FROM leads WHERE telefono = '+34612345679'")) == 2
    assert closed
    # Re-running imports nothing twice.
    code, again = _import(str(path))
    assert (again["imported"], again["duplicates"]) == (0, 4)
    code, updated = _import(str(path), "--update")
    # The file's second 600000001 row stays a duplicate of its first.
    assert (updated["updated"], updated["duplicates"], updated["imported"]) == (3, 1, 0)
    assert sql("SELECT nombre FROM leads WHERE id = %s", (existing,))[0]["nombre"] == "Nuevo"


def test_dnc_list_loaded_and_respected(db_ready, tmp_path) -> None:
    robinson = _write(tmp_path / "robinson.csv", "612345678\n+34 699 000 111\nbasura\n612345678\n")
    result = run_script("importar_leads.py", "--dnc", str(robinson), "--source", "Lista Robinson")
    assert result.returncode == 1, result.stderr  # one invalid number
    assert "added: 2" in result.stdout and "invalid: 1" in result.stdout
    assert "612345678" not in result.stdout  # numbers never printed
    again = run_script("importar_leads.py", "--dnc", str(robinson), "--json")
    assert json.loads(again.stdout)["added"] == 0
    assert json.loads(again.stdout)["already_listed"] == 2
    rows = sql("SELECT telefono, source FROM do_not_call ORDER BY telefono")
    assert rows == [
        {"telefono": "+34612345678", "source": "Lista Robinson"},
        {"telefono": "+34699000111", "source": "Lista Robinson"},
    ]
    leads = _write(tmp_path / "l.csv", "telefono\n612345678\n611222333\n")
    _code, report = _import(str(leads))
    assert (report["imported"], report["on_dnc_list"]) == (1, 1)
    assert "+34612345678" not in _leads()


def test_dnc_library_functions(db_ready) -> None:
    import db

    assert do_not_call.record_do_not_call("611 000 222", "webhook", "asked not to be called")
    assert not do_not_call.record_do_not_call("+34611000222", "other", None)
    with db.transaction() as cur:
        assert do_not_call.is_on_do_not_call(cur, "+34611000222")
        assert do_not_call.is_on_do_not_call(cur, "611000222")
        assert not do_not_call.is_on_do_not_call(cur, "+34611000223")
        assert not do_not_call.is_on_do_not_call(cur, "not a number")
    row = sql("SELECT source, reason FROM do_not_call")[0]
    assert row == {"source": "webhook", "reason": "asked not to be called"}
    # Inside the caller's transaction: a rollback leaves the list untouched.
    with pytest.raises(RuntimeError), db.transaction() as cur:
        do_not_call.add_to_do_not_call(cur, "+34611000999", "x", None)
        raise RuntimeError("caller fails")
    assert len(sql("SELECT * FROM do_not_call")) == 1


def test_dry_run_writes_nothing(db_ready, tmp_path) -> None:
    path = _write(tmp_path / "dry.csv", "telefono\n612345678\n12\n612345678\n")
    before = tables_checksum()
    result = run_script("importar_leads.py", str(path), "--dry-run", "--schedule", "--json")
    report = json.loads(result.stdout)
    assert (report["imported"], report["invalid"], report["duplicates"]) == (1, 1, 1)
    assert report["dry_run"] is True and report["rejects_file"] is None
    assert tables_checksum() == before
    assert not (tmp_path / "dry.csv.rejects.csv").exists()


def test_schedule_spreads_first_calls_in_working_time(db_ready, tmp_path) -> None:
    lines = ["telefono"] + [f"6123450{i:02d}" for i in range(5)] + ["+1 212 555 0100"]
    path = _write(tmp_path / "s.csv", "\n".join(lines) + "\n")
    # Monday 2026-12-07 07:00 UTC = 08:00 in Madrid, 02:00 in New York.
    with time_machine.travel(datetime(2026, 12, 7, 7, 0, tzinfo=UTC), tick=False):
        code = importar_leads.main([str(path), "--schedule", "--per-hour", "60", "--json"])
    assert code == 0
    rows = sql(
        "SELECT l.telefono, cs.scheduled_at, cs.attempt_number, cs.status FROM call_schedule cs "
        "JOIN leads l ON l.id = cs.lead_id ORDER BY cs.scheduled_at, l.telefono"
    )
    assert all(r["attempt_number"] == 1 and r["status"] == "pending" for r in rows)
    madrid = [r["scheduled_at"] for r in rows if r["telefono"].startswith("+34")]
    start = datetime(2026, 12, 7, 9, 0)  # 10:00 Madrid
    assert madrid == [start + timedelta(minutes=i) for i in range(5)]
    new_york = [r["scheduled_at"] for r in rows if r["telefono"].startswith("+1")]
    assert new_york == [datetime(2026, 12, 7, 15, 0)]  # 10:00 in New York


def test_bad_input_is_exit_2_and_writes_nothing(db_ready, tmp_path) -> None:
    before = tables_checksum()
    assert run_script("importar_leads.py", str(tmp_path / "missing.csv")).returncode == 2
    no_phone = _write(tmp_path / "np.csv", "nombre,movil\nA,612345678\n")
    result = run_script("importar_leads.py", str(no_phone))
    assert result.returncode == 2 and "no phone column" in result.stderr
    assert run_script("importar_leads.py", str(no_phone), "--region", "XX").returncode == 2
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert run_script("importar_leads.py", str(xls)).returncode == 2
    assert tables_checksum() == before


def _snapshot(origen: str) -> list[tuple]:
    return sorted(
        (r["telefono"], r["nombre"], r["n"])
        for r in sql(
            "SELECT l.telefono, l.nombre, COUNT(cs.id) AS n FROM leads l "
            "LEFT JOIN call_schedule cs ON cs.lead_id = l.id AND cs.status = 'pending' "
            "WHERE l.origen_archivo = %s GROUP BY l.id",
            (origen,),
        )
    )


@pytest.mark.slow
def test_sigkill_mid_import_then_rerun_equals_one_clean_run(db_ready, tmp_path) -> None:
    total = 6000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("nombre,telefono\n")
        for i in range(total):
            handle.write(f"L{i},6{i:08d}\n")
    args = [str(path), "--origen", "killed", "--schedule", "--batch-size", "20"]
    proc = subprocess.Popen(
        [sys.executable, "importar_leads.py", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen = sql("SELECT COUNT(*) AS n FROM leads WHERE origen_archivo = 'killed'")[0]["n"]
        if seen >= 200:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = sql("SELECT COUNT(*) AS n FROM leads WHERE origen_archivo = 'killed'")[0]["n"]
    assert 0 < at_kill < total, "the import must be killed in the middle"
    assert at_kill % 20 == 0  # whole batches only
    result = run_script("importar_leads.py", *args, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["imported"] == total - at_kill and report["duplicates"] == at_kill
    clean = run_script("importar_leads.py", str(path), "--origen", "clean", "--schedule",
                       "--json")  # fmt: skip
    assert clean.returncode == 0
    # The clean run sees the first run's numbers as open leads: all duplicates.
    assert json.loads(clean.stdout)["duplicates"] == total
    killed = _snapshot("killed")
    assert len(killed) == total
    assert all(n == 1 for _t, _n, n in killed)
    assert sorted(t for t, _n, _c in killed) == sorted(f"+346{i:08d}" for i in range(total))


def test_validation_processes_give_the_same_result(db_ready, tmp_path) -> None:
    lines = (
        ["nombre,telefono"] + [f"N{i},6{i:08d}" for i in range(300)] + ["Bad,12", "Dup,600000001"]
    )
    path = _write(tmp_path / "w.csv", "\n".join(lines) + "\n")
    _code, serial = _import(str(path), "--origen", "serial", "--batch-size", "50", "--dry-run")
    code, parallel = _import(str(path), "--origen", "par", "--batch-size", "50", "--workers", "2")
    assert code == 1
    for key in ("read", "imported", "duplicates", "invalid"):
        assert serial[key] == parallel[key], key
    assert (parallel["read"], parallel["imported"], parallel["invalid"]) == (302, 300, 1)
    assert len(_leads("par")) == 300


def test_a_database_error_never_shows_a_number(db_ready, tmp_path) -> None:
    path = _write(tmp_path / "a.csv", "telefono\n612345678\n")
    result = run_script("importar_leads.py", str(path), env={"DB_DATABASE": "nodb_612345678"})
    assert result.returncode == 3, result.stderr
    assert "database error" in result.stderr and "612345678" not in result.stderr
    assert "678" in result.stderr  # masked as a phone is: the last 3 digits only
