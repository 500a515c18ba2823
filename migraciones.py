"""Creating or upgrading a database in place: schema.sql is the target, whatever was there.

`upgrade(cur, database)` (behind `python db.py init`) runs three phases:

1. structure: compare the live schema with schema.sql (parsed here) and bring it closer
   without losing a row: create missing tables, change columns whose type differs (an ENUM is
   first widened to its target values plus the values in use, so no row is truncated), add
   missing columns and plain indexes, insert missing default configuration rows. Columns
   schema.sql does not know are kept (made NULL-able when they would block the port's
   INSERTs). Foreign keys in the way of a type change are dropped and put back in phase 3.
2. data: the numbered files of migrations/ (NNNN_name.py), each run once in its own
   transaction and recorded in `schema_migrations`. On a database this system created
   (no legacy tables) they are recorded as a baseline instead of run.
3. constraints: UNIQUE indexes (after duplicates were collapsed), ENUMs narrowed to
   schema.sql's values once no row uses another, foreign keys.

Everything is driven by schema.sql, so a future change there upgrades too. DDL cannot be
rolled back in MySQL: each step is planned from the live schema, so a run that dies in the
middle is completed by the next one. A run with nothing to do executes no statement.

Why not yoyo-migrations: its migrations are fixed scripts applied in order, but the
databases to upgrade are in many shapes (the original system's, each earlier round of this
one); diffing against schema.sql handles every shape with one rule, and the data fixes that
need Python (local times to UTC per DST period) stay plain modules. It also has no way to
print every statement without running it, which `--dry-run` needs.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import clock
import db
import queries
from schema_model import (
    LiveSchema,
    TableSpec,
    _default_literal,
    _not_null,
    _type_of,
    enum_values,
    normalise_type,
    parse_schema,
    read_live,
)

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_NAME = "pearl_schema_upgrade"
LOCK_WAIT_SECONDS = 30
_MIGRATION_FILE = re.compile(r"(\d{4})_[a-z0-9_]+\.py")
_IDENT = re.compile(r"[A-Za-z0-9_]{1,64}")


# --- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One statement of the upgrade, with why it runs."""

    sql: str
    why: str
    params: Any = None


def _q(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"unexpected identifier {name!r} in the schema")
    return f"`{name}`"


def _fk_sql(table: str, name: str, fk: Mapping[str, Any]) -> str:
    cols = ", ".join(_q(c) for c in fk["columns"])
    refs = ", ".join(_q(c) for c in fk["ref_columns"])
    return (
        f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} FOREIGN KEY ({cols}) "
        f"REFERENCES {_q(fk['ref_table'])} ({refs}) ON DELETE {fk['delete_rule']} "
        f"ON UPDATE {fk['update_rule']}"
    )


def _values_in_use(cur, table: str, column: str) -> dict[Any, int]:
    sql = queries.DISTINCT_VALUES.sql.format(table=table, column=column)
    cur.execute(sql)
    return {row["value"]: row["total"] for row in cur.fetchall()}


def _longest(cur, table: str, column: str) -> int:
    cur.execute(queries.LONGEST_VALUE.sql.format(table=table, column=column))
    return cur.fetchone()["longest"] or 0


def _count_nulls(cur, table: str, column: str) -> int:
    cur.execute(queries.COUNT_NULLS.sql.format(table=table, column=column))
    return cur.fetchone()["total"]


