"""Property test of the call lifecycle over random interleavings (hypothesis, stateful).

Steps: dispatcher runs, webhook deliveries (duplicated, reordered, call-started events),
Pearl failing or hanging on the POST, timeout passes, an operator closing a lead or
taking it under manual review, clock jumps of hours either way. After every step, per
lead: at most one POST per schedule; attempts counted = calls whose result was processed;
no POST outside working time or to a lead closed or under manual review; every open lead
has exactly one of {pending call, call in flight (including uncertain), manual review}.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import db
import scheduler_config
from call_manager_scheduler_integration import enhanced_process_call_result
from clock import utc_now
from despachar_llamadas import dispatch_due_calls
from pearl_client import PearlClient
from reprogramar_llamadas_simple import LeadNotFoundError, lead_frame, schedule_call
from tests.fake_pearl import CallScript, FakePearl
from tests.helpers import make_lead, reset_database, set_config, sql, utc
from working_time import is_working_instant

pytestmark = [pytest.mark.usefixtures("clean_db"), pytest.mark.slow]

START = utc(2026, 11, 24, 10, 0)  # Tuesday 11:00 in Madrid
PHONES = ["+34612000001", "+34612000002", "+34612000003"]
SCRIPTS = [
    CallScript(status=5, queued_polls=0, in_progress_polls=0),  # busy
    CallScript(status=7, queued_polls=0, in_progress_polls=0),  # no answer
    CallScript(
        status=4,
        conversation_status=100,
        queued_polls=0,
        in_progress_polls=0,
        collected_info=[{"id": "fechaDeseada", "value": "01-12-2026"}],
    ),
    CallScript(status=4, conversation_status=100, queued_polls=0, in_progress_polls=2),
]
WEBHOOK_BODIES = [
    {"status": 5},
    {"status": 7},
    {"status": 3, "conversationStatus": 20},  # still running: not a result
    {"event": "call_started"},
    {
        "status": 4,
        "conversationStatus": 100,
        "collectedInfo": [{"id": "fechaDeseada", "value": "02-12-2026"}],
    },
]


class CallLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        reset_database()
        set_config("default_max_attempts", "4")
        set_config("default_delay_hours", "1")
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.server = FakePearl.serve()
        self.fake = self.server.__enter__()
        self.client = PearlClient(
            self.fake.settings(max_retries=0, read_timeout=0.3), sleep=lambda _s: None
        )
        self.leads = [make_lead(telefono=p, nombre="Prop") for p in PHONES]
        for lead_id in self.leads:
            schedule_call(lead_id)
        self.zone = scheduler_config.get_config().working_time
        self.posts_seen = 0
        self.stopped_at: dict[int, int] = {}  # lead -> number of POSTs when it was closed
        self.refs = itertools.count(1)

    def teardown(self) -> None:
        self.client.close()
        self.server.__exit__(None, None, None)
        self.traveller.stop()
        db.close_connection()

    # --- steps --------------------------------------------------------------------------

    @rule(scripts=st.lists(st.sampled_from(SCRIPTS), min_size=3, max_size=3))
    def dispatcher_run(self, scripts: list[CallScript]) -> None:
        for phone, script in zip(PHONES, scripts, strict=True):
            self.fake.script(phone, script)
        summary = dispatch_due_calls(
            client=self.client, outbound_id=self.fake.outbound_ids[0], limit=10,
            collect_budget_seconds=30,
        )  # fmt: skip
        assert summary.error is None
        self._check_new_posts()

    @rule(fault=st.sampled_from(["500", "hang", "disconnect"]))
    def pearl_fails_next_post(self, fault: str) -> None:
        if fault == "500":
            self.fake.fail("make_call", 500)
        elif fault == "hang":
            self.fake.slow("make_call", 0.6)
        else:
            self.fake.disconnect("make_call")

    @precondition(lambda self: self.fake.placed_calls())
    @rule(data=st.data(), copies=st.integers(1, 3))
    def webhook(self, data: st.DataObject, copies: int) -> None:
        call = data.draw(st.sampled_from(self.fake.placed_calls()))
        body = data.draw(st.sampled_from(WEBHOOK_BODIES))
        lead_id = int(call["callData"]["lead_id"])
        payload = {"id": f"wh-{call['id']}", "callData": call["callData"], **body}
        for _ in range(copies):
            try:
                enhanced_process_call_result(lead_id, {}, payload)
            except LeadNotFoundError:
                return

    @rule(minutes=st.sampled_from([6, 15, 61]))
    def time_passes(self, minutes: int) -> None:
        self.clock.shift(timedelta(minutes=minutes))

    @rule(hours=st.integers(-6, 6).filter(bool))
    def clock_jumps(self, hours: int) -> None:
        self.clock.shift(timedelta(hours=hours))

    @rule(index=st.integers(0, 2), how=st.sampled_from(["closed", "manual"]))
    def operator_acts(self, index: int, how: str) -> None:
        lead_id = self.leads[index]
        if how == "closed":
            sql(
                "UPDATE leads SET lead_status = 'closed', closure_reason = 'Operator', "
                "closed_at = %s WHERE id = %s",
                (utc_now().replace(tzinfo=None), lead_id),
            )
        else:
            sql("UPDATE leads SET manual_management = TRUE WHERE id = %s", (lead_id,))
        self.stopped_at.setdefault(lead_id, len(self._posts()))

    # --- properties ---------------------------------------------------------------------

    def _posts(self) -> list[dict]:
        return [r.json for r in self.fake.requests_for("make_call") if r.json]

    def _check_new_posts(self) -> None:
        posts = self._posts()
        now = utc_now()
        for post in posts[self.posts_seen :]:
            lead_id = int(post["callData"]["lead_id"])
            [row] = sql("SELECT * FROM leads WHERE id = %s", (lead_id,))
            assert is_working_instant(now, self.zone, **lead_frame(row, self.zone)), now
        self.posts_seen = len(posts)

    @invariant()
    def at_most_one_post_per_schedule(self) -> None:
        refs = Counter(int(p["callData"]["callRef"]) for p in self._posts())
        if not refs:
            return
        rows = sql("SELECT id, schedule_id FROM pearl_calls WHERE id IN %s", (tuple(refs),))
        per_schedule = Counter(r["schedule_id"] for r in rows for _ in range(refs[r["id"]]))
        assert all(n == 1 for n in refs.values()), refs
        assert all(n == 1 for n in per_schedule.values()), per_schedule

    @invariant()
    def no_post_after_the_operator_stopped_the_lead(self) -> None:
        posts = self._posts()
        for lead_id, seen in self.stopped_at.items():
            later = [p for p in posts[seen:] if int(p["callData"]["lead_id"]) == lead_id]
            assert later == [], f"lead {lead_id} dialled after it was closed or taken over"

    @invariant()
    def attempts_are_the_processed_calls(self) -> None:
        for lead_id in self.leads:
            [row] = sql("SELECT call_attempts_count FROM leads WHERE id = %s", (lead_id,))
            [done] = sql(
                "SELECT COUNT(*) AS n FROM pearl_calls WHERE lead_id = %s AND state = 'completed'",
                (lead_id,),
            )
            assert row["call_attempts_count"] == done["n"], lead_id

    @invariant()
    def every_open_lead_has_exactly_one_way_forward(self) -> None:
        rows = sql(
            """
            SELECT l.id, l.manual_management AS manual,
                   (SELECT COUNT(*) FROM call_schedule cs
                    WHERE cs.lead_id = l.id AND cs.status = 'pending') AS pending,
                   (SELECT COUNT(*) FROM pearl_calls pc WHERE pc.lead_id = l.id
                      AND pc.state IN ('claimed', 'placing', 'placed', 'uncertain')) AS in_flight
            FROM leads l WHERE l.lead_status = 'open'
            """
        )
        for row in rows:
            ways = int(bool(row["manual"])) + int(row["pending"]) + int(row["in_flight"])
            if row["manual"]:
                assert int(row["in_flight"]) <= 1, row  # a call may still end after review
                continue
            assert ways == 1, row


CallLifecycle.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TestCallLifecycle = CallLifecycle.TestCase
