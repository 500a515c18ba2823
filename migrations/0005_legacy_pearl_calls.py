"""The original's pearl_calls rows are history: the upgrade's new `state` column gives them
its default 'claimed', which would make them look in flight to the dispatcher. They are
completed calls; mark them so (no run, no claim time: the port never wrote them).
"""

from __future__ import annotations

from typing import Any

import migraciones

DESCRIPTION = "mark the original system's pearl_calls rows as completed history"
LEGACY_ONLY = True

COUNT_SQL = (
    "SELECT COUNT(*) AS total FROM pearl_calls "
    "WHERE state = 'claimed' AND run_id IS NULL AND claimed_at IS NULL"
)
MARK_SQL = (
    "UPDATE pearl_calls SET state = 'completed', completed_at = COALESCE(completed_at, created_at) "
    "WHERE state = 'claimed' AND run_id IS NULL AND claimed_at IS NULL"
)


def plan(cur, context: dict[str, Any]) -> tuple[list[migraciones.Step], list[str]]:
    if context.get("dry_run"):
        return [migraciones.Step(MARK_SQL, DESCRIPTION)], ["legacy pearl_calls marked completed"]
    cur.execute(COUNT_SQL)
    total = cur.fetchone()["total"]
    if not total:
        return [], []
    return [migraciones.Step(MARK_SQL, DESCRIPTION)], [
        f"{total} legacy pearl_calls row(s) marked completed"
    ]
