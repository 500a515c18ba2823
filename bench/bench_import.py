"""Figure 8: importing leads from a CSV file with `importar_leads.py --schedule`.

A CSV of N leads (default 1,000,000; --quick 20,000) the way call centres send them:
national numbers with spaces, a name, surnames and two extra columns for call_data, 1 % of
numbers invalid. `python importar_leads.py FILE --schedule --per-hour 3600` imports it into
an empty leads table as a subprocess (phone validation, zone inference, duplicate and
do-not-call checks, first calls included); its wall time gives rows/s.

Floor, same run: the same rows already normalised (E.164, zone, call_data JSON, origen) in a
tab-separated file, loaded into the same emptied table with LOAD DATA LOCAL INFILE.

Memory: the importer's peak RSS (os.wait4's ru_maxrss of the subprocess) on the N-row file
against a file a tenth the size: flat means ratio <= 1.2.

    python bench/bench_import.py [--quick] [--json]
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_sql
import benchlib
from bench_path import REPO_ROOT
from benchlib import Bench, Figure, Row

GOAL_RATIO = 0.3
GOAL_RSS = 1.2
INVALID_SHARE = 0.01


def write_files(directory: Path, count: int, seed: int, offset: int = 0) -> tuple[Path, Path]:
    """The CSV to import and the floor's normalised TSV of the same valid rows."""
    rng = random.Random(seed)
    csv_path = directory / f"leads_{count}.csv"
    tsv_path = directory / f"leads_{count}.tsv"
    origen = csv_path.name
    with csv_path.open("w", encoding="utf-8") as out, tsv_path.open("w", encoding="utf-8") as tsv:
        out.write("Nombre,Apellidos,Teléfono,Póliza,Ciudad\n")
        for i in range(offset, offset + count):
            number = f"6{i:08d}"
            poliza, ciudad = f"POL-{rng.randrange(10**6):06d}", rng.choice(("Madrid", "Sevilla"))
            if rng.random() < INVALID_SHARE:
                out.write(f"Lead{i},Bench,12{i % 1000},{poliza},{ciudad}\n")
                continue
            out.write(f"Lead{i},Bench,{number[:3]} {number[3:6]} {number[6:]},{poliza},{ciudad}\n")
            call_data = json.dumps({"Póliza": poliza, "Ciudad": ciudad}, ensure_ascii=False)
            tsv.write(f"Lead{i}\tBench\t+34{number}\t\t{call_data}\t{origen}\n")
    return csv_path, tsv_path


def run_import(csv_path: Path) -> tuple[float, int, dict]:
    """Run the importer on `csv_path`: (seconds, peak RSS KiB, report)."""
    errors = csv_path.with_suffix(".stderr")
    started = time.perf_counter()
    with errors.open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, "importar_leads.py", str(csv_path), "--schedule", "--per-hour",
             "3600", "--json"],
            cwd=REPO_ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1) or not out.strip():
        raise RuntimeError(f"importar_leads.py exited {code}: {errors.read_text()[-500:]}")
    return seconds, usage.ru_maxrss, json.loads(out)


def load_floor(bench: Bench, tsv_path: Path) -> float:
    """Seconds to LOAD DATA the normalised rows into the emptied leads table."""
    bench.reset()
    conn = bench.connect(local_infile=True)
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(bench_sql.LOAD_IMPORTED_LEADS.sql, {"path": str(tsv_path)})
        conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def run(bench: Bench) -> Figure:
    """Measure figure 8."""
    count = bench.size(1_000_000, 20_000)
    small_count = count // 10
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        small_csv, _ = write_files(Path(tmp), small_count, bench.seed, offset=50_000_000)
        csv_path, tsv_path = write_files(Path(tmp), count, bench.seed)
        bench.reset()
        _s, small_rss, _r = run_import(small_csv)
        bench.reset()
        seconds, rss, report = run_import(csv_path)
        benchlib._progress(f"  import of {count:,} rows: {seconds:.1f} s, peak RSS {rss} KiB")
        floor_seconds = load_floor(bench, tsv_path)
        bench.reset()
    rate, floor_rate = count / seconds, count / floor_seconds
    speed = benchlib.ratio(rate, floor_rate)
    memory = benchlib.ratio(rss, small_rss)
    figure = Figure(8, "Lead import")
    figure.rows = [
        Row(f"importar_leads.py --schedule, {count:,} rows", rate, "rows/s", floor=floor_rate,
            floor_label="rows/s LOAD DATA", ratio=speed, goal=f">= {GOAL_RATIO}",
            met=speed is not None and speed >= GOAL_RATIO),
        Row(f"importer peak RSS, {count:,} rows", rss / 1024, "MiB", floor=small_rss / 1024,
            floor_label=f"MiB at {small_count:,}", ratio=memory, goal=f"<= {GOAL_RSS} (flat)",
            met=memory is not None and memory <= GOAL_RSS),
    ]  # fmt: skip
    figure.notes = [
        f"import {seconds:.1f} s: imported {report['imported']:,}, invalid {report['invalid']:,}, "
        f"scheduled {report['scheduled']:,}; LOAD DATA floor {floor_seconds:.1f} s "
        f"({count - report['invalid']:,} rows)",
    ]
    return figure


if __name__ == "__main__":
    sys.exit(benchlib.cli([run], description=__doc__))
