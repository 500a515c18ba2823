"""Shared pieces of the benchmarks: the throw-away database, bulk fills, timing, results.

Every benchmark runs against its own database, `bench_<hex>`, on the server
named by DB_HOST / DB_PORT / DB_USER / DB_PASSWORD (defaults 127.0.0.1, 3306,
root, empty). DB_DATABASE is set in os.environ so the library and any
subprocess use that database and nothing else; a `.env` file cannot redirect
the benchmarks to another server or database. The database is dropped at the
end, also after a failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_path  # noqa: F401  (puts the repository root on sys.path)
import bench_sql
import pymysql

import db
import queries
import scheduler_config

SERVER_DEFAULTS = {"DB_HOST": "127.0.0.1", "DB_PORT": "3306", "DB_USER": "root", "DB_PASSWORD": ""}
DATABASE_NAME = re.compile(r"bench_[0-9a-f]{8}(_[a-z0-9]{1,20})?")
SEED = 20261124
# Working time that contains every instant: dispatch benchmarks must never defer a call.
ALWAYS_WORKING = {
    "timezone": "UTC",
    "working_days": "1,2,3,4,5,6,7",
    "working_hours_start": "00:00",
    "working_hours_end": "23:59:59",
}
LOCAL_INFILE_REFUSED = frozenset({1148, 2068, 3948})


# --- the database ----------------------------------------------------------------------------


def configure_environment(database: str) -> db.DbSettings:
    """Point DB_* in os.environ at `database` on the configured server; return its settings."""
    for key, default in SERVER_DEFAULTS.items():
        os.environ[key] = os.environ.get(key) or default
    os.environ["DB_DATABASE"] = database
    return db.DbSettings.from_env(os.environ)


def run_admin(settings: db.DbSettings, query: queries.Query) -> None:
    """Run a database-level statement (create/drop) for the benchmark's own database."""
    if not DATABASE_NAME.fullmatch(settings.database):
        raise ValueError(f"refusing to touch a database not named bench_<hex>: {settings.database}")
    conn = db.connect(settings, with_database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(query.sql.format(database=settings.database))
        conn.commit()
    finally:
        conn.close()


def raw_connection(settings: db.DbSettings, *, local_infile: bool = False) -> Any:
    """A new connection set up like the library's (UTC session, READ COMMITTED, no autocommit)."""
    conn = pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database=settings.database,
        charset="utf8mb4",
        cursorclass=pymysql.cursors.DictCursor,
        autocommit=False,
        local_infile=local_infile,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        write_timeout=settings.write_timeout,
        init_command=bench_sql.UTC_SESSION.sql,
    )
    with conn.cursor() as cur:
        cur.execute(bench_sql.READ_COMMITTED.sql)
    return conn


@dataclass
class Bench:
    """One benchmark run: its database, its size and its random seed."""

    settings: db.DbSettings
    quick: bool = False
    seed: int = SEED

    def size(self, full: int, quick: int) -> int:
        """The full-run or the quick-run value of a size."""
        return quick if self.quick else full

    def reset(self, config: dict[str, str] | None = None) -> None:
        """Empty the database: drop it, apply schema.sql again, then set `config` keys. The
        bench database is marked as a demo one: the dispatcher simulates only there."""
        db.close_connection()
        run_admin(self.settings, bench_sql.DROP_DATABASE)
        db.init_database(self.settings)
        for key, value in {"demo_database": "true", **(config or {})}.items():
            db.run_in_transaction(
                lambda cur, k=key, v=value: db.execute(
                    cur, queries.SET_CONFIG, {"key": k, "value": v, "description": "bench"}
                ),
                name="bench config",
            )
        scheduler_config.clear_config_cache()

    def connect(self, *, local_infile: bool = False) -> Any:
        """A new connection of the benchmark's own (floors, fills, plans)."""
        return raw_connection(self.settings, local_infile=local_infile)

    @contextlib.contextmanager
    def sibling(self, suffix: str) -> Iterator[Bench]:
        """Another database with the schema, `<name>_<suffix>`, dropped after the block. Only
        the benchmark's own connections (connect, Filler) reach it, never the library's."""
        other = Bench(replace(self.settings, database=f"{self.settings.database}_{suffix}"),
                      self.quick, self.seed)  # fmt: skip
        try:
            run_admin(other.settings, bench_sql.DROP_DATABASE)
            db.init_database(other.settings)
            yield other
        finally:
            run_admin(other.settings, bench_sql.DROP_DATABASE)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def bench_database(*, quick: bool = False) -> Iterator[Bench]:
    """A fresh `bench_<hex>` database for the duration of the block, dropped afterwards."""
    settings = configure_environment(f"bench_{secrets.token_hex(4)}")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    bench = Bench(settings, quick=quick)
    try:
        bench.reset()
        yield bench
    finally:
        db.close_connection()
        try:
            run_admin(settings, bench_sql.DROP_DATABASE)
        except (db.DatabaseError, pymysql.err.MySQLError) as exc:
            print(f"warning: could not drop database {settings.database}: {exc}")
        signal.signal(signal.SIGTERM, previous)


