"""Deliver Pearl-shaped call results like a webhook server would (started by the Galera tests).

    python -m tests.galera.webhook_worker --leads 3,4,5 --count 200 --seed 7

Each delivery is `enhanced_process_call_result(lead_id, {}, call)` with a new
Pearl call object (its own call id). A delivery that fails with a database
error is delivered again, same call id, as a webhook sender retries: a retry of a
call already recorded is a duplicate and is not counted twice. DB_* in the
environment choose the node(s). Prints one JSON line {"delivered": {lead: n},
"redelivered": n} at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter

import pymysql

import db
from call_manager_scheduler_integration import enhanced_process_call_result


def deliver(lead_id: int, call: dict, deadline: float) -> int:
    """Deliver until the result is processed; return how many extra deliveries it took."""
    extra = 0
    while True:
        try:
            enhanced_process_call_result(lead_id, {}, call)
            return extra
        except (db.DatabaseError, pymysql.err.MySQLError):
            if time.monotonic() > deadline:
                raise
            extra += 1
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    leads = [int(x) for x in args.leads.split(",")]
    rng = random.Random(args.seed)
    delivered: Counter[int] = Counter()
    redelivered = 0
    deadline = time.monotonic() + 600  # a loaded CI machine
    for n in range(args.count):
        lead_id = rng.choice(leads)
        call = {
            "id": f"webhook-{args.seed}-{n}",
            "status": rng.choice((5, 7)),  # busy or no answer: the lead stays open
            "duration": 0,
            "from": "+34910000000",
        }
        redelivered += deliver(lead_id, call, deadline)
        delivered[lead_id] += 1
    print(json.dumps({"delivered": delivered, "redelivered": redelivered}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
