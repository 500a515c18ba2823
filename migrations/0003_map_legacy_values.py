"""Values of the original system that the port's ENUMs (and preferencia_horario) lack are
mapped to the port's; a value with no mapping takes the column's fallback. Every mapping
that touches a row is reported with its count.
"""

from __future__ import annotations

from typing import Any

import migraciones

DESCRIPTION = "map legacy status values to the port's"
LEGACY_ONLY = True

# (table, column) -> ({legacy: port}, fallback or None, extra SET for mapped rows)
MAPPINGS: dict[tuple[str, str], tuple[dict[str, str], str | None, str]] = {
    ("call_schedule", "status"): (
        {"failed": "cancelled", "done": "completed", "canceled": "cancelled"},
        "cancelled",
        ", cancel_reason = COALESCE(cancel_reason, %s)",
    ),
    ("leads", "call_status"): (
        {
            "pending": "selected",
            "in_progress": "calling",
            "failed": "error",
            "no answer": "no_answer",
            "no_contesta": "no_answer",
            "ocupado": "busy",
            "completada": "completed",
        },
        "no_selected",
        "",
    ),
    ("leads", "lead_status"): (
        {"abierto": "open", "cerrado": "closed", "active": "open", "pending": "open"},
        "closed",
        ", closure_reason = COALESCE(closure_reason, %s), "
        "closed_at = COALESCE(closed_at, UTC_TIMESTAMP())",
    ),
    ("leads", "preferencia_horario"): (
        {"mañana": "morning", "manana": "morning", "tarde": "afternoon"},
        None,
        "",
    ),
}
PORT_VALUES = {
    ("call_schedule", "status"): ("pending", "completed", "cancelled"),
    ("leads", "call_status"): (
        "no_selected",
        "selected",
        "calling",
        "completed",
        "error",
        "busy",
        "no_answer",
    ),
    ("leads", "lead_status"): ("open", "closed"),
    ("leads", "preferencia_horario"): ("morning", "afternoon"),
}


def plan(cur, context: dict[str, Any]) -> tuple[list[migraciones.Step], list[str]]:
    steps, notes = [], []
    for (table, column), (mapping, fallback, extra_set) in MAPPINGS.items():
        cur.execute(
            # table and column come from MAPPINGS above, never from input
            f"SELECT `{column}` AS value, COUNT(*) AS total FROM `{table}` GROUP BY `{column}`"  # noqa: S608
        )
        for row in cur.fetchall():
            value = row["value"]
            if value is None or value in PORT_VALUES[(table, column)]:
                continue
            new = mapping.get(value, fallback)
            if new is None:
                notes.append(
                    f"{table}.{column} = {value!r} on {row['total']} row(s): no mapping, left as is"
                )
                continue
            params: tuple[Any, ...] = (new,)
            if new not in ("closed", "cancelled"):
                extra_set = ""
            if extra_set:
                params += (f"upgrade: legacy {column} {value!r}",)
            steps.append(
                migraciones.Step(
                    f"UPDATE `{table}` SET `{column}` = %s{extra_set} WHERE `{column}` = %s",  # noqa: S608
                    f"map {table}.{column}",
                    (*params, value),
                )
            )
            how = "mapped" if value in mapping else "unknown, fallback"
            notes.append(
                f"{table}.{column} = {value!r} -> {new!r} on {row['total']} row(s) ({how})"
            )
    return steps, notes
