"""The schema as data: schema.sql parsed into tables, columns, keys and foreign keys, and
the live schema read from information_schema, for migraciones.py's comparison (the parsing
is pure; `read_live` is the only I/O).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import db
import queries

# --- schema.sql, parsed ---------------------------------------------------------------------


@dataclass
class TableSpec:
    """One CREATE TABLE of schema.sql: its statement, columns, keys and foreign keys."""

    name: str
    statement: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> definition after the name
    indexes: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (unique, def)
    foreign_keys: dict[str, tuple[tuple[str, ...], str, tuple[str, ...], str]] = field(
        default_factory=dict
    )  # name -> (columns, parent table, parent columns, full definition)


def _split_top_level(body: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [" ".join(p.split()) for p in parts if p.strip()]


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip(" `") for n in text.split(","))


def parse_schema(statements: Sequence[str]) -> tuple[dict[str, TableSpec], list[str]]:
    """Tables of schema.sql's statements, and its other statements (the config INSERTs)."""
    tables: dict[str, TableSpec] = {}
    others = []
    for statement in statements:
        match = re.match(r"CREATE TABLE IF NOT EXISTS `?(\w+)`?\s*\((.*)\)[^)]*$", statement, re.S)
        if not match:
            others.append(statement)
            continue
        spec = TableSpec(match.group(1), statement)
        for item in _split_top_level(match.group(2)):
            upper = item.upper()
            if upper.startswith("PRIMARY KEY"):
                spec.indexes["PRIMARY"] = (True, item)
            elif upper.startswith(("UNIQUE KEY", "UNIQUE INDEX", "KEY ", "INDEX ")):
                name = item.split()[2 if upper.startswith("UNIQUE") else 1].strip("`")
                spec.indexes[name] = (upper.startswith("UNIQUE"), item)
            elif upper.startswith("CONSTRAINT"):
                fk = re.match(
                    r"CONSTRAINT `?(\w+)`? FOREIGN KEY \(([^)]*)\) "
                    r"REFERENCES `?(\w+)`? \(([^)]*)\)",
                    item,
                    re.I,
                )
                if fk:
                    spec.foreign_keys[fk.group(1)] = (
                        _names(fk.group(2)),
                        fk.group(3),
                        _names(fk.group(4)),
                        item,
                    )
            else:
                name, _, definition = item.partition(" ")
                spec.columns[name.strip("`")] = definition
        tables[spec.name] = spec
    return tables, others


def enum_values(column_type: str) -> tuple[str, ...] | None:
    """The values of an ENUM type text (schema.sql's or information_schema's), else None."""
    match = re.match(r"\s*enum\s*\((.*)\)", column_type, re.I | re.S)
    if not match:
        return None
    return tuple(v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", match.group(1)))


def _type_of(definition: str) -> str:
    """The type part of a column definition: everything before NULL/NOT/DEFAULT/..."""
    stop = re.search(
        r"\s(NOT\s+NULL|NULL|DEFAULT|AUTO_INCREMENT|AS\s*\(|GENERATED|COMMENT|ON\s+UPDATE)\b",
        " " + definition,
        re.I,
    )
    return (" " + definition)[: stop.start()].strip() if stop else definition.strip()


def normalise_type(column_type: str) -> str:
    """Comparable type text: lower case, integer display widths dropped, BOOLEAN as
    tinyint(1), JSON as longtext (MariaDB stores it so), ENUM values quoted alike."""
    text = " ".join(column_type.lower().split())
    values = enum_values(text)
    if values is not None:
        return "enum(" + ",".join(repr(v) for v in values) + ")"
    text = re.sub(r"^(boolean|bool)$", "tinyint(1)", text)
    text = re.sub(r"^(bigint|int|integer|smallint|mediumint)\(\d+\)", r"\1", text)
    text = text.replace("integer", "int")
    return "longtext" if text == "json" else text


def _not_null(definition: str) -> bool:
    return re.search(r"\bNOT\s+NULL\b", definition, re.I) is not None


def _default_literal(definition: str) -> str | None:
    match = re.search(r"\bDEFAULT\s+('(?:[^']|'')*'|[\w.+-]+)", definition, re.I)
    return match.group(1) if match else None


# --- the live schema ------------------------------------------------------------------------


@dataclass
class LiveSchema:
    """What information_schema says about one database."""

    columns: dict[str, dict[str, dict[str, Any]]]  # table -> column -> row
    indexes: dict[str, dict[str, tuple[bool, tuple[str, ...]]]]  # table -> name -> (unique, cols)
    foreign_keys: dict[str, dict[str, dict[str, Any]]]  # table -> name -> details


def read_live(cur, database: str) -> LiveSchema:
    """Read the live schema of `database` through `cur`."""
    columns: dict[str, dict[str, dict[str, Any]]] = {}
    for row in db.fetch_all(cur, queries.UPGRADE_COLUMNS, (database,)):
        columns.setdefault(row["table_name"], {})[row["column_name"]] = row
    indexes: dict[str, dict[str, tuple[bool, tuple[str, ...]]]] = {}
    for row in db.fetch_all(cur, queries.UPGRADE_INDEXES, (database,)):
        _unique, cols = indexes.setdefault(row["table_name"], {}).get(row["index_name"], (True, ()))
        indexes[row["table_name"]][row["index_name"]] = (
            not row["non_unique"],
            (*cols, row["column_name"]),
        )
    fks: dict[str, dict[str, dict[str, Any]]] = {}
    for row in db.fetch_all(cur, queries.UPGRADE_FOREIGN_KEYS, (database,)):
        entry = fks.setdefault(row["table_name"], {}).setdefault(
            row["constraint_name"],
            {
                "columns": (),
                "ref_table": row["ref_table"],
                "ref_columns": (),
                "delete_rule": row["delete_rule"],
                "update_rule": row["update_rule"],
            },
        )
        entry["columns"] += (row["column_name"],)
        entry["ref_columns"] += (row["ref_column"],)
    return LiveSchema(columns, indexes, fks)
