"""The original system could leave a lead with two or more pending calls; the port allows one
(a UNIQUE index added after this). The earliest (then lowest id) stays pending, the others are
cancelled with a reason, never deleted.
"""

from __future__ import annotations

from typing import Any

import migraciones

DESCRIPTION = "collapse duplicate pending calls of a lead to the earliest"
LEGACY_ONLY = True
REASON = "upgrade: duplicate pending call, the earliest one was kept"

COUNT_SQL = """
SELECT COUNT(*) AS total FROM call_schedule c
WHERE c.status = 'pending' AND EXISTS (
    SELECT 1 FROM call_schedule e WHERE e.lead_id = c.lead_id AND e.status = 'pending'
      AND (e.scheduled_at < c.scheduled_at OR (e.scheduled_at = c.scheduled_at AND e.id < c.id)))
"""

CANCEL_SQL = """
UPDATE call_schedule cs
JOIN (SELECT c.id FROM call_schedule c
      WHERE c.status = 'pending' AND EXISTS (
          SELECT 1 FROM call_schedule e WHERE e.lead_id = c.lead_id AND e.status = 'pending'
            AND (e.scheduled_at < c.scheduled_at
                 OR (e.scheduled_at = c.scheduled_at AND e.id < c.id)))) d ON d.id = cs.id
SET cs.status = 'cancelled', cs.cancel_reason = %s
"""


def plan(cur, context: dict[str, Any]) -> tuple[list[migraciones.Step], list[str]]:
    cur.execute(COUNT_SQL)
    total = cur.fetchone()["total"]
    if not total:
        return [], []
    return [migraciones.Step(CANCEL_SQL, DESCRIPTION, (REASON,))], [
        f"{total} duplicate pending call(s) cancelled (the earliest per lead kept)"
    ]