@dataclass
class Plan:
    """Phase 1 steps, the legacy FKs to put back, and notes for the report."""

    steps: list[Step] = field(default_factory=list)
    restore_fks: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    dropped_fks: set[tuple[Any, ...]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def plan_structure(
    cur, live: LiveSchema, target: Mapping[str, TableSpec], others: Sequence[str]
) -> Plan:
    """Phase 1: what to create, change and add so the live schema holds schema.sql's."""
    plan = Plan()
    modify: list[Step] = []
    changed: set[tuple[str, str]] = set()
    for table, spec in target.items():
        have = live.columns.get(table)
        if have is None:
            plan.steps.append(Step(spec.statement, f"create missing table {table}"))
            continue
        for column, definition in spec.columns.items():
            row = have.get(column)
            if row is None or re.search(r"\bAS\s*\(", definition, re.I):
                continue
            want_type = _type_of(definition)
            new_def = definition
            values = enum_values(want_type)
            same_type = normalise_type(row["column_type"]) == normalise_type(want_type)
            if values is not None and not same_type:
                extra = [
                    v
                    for v in _values_in_use(cur, table, column)
                    if v is not None and v not in values
                ]
                if extra:
                    widened = (
                        "ENUM("
                        + ", ".join("'" + v.replace("'", "''") + "'" for v in (*values, *extra))
                        + ")"
                    )
                    new_def = definition.replace(want_type, widened, 1)
                    plan.notes.append(f"{table}.{column}: values {extra} kept until mapped")
                    if normalise_type(row["column_type"]) == normalise_type(widened):
                        same_type = True
            width = re.fullmatch(r"varchar\((\d+)\)", normalise_type(want_type))
            if width and not same_type and _longest(cur, table, column) > int(width.group(1)):
                plan.notes.append(f"{table}.{column}: kept as {row['column_type']} (longer values)")
                continue
            tighten_null = _not_null(definition) and row["is_nullable"] == "YES"
            # NOT NULL where schema.sql allows NULL blocks the port's INSERTs (the
            # original's pearl_calls.call_id): loosen it.
            loosen_null = not _not_null(definition) and row["is_nullable"] == "NO"
            if same_type and not tighten_null and not loosen_null:
                continue
            if tighten_null and _count_nulls(cur, table, column):
                default = _default_literal(definition)
                if default is not None and default.upper() != "CURRENT_TIMESTAMP":
                    plan.steps.append(
                        Step(
                            # identifiers checked by _q, the default is schema.sql's literal
                            f"UPDATE {_q(table)} SET {_q(column)} = {default} "  # noqa: S608
                            f"WHERE {_q(column)} IS NULL",
                            f"{table}.{column}: NULLs take the default before NOT NULL",
                        )
                    )
                elif default is None:
                    new_def = re.sub(r"\bNOT\s+NULL\b", "NULL", new_def, flags=re.I)
                    plan.notes.append(f"{table}.{column}: kept NULL-able (rows hold NULL)")
                    if same_type:
                        continue
            modify.append(
                Step(
                    f"ALTER TABLE {_q(table)} MODIFY COLUMN {_q(column)} {new_def}",
                    f"{table}.{column} to schema.sql's type",
                )
            )
            changed.add((table, column))
        for column, row in have.items():
            blocking = (
                row["is_nullable"] == "NO"
                and row["column_default"] is None
                and "auto_increment" not in row["extra"]
            )
            if column not in spec.columns and blocking and not row["extra"].strip():
                nullable = f"{row['column_type']} NULL"
                modify.append(
                    Step(
                        f"ALTER TABLE {_q(table)} MODIFY COLUMN {_q(column)} {nullable}",
                        f"{table}.{column} (not in schema.sql) kept, NULL-able",
                    )
                )
    # Foreign keys on changed columns (either side) block MODIFY; so do legacy ones that
    # clash with schema.sql's by name or on the same columns.
    wanted = {
        (t, fk[0], fk[1], fk[2]): name
        for t, s in target.items()
        for name, fk in s.foreign_keys.items()
    }
    wanted_names = {name for (_t, _c, _r, _rc), name in wanted.items()}
    for table, fks in live.foreign_keys.items():
        for name, fk in fks.items():
            touches = any((table, c) in changed for c in fk["columns"]) or any(
                (fk["ref_table"], c) in changed for c in fk["ref_columns"]
            )
            key = (table, fk["columns"], fk["ref_table"], fk["ref_columns"])
            clashes = name in wanted_names and wanted.get(key) != name
            if key in wanted:
                spec_def = target[table].foreign_keys[wanted[key]][3].upper()
                rule_differs = f"ON DELETE {fk['delete_rule']}" not in spec_def.replace("  ", " ")
                clashes = clashes or rule_differs
            if touches or clashes:
                plan.steps.append(
                    Step(
                        f"ALTER TABLE {_q(table)} DROP FOREIGN KEY {_q(name)}",
                        f"foreign key {name} in the way of the upgrade",
                    )
                )
                plan.dropped_fks.add(key)
                if key not in wanted:
                    plan.restore_fks.append((table, name, fk))
    plan.steps += modify
    for table, spec in target.items():
        have = live.columns.get(table)
        if have is None:
            continue
        for column, definition in spec.columns.items():
            if column not in have:
                plan.steps.append(
                    Step(
                        f"ALTER TABLE {_q(table)} ADD COLUMN {_q(column)} {definition}",
                        f"missing column {table}.{column}",
                    )
                )
        have_indexes = live.indexes.get(table, {})
        for name, (unique, definition) in spec.indexes.items():
            if name not in have_indexes and not unique:
                plan.steps.append(
                    Step(
                        f"ALTER TABLE {_q(table)} ADD {definition}", f"missing index {table}.{name}"
                    )
                )
    plan.steps += _missing_config_rows(cur, live, others)
    return plan


def _missing_config_rows(cur, live: LiveSchema, others: Sequence[str]) -> list[Step]:
    if "scheduler_config" in live.columns:
        have = {row["config_key"] for row in db.fetch_all(cur, queries.CONFIG_KEYS)}
    else:
        have = set()
    steps = []
    for statement in others:
        keys = set(re.findall(r"\(\s*'([a-z0-9_]+)'", statement))
        if keys and not keys <= have:
            steps.append(Step(statement, f"default configuration rows {sorted(keys - have)}"))
    return steps


def plan_constraints(
    cur,
    live: LiveSchema,
    target: Mapping[str, TableSpec],
    restore: Sequence[tuple[str, str, dict[str, Any]]],
    *,
    assume_mapped: bool = False,
    dropped: set[tuple[Any, ...]] = frozenset(),
) -> tuple[list[Step], list[str]]:
    """Phase 3: UNIQUE indexes, ENUMs narrowed to schema.sql's values, foreign keys."""
    steps: list[Step] = []
    notes: list[str] = []
    for table, spec in target.items():
        if table not in live.columns:
            continue  # a dry run: phase 1 creates it with every key
        have = live.columns[table]
        have_indexes = live.indexes.get(table, {})
        for name, (unique, definition) in spec.indexes.items():
            if unique and name not in have_indexes:
                steps.append(
                    Step(
                        f"ALTER TABLE {_q(table)} ADD {definition}",
                        f"missing unique index {table}.{name}",
                    )
                )
        for column, definition in spec.columns.items():
            want = _type_of(definition)
            values = enum_values(want)
            row = have.get(column)
            if (
                values is None
                or row is None
                or normalise_type(row["column_type"]) == normalise_type(want)
            ):
                continue
            extra = (
                []
                if assume_mapped
                else [
                    v
                    for v in _values_in_use(cur, table, column)
                    if v is not None and v not in values
                ]
            )
            if extra:
                notes.append(f"{table}.{column}: values {extra} have no mapping; ENUM left widened")
                continue
            steps.append(
                Step(
                    f"ALTER TABLE {_q(table)} MODIFY COLUMN {_q(column)} {definition}",
                    f"{table}.{column} narrowed to schema.sql's values",
                )
            )
    live_fk_keys = {
        (t, fk["columns"], fk["ref_table"], fk["ref_columns"])
        for t, fks in live.foreign_keys.items()
        for fk in fks.values()
    } - set(dropped)
    for table, spec in target.items():
        if table not in live.columns:
            continue
        for name, (cols, ref, ref_cols, definition) in spec.foreign_keys.items():
            if (table, cols, ref, ref_cols) not in live_fk_keys:
                steps.append(
                    Step(f"ALTER TABLE {_q(table)} ADD {definition}", f"missing foreign key {name}")
                )
    for table, name, fk in restore:
        steps.append(Step(_fk_sql(table, name, fk), f"legacy foreign key {name} put back"))
    return steps, notes


# --- data migrations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """A numbered file of migrations/: `DESCRIPTION`, `LEGACY_ONLY`, `plan(cur, context)`."""

    version: str
    description: str
    legacy_only: bool
    plan: Callable[[Any, dict[str, Any]], tuple[list[Step], list[str]]]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations of `directory`, in version order."""
    found = []
    for path in sorted(directory.glob("*.py")):
        match = _MIGRATION_FILE.fullmatch(path.name)
        if not match:
            continue
        spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
        module: ModuleType = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        found.append(
            Migration(
                path.stem,
                module.DESCRIPTION,
                bool(getattr(module, "LEGACY_ONLY", True)),
                module.plan,
            )
        )
    return found


# --- the run --------------------------------------------------------------------------------


@dataclass
class UpgradeReport:
    """What the upgrade did (or, in a dry run, would do)."""

    statements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    migrations_applied: list[str] = field(default_factory=list)
    legacy: bool = False


def _render(cur, step: Step) -> str:
    text = cur.mogrify(step.sql, step.params) if step.params is not None else step.sql
    return " ".join(text.split())


def is_legacy(live: LiveSchema) -> bool:
    """A database of the original system (or older): leads without the port's call_schedule."""
    if "leads" not in live.columns:
        return False
    schedule = live.columns.get("call_schedule")
    return schedule is None or "pending_lead_id" not in schedule


def upgrade(
    cur, database: str, *, dry_run: bool = False, schema_path: Path = db.SCHEMA_PATH
) -> UpgradeReport:
    """Bring `database` (already selected on `cur`, autocommit off) up to schema.sql.

    Commits as it goes (DDL commits anyway); in a dry run executes nothing but reads and
    returns every statement it would run. Raises pymysql errors as they come.
    """
    report = UpgradeReport()
    target, others = parse_schema(db.schema_statements(schema_path))
    live = read_live(cur, database)
    report.legacy = is_legacy(live)
    had_record = "schema_migrations" in live.columns

    def run(step: Step) -> None:
        report.statements.append(_render(cur, step))
        if not dry_run:
            cur.execute(step.sql, step.params)

    plan = plan_structure(cur, live, target, others)
    report.notes += plan.notes
    for step in plan.steps:
        run(step)
    if not dry_run:
        cur.connection.commit()
    if not had_record:
        run(Step(queries.CREATE_SCHEMA_MIGRATIONS.sql, "record of data migrations"))
    applied = (
        {r["version"] for r in db.fetch_all(cur, queries.APPLIED_MIGRATIONS)}
        if had_record
        else set()
    )
    context: dict[str, Any] = {"database": database, "dry_run": dry_run}
    for migration in load_migrations():
        if migration.version in applied:
            continue
        baseline = migration.legacy_only and not report.legacy
        steps, notes = ([], []) if baseline else migration.plan(cur, context)
        report.notes += notes
        for step in steps:
            run(step)
        run(
            Step(
                queries.RECORD_MIGRATION.sql,
                "record",
                {
                    "version": migration.version,
                    "description": migration.description[:255],
                    "now": clock.to_db(clock.utc_now()),
                    "baseline": baseline,
                },
            )
        )
        if not baseline:
            report.migrations_applied.append(migration.version)
        if not dry_run:
            cur.connection.commit()
    live = read_live(cur, database)
    steps, notes = plan_constraints(
        cur,
        live,
        target,
        plan.restore_fks,
        assume_mapped=dry_run,
        dropped=plan.dropped_fks if dry_run else set(),
    )
    report.notes += notes
    for step in steps:
        try:
            run(step)
        except Exception as exc:  # a legacy FK that no longer fits is reported, not fatal
            if "legacy foreign key" not in step.why:
                raise
            report.notes.append(f"could not put back {step.why.split()[3]}: {exc}")
    if not dry_run:
        cur.connection.commit()
    return report


def pending_problems(cur, database: str) -> list[str]:
    """For `db.py check`: schema.sql pieces missing live, and data migrations not applied."""
    target, _ = parse_schema(db.schema_statements())
    live = read_live(cur, database)
    problems = []
    for table, spec in target.items():
        have = live.columns.get(table)
        if have is None:
            problems.append(f"missing table {table}")
            continue
        problems += [f"missing column {table}.{c}" for c in spec.columns if c not in have]
        problems += [
            f"missing index {table}.{i}"
            for i in spec.indexes
            if i not in live.indexes.get(table, {})
        ]
    if "schema_migrations" not in live.columns:
        problems.append("missing table schema_migrations (data migrations never run)")
    else:
        applied = {r["version"] for r in db.fetch_all(cur, queries.APPLIED_MIGRATIONS)}
        problems += [
            f"data migration {m.version} not applied"
            for m in load_migrations()
            if m.version not in applied
        ]
    return problems