# --- bulk fills ------------------------------------------------------------------------------

# Rows as tuples in the column order of bench_sql.LEAD_FILE_COLUMNS / SCHEDULE_FILE_COLUMNS;
# times are epoch seconds (int) or None.
LeadRow = tuple[Any, ...]
ScheduleRow = tuple[Any, ...]
_LEAD_TIMES = (9, 10)  # closed_at, created_at
_SCHEDULE_TIMES = (1, 6)  # scheduled_at, created_at


def _tsv_field(value: Any) -> str:
    return "\\N" if value is None else str(value)


def _write_tsv(rows: Iterable[tuple[Any, ...]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write("\t".join(map(_tsv_field, row)) + "\n")
            count += 1
    return count


def _epoch_text(value: str) -> str:
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _rows_from_tsv(path: Path, time_columns: Sequence[int]) -> Iterator[list[Any]]:
    with path.open(encoding="utf-8") as source:
        for line in source:
            row: list[Any] = [None if v == "\\N" else v for v in line.rstrip("\n").split("\t")]
            for index in time_columns:
                row[index] = None if row[index] is None else _epoch_text(row[index])
            yield row


class Filler:
    """Loads generated rows fast: LOAD DATA LOCAL INFILE, or multi-row INSERTs when the
    server refuses local files. Foreign-key and unique checks are off on this connection."""

    insert_batch = 5000

    def __init__(self, bench: Bench) -> None:
        self.conn = bench.connect(local_infile=True)
        self.use_infile = True
        with self.conn.cursor() as cur:
            cur.execute(bench_sql.FILL_SESSION.sql)

    def close(self) -> None:
        """Close the fill connection."""
        self.conn.close()

    def __enter__(self) -> Filler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def leads(self, rows: Iterable[LeadRow]) -> int:
        """Load leads; return how many."""
        return self._load(rows, bench_sql.LOAD_LEADS, bench_sql.INSERT_LEADS, _LEAD_TIMES)

    def schedules(self, rows: Iterable[ScheduleRow]) -> int:
        """Load call_schedule rows; return how many."""
        return self._load(
            rows, bench_sql.LOAD_SCHEDULES, bench_sql.INSERT_SCHEDULES, _SCHEDULE_TIMES
        )

    def analyze(self) -> None:
        """Refresh table statistics, as a long-lived table would have them."""
        with self.conn.cursor() as cur:
            cur.execute(bench_sql.ANALYZE_TABLES.sql)
            cur.fetchall()

    def _load(
        self,
        rows: Iterable[tuple[Any, ...]],
        load: queries.Query,
        insert: queries.Query,
        time_columns: Sequence[int],
    ) -> int:
        with tempfile.TemporaryDirectory(prefix="bench_fill_") as tmp:
            path = Path(tmp) / "rows.tsv"
            count = _write_tsv(rows, path)
            if count and self.use_infile:
                try:
                    with self.conn.cursor() as cur:
                        cur.execute(load.sql, {"path": str(path)})
                    self.conn.commit()
                    return count
                except pymysql.err.MySQLError as exc:
                    self.conn.rollback()
                    if exc.args[0] not in LOCAL_INFILE_REFUSED:
                        raise
                    self.use_infile = False
            if count:
                self._insert(_rows_from_tsv(path, time_columns), insert)
            return count

    def _insert(self, rows: Iterator[list[Any]], insert: queries.Query) -> None:
        batch: list[list[Any]] = []
        with self.conn.cursor() as cur:
            for row in rows:
                batch.append(row)
                if len(batch) >= self.insert_batch:
                    cur.executemany(insert.sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(insert.sql, batch)
        self.conn.commit()


# --- measuring -------------------------------------------------------------------------------


def interleaved(
    variants: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]], rounds: int
) -> dict[str, float]:
    """Run each variant's operation over its own items in `rounds` alternating chunks, so
    that drift in the machine's speed hits every variant alike. Returns seconds per variant."""
    spent = dict.fromkeys(variants, 0.0)
    for index in range(rounds):
        for name, (operation, items) in variants.items():
            size = math.ceil(len(items) / rounds)
            chunk = items[index * size : (index + 1) * size]
            started = time.perf_counter()
            for item in chunk:
                operation(item)
            spent[name] += time.perf_counter() - started
    return spent


def median_seconds(operation: Callable[[], Any], repeat: int, warmup: int = 3) -> float:
    """The median wall time of `operation` over `repeat` runs, after `warmup` unmeasured runs."""
    for _ in range(warmup):
        operation()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@contextlib.contextmanager
def transaction_timer() -> Iterator[list[float]]:
    """Time every db.run_in_transaction call made inside the block (measurement only: the
    module attribute is wrapped in this process and restored afterwards)."""
    durations: list[float] = []
    original = db.run_in_transaction

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - started)

    db.run_in_transaction = timed
    try:
        yield durations
    finally:
        db.run_in_transaction = original


def memory_kib() -> dict[str, int]:
    """This process's resident set size now and at its peak, in KiB."""
    values = {}
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    peak = values.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return {"rss_kib": values.get("VmRSS", peak), "peak_kib": peak}


# --- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table: a measured figure, its floor and their ratio."""

    label: str
    value: float | None
    unit: str
    floor: float | None = None
    floor_label: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None


@dataclass
class Figure:
    """One benchmark's results."""

    number: int
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def ratio(value: float | None, floor: float | None) -> float | None:
    """value / floor, or None when either is missing or the floor is zero."""
    if value is None or not floor:
        return None
    return value / floor


def number(value: float | None, unit: str = "") -> str:
    """A figure for the table: thousands separated, 3 significant digits below 100."""
    if value is None:
        return ""
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if value else "0"
    return f"{text} {unit}".strip()


def _cells(figure: Figure, row: Row) -> list[str]:
    floor = number(row.floor, "") if row.floor is not None else ""
    if row.floor_label:
        floor = f"{floor} {row.floor_label}".strip()
    met = {True: "yes", False: "**no**", None: ""}[row.met]
    ratio_text = f"{row.ratio:.2f}" if row.ratio is not None else ""
    return [str(figure.number), row.label, number(row.value, row.unit), floor, ratio_text,
            row.goal, met]  # fmt: skip


def table(figures: Sequence[Figure]) -> str:
    """The results as a Markdown table, columns aligned so it also reads as plain text."""
    header = ["#", "figure", "measured", "floor", "ratio", "goal", "met"]
    lines = [_cells(figure, row) for figure in figures for row in figure.rows]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    right = {2, 3, 4}

    def render(cells: list[str]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)]
    return "\n".join([render(header), "|" + "|".join(rule) + "|"]
                     + [render(cells) for cells in lines])  # fmt: skip


def notes(figures: Sequence[Figure]) -> str:
    """Each figure's notes (plans, counts, checks) under its number and title."""
    blocks = []
    for figure in figures:
        lines = [f"{figure.number}. {figure.title} ({figure.seconds:.0f} s)"]
        lines += [f"   - {note}" for note in figure.notes]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


# --- the machine -----------------------------------------------------------------------------


def _meminfo_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _server_info(bench: Bench) -> dict[str, str]:
    conn = bench.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(bench_sql.SERVER_VERSION.sql)
            version = cur.fetchone()["version"]
            cur.execute(bench_sql.SERVER_SETTINGS.sql)
            settings = {r["Variable_name"]: r["Value"] for r in cur.fetchall()}
    finally:
        conn.close()
    return {"server": version, **settings}


def machine(bench: Bench) -> dict[str, Any]:
    """What the figures were measured on."""
    memory = _meminfo_gib()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _cpu_model(),
        "memory_gib": round(memory, 1) if memory else None,
        "python": platform.python_version(),
        "pymysql": importlib.metadata.version("PyMySQL"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **_server_info(bench),
    }


def describe_machine(info: dict[str, Any]) -> str:
    """One paragraph naming the machine, for the printed report."""
    load = ", ".join(str(x) for x in info["load_average"])
    extra = ", ".join(
        f"{k}={v}" for k, v in info.items() if k.startswith("innodb_") or k == "sync_binlog"
    )
    return (
        f"{info['date']}; {info['nproc']} CPU ({info['cpu']}), {info['memory_gib']} GiB; "
        f"{info['server']} ({extra}); Python {info['python']}, PyMySQL {info['pymysql']}; "
        f"load average at start {load}"
    )


# --- command line ----------------------------------------------------------------------------


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_figures(
    bench: Bench, figures: Sequence[Callable[[Bench], Figure]]
) -> tuple[dict[str, Any], list[Figure]]:
    """Run each figure on the bench database; return the machine description and results."""
    info = machine(bench)
    results = []
    for measure in figures:
        doc = sys.modules[measure.__module__].__doc__ or measure.__module__
        _progress(f"{doc.splitlines()[0]} ...")
        started = time.perf_counter()
        figure = measure(bench)
        figure.seconds = time.perf_counter() - started
        results.append(figure)
        _progress(f"  done in {figure.seconds:.0f} s")
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return info, results


def report(info: dict[str, Any], figures: Sequence[Figure], *, as_json: bool, quick: bool) -> str:
    """The printed report: machine, table, notes (or all of it as JSON)."""
    if as_json:
        payload = {"machine": info, "quick": quick, "figures": [asdict(f) for f in figures]}
        return json.dumps(payload, indent=2, ensure_ascii=False)
    end = ", ".join(str(x) for x in info["load_average_end"])
    mode = "quick run (small sizes)" if quick else "full run"
    return "\n".join([
        f"Benchmarks, {mode}: {describe_machine(info)}; at the end {end}",
        "",
        table(figures),
        "",
        notes(figures),
    ])  # fmt: skip


def _figure_numbers(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("figure numbers, e.g. 1,4") from None


def cli(
    figures: Sequence[Callable[[Bench], Figure]],
    argv: Sequence[str] | None = None,
    *,
    description: str | None = None,
) -> int:
    """The command line of a runner of `figures`: --quick, --json (and --only N,M when there
    are several); returns the exit code."""
    parser = argparse.ArgumentParser(
        description=description or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    if len(figures) > 1:
        parser.add_argument("--only", type=_figure_numbers, help="figures to run, e.g. 1,4")
    args = parser.parse_args(argv)
    only = getattr(args, "only", None)
    if only and not all(1 <= n <= len(figures) for n in only):
        parser.error(f"--only: figures are numbered 1 to {len(figures)}")
    chosen = [figures[n - 1] for n in only] if only else list(figures)
    try:
        with bench_database(quick=args.quick) as bench:
            info, results = run_figures(bench, chosen)
    except KeyboardInterrupt:
        print("interrupted: the benchmark database was dropped", file=sys.stderr)
        return 130
    print(report(info, results, as_json=args.json, quick=args.quick))
    return 0
