"""The call lifecycle's invariants (issue 10), each against the real database and the fake
Pearl server: the state table, the pre-flight, leases, uncertain calls, refusals, poison
rows, provisional settlements, give-back guards, self-test leads, one call at a time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
import time_machine

import call_lifecycle as lc
import db
import scheduler_config
from call_manager_scheduler_integration import enhanced_process_call_result
from clock import utc_now
from despachar_llamadas import DispatchSummary, place_calls
from dispatch_place import PlaceCounts, claim_due_calls, release_claims
from reprogramar_llamadas_simple import LeadNotCallableError, schedule_call
from tests.fake_pearl import CallScript
from tests.helpers import lead, make_lead, schedules, set_config, sql, utc
from tests.test_dispatcher import (
    OUTBOUND,
    TO,
    due_lead,
    pearl_calls,
    pending,
    phone,
    run,
    unaccounted_leads,
)
from tests.test_dispatcher import clock as clock
from tests.test_dispatcher import pearl as pearl

pytestmark = pytest.mark.usefixtures("clean_db")

# --- the table, pure -------------------------------------------------------------------------


def test_every_state_is_reachable_and_every_edge_is_legal():
    reached = {lc.CallState.CLAIMED}
    for (source, _event), target in lc.TRANSITIONS.items():
        assert source in lc.CallState
        if target is not None:
            reached.add(target)
    assert reached == set(lc.CallState)


def test_a_missing_edge_is_refused():
    with pytest.raises(lc.IllegalTransitionError):
        lc.next_state("not_placed", "result")
    with pytest.raises(lc.IllegalTransitionError):
        lc.next_state("placed", "preflight_ok")
    assert lc.next_state("placing", "maybe_sent") == lc.CallState.UNCERTAIN


def test_nothing_that_may_be_at_pearl_can_be_released_or_refused_by_a_timeout():
    for state in lc.MAYBE_AT_PEARL - {lc.CallState.PLACING}:
        for event in (lc.Event.RELEASED, lc.Event.PREFLIGHT_REFUSED, lc.Event.AUTH_REFUSED):
            assert (state, event) not in lc.TRANSITIONS
    assert lc.sources("released") == ("claimed",)
    assert set(lc.sources("result")) == {
        "completed",
        "placed",
        "placing",
        "quarantined",
        "uncertain",
    }


@pytest.mark.parametrize(
    ("facts", "kind"),
    [
        ({"lead_open": False}, "drop"),
        ({"demo": True}, "drop"),
        ({"manual": True}, "drop"),
        ({"on_do_not_call": True}, "close"),
        ({"other_in_flight": True}, "drop"),
        ({"working_now": False}, "defer"),
        ({}, "go"),
    ],
)
def test_preflight_decisions(facts, kind):
    base = dict(lead_open=True, manual=False, demo=False, on_do_not_call=False,
                other_in_flight=False, working_now=True, next_working=None)  # fmt: skip
    assert lc.preflight(**{**base, **facts}).kind == kind


def test_uncertain_verdicts():
    now = utc(2026, 11, 24, 10, 0)
    grace, max_age = timedelta(minutes=10), timedelta(hours=24)

    def verdict(found=False, complete=True, age=timedelta(minutes=11)):
        return lc.uncertain_verdict(found=found, listing_complete=complete,
                                    placing_at=now - age, now=now, grace=grace,
                                    max_age=max_age)  # fmt: skip

    assert verdict(found=True) == "adopt"
    assert verdict() == "absent"
    assert verdict(age=timedelta(minutes=5)) == "wait"  # Pearl may not list it yet
    assert verdict(complete=False) == "wait"  # Pearl unreachable: never guess
    assert verdict(complete=False, age=timedelta(hours=25)) == "give_up"


# --- pre-flight right before the POST ------------------------------------------------------------


def claim(run_id: str = "run-a") -> list:
    return claim_due_calls(run_id, 50, "ES", PlaceCounts())


def place(claims: list, client, run_id: str = "run-a") -> DispatchSummary:
    summary = DispatchSummary()
    place_calls(claims, client, OUTBOUND, 2, run_id, summary)
    return summary


def test_claimed_at_1959_posted_after_2000_is_deferred_not_dialled(fake_pearl, pearl):
    with time_machine.travel(utc(2026, 11, 24, 18, 59, 50), tick=False) as traveller:
        lead_id = due_lead()
        claims = claim()
        assert len(claims) == 1
        traveller.move_to(utc(2026, 11, 24, 19, 0, 6))  # 20:00:06 Madrid: closed
        summary = place(claims, pearl())
    assert (summary.placed, summary.deferred) == (0, 1)
    assert fake_pearl.count("make_call") == 0
    assert pending(lead_id)["scheduled_at"] == datetime(2026, 11, 25, 9, 0)
    assert lead(lead_id)["call_attempts_count"] == 0
    assert unaccounted_leads() == []


def test_a_shorter_working_day_set_after_the_claim_is_honoured(clock, fake_pearl, pearl):
    lead_id = due_lead()
    claims = claim()
    set_config("working_hours_end", "10:30")  # it is 11:00 in Madrid
    scheduler_config.clear_config_cache()
    summary = place(claims, pearl())
    assert (summary.placed, summary.deferred) == (0, 1)
    assert fake_pearl.count("make_call") == 0
    assert pending(lead_id)["scheduled_at"] == datetime(2026, 11, 25, 9, 0)


def test_config_cache_is_bounded_by_max_age(monkeypatch):
    monkeypatch.setenv("SCHEDULER_CONFIG_CACHE_SECONDS", "600")
    scheduler_config.clear_config_cache()
    first = scheduler_config.get_config()
    assert scheduler_config.get_config() is first
    assert scheduler_config.get_config(max_age=0) is not first


@pytest.mark.parametrize("change", ["closed", "manual", "demo", "do_not_call"])
def test_a_lead_changed_after_the_claim_is_not_dialled(clock, fake_pearl, pearl, change):
    lead_id = due_lead()
    claims = claim()
    if change == "closed":
        sql("UPDATE leads SET lead_status = 'closed', closure_reason = 'x' WHERE id = %s",
            (lead_id,))  # fmt: skip
    elif change == "manual":
        sql("UPDATE leads SET manual_management = TRUE WHERE id = %s", (lead_id,))
    elif change == "demo":
        sql("UPDATE leads SET is_demo = TRUE WHERE id = %s", (lead_id,))
    else:
        sql("INSERT INTO do_not_call (telefono, source) VALUES (%s, 'test')", (TO,))
    summary = place(claims, pearl())
    assert (summary.placed, summary.dropped) == (0, 1)
    assert fake_pearl.count("make_call") == 0
    row = lead(lead_id)
    assert row["call_attempts_count"] == 0
    [call] = pearl_calls(lead_id)
    assert call["state"] == "not_placed"
    if change == "do_not_call":
        assert (row["lead_status"], row["closure_reason"]) == ("closed", "Lista negra")
    assert schedules(lead_id, "pending") == []


def test_self_test_leads_are_never_claimed(clock, fake_pearl, pearl):
    demo = due_lead(is_demo=True)
    real = due_lead(phone(2))
    summary = run(pearl())
    assert summary.placed == 1
    assert [c["to"] for c in fake_pearl.placed_calls()] == [phone(2)]
    assert pearl_calls(demo) == [] and len(pearl_calls(real)) == 1


# --- leases: overlapping runs ------------------------------------------------------------------


def test_another_run_never_releases_or_takes_a_live_claim(clock, fake_pearl, pearl):
    set_config("call_result_timeout_minutes", "1")  # shorter than the lease: irrelevant now
    lead_id = due_lead()
    claims = claim("slow-run")
    clock.move_to(utc(2026, 11, 24, 10, 3))  # the slow run is still collecting
    other = run(pearl())
    assert (other.released, other.claimed, other.placed) == (0, 0, 0)
    summary = place(claims, pearl(), "slow-run")
    assert summary.placed == 1
    assert fake_pearl.count("make_call") == 1
    assert [c["state"] for c in pearl_calls(lead_id)] == ["placed"]


def test_a_run_whose_claim_was_released_does_not_post_it(clock, fake_pearl, pearl):
    lead_id = due_lead()
    claims = claim("stalled-run")
    clock.move_to(utc(2026, 11, 24, 10, 6))  # lease expired: another run released it
    other = run(pearl())
    assert (other.released, other.placed) == (1, 1)
    late = place(claims, pearl(), "stalled-run")
    assert (late.placed, late.lost) == (0, 1)
    assert fake_pearl.count("make_call") == 1
    assert [c["state"] for c in pearl_calls(lead_id)] == ["placed"]


# --- never sent vs maybe sent ----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "timeout", "disconnect", "malformed"])
def test_a_post_that_reached_pearl_without_an_answer_is_reconciled_never_resent(
    clock, fake_pearl, pearl, fault
):
    if fault == "500":
        fake_pearl.fail("make_call", 500, process=True)
    elif fault == "timeout":
        fake_pearl.slow("make_call", 0.6)
    elif fault == "disconnect":
        fake_pearl.accept_and_drop()
    else:
        fake_pearl.malformed("make_call")
    lead_id = due_lead()
    client = pearl(read_timeout=0.2, max_retries=0)
    summary = run(client)
    assert (summary.placed, summary.uncertain, summary.failed) == (0, 1, 0)
    [call] = pearl_calls(lead_id)
    assert call["state"] == "uncertain" and call["request_id"] is None
    assert lead(lead_id)["call_attempts_count"] == 0  # nothing counted until Pearl says
    assert schedules(lead_id, "pending") == []
    assert unaccounted_leads() == []
    with pytest.raises(LeadNotCallableError):  # no second concurrent call to the person
        schedule_call(lead_id)

    clock.move_to(utc(2026, 11, 24, 10, 1))
    found = run(client)
    assert found.reconciled == 1
    [posted] = fake_pearl.placed_calls(TO)
    [call] = pearl_calls(lead_id)
    assert (call["state"], call["request_id"]) == ("placed", posted["id"])
    for minute in (3, 5, 7):
        clock.move_to(utc(2026, 11, 24, 10, minute))
        run(client)
    assert fake_pearl.count("make_call") == 1
    [call] = pearl_calls(lead_id)
    assert call["state"] == "completed"
    assert lead(lead_id)["call_attempts_count"] == 1
    assert unaccounted_leads() == []


def test_a_post_pearl_provably_never_got_is_given_back_after_the_grace(clock, fake_pearl, pearl):
    fake_pearl.fail("make_call", 502)  # a proxy's answer: Pearl never saw the request
    lead_id = due_lead()
    client = pearl(max_retries=0)
    assert run(client).uncertain == 1
    clock.move_to(utc(2026, 11, 24, 10, 5))  # within reconcile_grace_minutes: wait
    early = run(client)
    assert (early.not_placed_confirmed, early.placed) == (0, 0)
    clock.move_to(utc(2026, 11, 24, 10, 11))
    late = run(client)
    assert (late.not_placed_confirmed, late.placed) == (1, 1)
    assert [c["state"] for c in pearl_calls(lead_id)] == ["not_placed", "placed"]
    assert lead(lead_id)["call_attempts_count"] == 0
    assert fake_pearl.count("make_call") == 2


def test_a_clock_set_back_after_an_uncertain_post_still_reconciles(clock, fake_pearl, pearl):
    fake_pearl.fail("make_call", 500, process=True)  # Pearl has it, the answer was lost
    lead_id = due_lead()
    client = pearl(max_retries=0)
    assert run(client).uncertain == 1
    clock.move_to(utc(2026, 11, 24, 8, 30))  # the host's clock goes back 90 minutes
    back = run(client)  # the listing's range still covers the POST: no error, found
    assert (back.reconciled, back.placed, back.error) == (1, 0, None)
    assert fake_pearl.count("make_call") == 1
    assert pearl_calls(lead_id)[0]["state"] == "placed"


def test_an_unreachable_pearl_leaves_the_call_uncertain_then_counts_it_once(
    clock, fake_pearl, pearl
):
    set_config("uncertain_max_hours", "2")
    fake_pearl.fail("make_call", 500)
    lead_id = due_lead()
    client = pearl(max_retries=0)
    run(client)
    fake_pearl.fail("search_call_requests", 503, times=1000)
    clock.move_to(utc(2026, 11, 24, 11, 0))
    assert run(client).placed == 0
    assert pearl_calls(lead_id)[0]["state"] == "uncertain"
    clock.move_to(utc(2026, 11, 24, 12, 1))
    assert run(client).given_up == 1
    [call] = pearl_calls(lead_id)
    assert (call["state"], call["outcome"], call["provisional"]) == ("completed", "error", 1)
    assert lead(lead_id)["call_attempts_count"] == 1
    assert len(schedules(lead_id, "pending")) == 1
    assert fake_pearl.count("make_call") == 1


def test_a_webhook_before_the_request_id_is_saved_counts_once(
    clock, fake_pearl, pearl, monkeypatch
):
    import dispatch_place

    def save_fails(*_args, **_kwargs):
        raise db.DatabaseUnavailableError("the save failed")

    monkeypatch.setattr(dispatch_place, "save_placed", save_fails)
    lead_id = due_lead()
    client = pearl()
    assert run(client).placed == 1
    [call] = pearl_calls(lead_id)
    assert call["state"] == "placing" and call["request_id"] is None
    [posted] = fake_pearl.placed_calls(TO)
    webhook = {"id": "call-from-webhook", "status": 5, "callData": posted["callData"]}
    assert enhanced_process_call_result(lead_id, {}, webhook).action == "rescheduled"
    monkeypatch.undo()
    clock.move_to(utc(2026, 11, 24, 10, 20))  # the lease expired long ago
    later = run(client)
    assert (later.placed, later.timed_out) == (0, 0)
    [call] = pearl_calls(lead_id)
    assert (call["state"], call["outcome"]) == ("completed", "busy")
    assert lead(lead_id)["call_attempts_count"] == 1
    assert fake_pearl.count("make_call") == 1


# --- refusals ---------------------------------------------------------------------------------


def test_a_number_pearl_always_refuses_goes_to_manual_review(clock, fake_pearl, pearl):
    set_config("max_refusals", "3")
    fake_pearl.fail("make_call", 400, message="Invalid phone number format", times=1000)
    lead_id = due_lead()
    client = pearl()
    for n in range(5):
        clock.move_to(utc(2026, 11, 24, 10, 0) + timedelta(minutes=31 * n))
        run(client)
    assert fake_pearl.count("make_call") == 3
    row = lead(lead_id)
    assert row["manual_management"] == 1 and row["call_attempts_count"] == 0
    assert "Invalid phone number format" in row["call_error_message"]
    assert row["lead_status"] == "open" and schedules(lead_id, "pending") == []


def test_an_accepted_call_resets_the_refusal_count(clock, fake_pearl, pearl):
    fake_pearl.fail("make_call", 400, times=2)
    lead_id = due_lead()
    client = pearl()
    for n in range(3):
        clock.move_to(utc(2026, 11, 24, 10, 0) + timedelta(minutes=31 * n))
        run(client)
    assert lead(lead_id)["consecutive_refusals"] == 0
    assert [c["state"] for c in pearl_calls(lead_id)] == ["not_placed", "not_placed", "placed"]


# --- a poison row never blocks the others ---------------------------------------------------


def test_a_result_that_cannot_be_processed_is_quarantined_and_blocks_nothing(
    clock, fake_pearl, pearl
):
    set_config("max_processing_failures", "2")
    poisoned = due_lead(phone(1))
    other = make_lead(telefono=phone(2), lead_status="closed", closure_reason="Cita agendada")
    # Pearl reports, for the poisoned call, a call id another lead's call already holds.
    fake_pearl.script(phone(1), CallScript(status=5, extra={"id": "shared-id"}))
    sql("INSERT INTO pearl_calls (lead_id, call_id, state, outcome) "
        "VALUES (%s, 'shared-id', 'completed', 'busy')", (other,))  # fmt: skip
    client = pearl()
    assert run(client).placed == 1
    [request] = fake_pearl.placed_calls(phone(1))
    fresh = due_lead(phone(3))
    for minute in (2, 4, 6):
        clock.move_to(utc(2026, 11, 24, 10, minute))
        summary = run(client)
        assert summary.error is None
    assert request["to"] == phone(1)
    assert len(fake_pearl.placed_calls(phone(3))) == 1  # due calls still placed
    [call] = pearl_calls(poisoned)
    assert call["state"] == "quarantined" and call["processing_failures"] == 2
    row = lead(poisoned)
    assert row["manual_management"] == 1 and row["lead_status"] == "open"
    assert pearl_calls(fresh)[0]["state"] in ("placed", "completed")
    assert unaccounted_leads() == []


def test_text_pearl_sends_is_made_safe_before_storage(clock):
    lead_id = make_lead()
    deep: dict = {}
    node = deep
    for _ in range(400):
        node["x"] = {}
        node = node["x"]
    payload = {"id": "call-\ud800", "status": 5, "summary": "bad \udfff text", "nested": deep}
    result = enhanced_process_call_result(lead_id, {"error_message": "e\ud800"}, payload)
    assert result.action == "rescheduled"
    [call] = pearl_calls(lead_id)
    assert call["outcome"] == "busy" and call["raw_response"]


# --- one result per call ------------------------------------------------------------------------


def test_a_call_still_running_is_ignored_and_its_real_result_counts(clock):
    lead_id = make_lead()
    running = {"id": "call-9", "status": 3, "conversationStatus": 20}
    assert enhanced_process_call_result(lead_id, {}, running).action == "in_progress"
    started = {"event": "call_started", "id": "call-9"}
    assert enhanced_process_call_result(lead_id, started, None).action == "in_progress"
    assert pearl_calls(lead_id) == [] and lead(lead_id)["call_attempts_count"] == 0
    booked = {"id": "call-9", "status": 4, "conversationStatus": 100,
              "collectedInfo": [{"id": "fechaDeseada", "value": "01-12-2026"}]}  # fmt: skip
    result = enhanced_process_call_result(lead_id, {}, booked)
    assert (result.action, result.closure_reason) == ("closed", "Cita agendada")


@pytest.mark.parametrize("max_attempts", ["3", "1"])
def test_a_real_result_replaces_a_provisional_settlement_without_counting_again(
    clock, fake_pearl, pearl, max_attempts
):
    set_config("default_max_attempts", max_attempts)
    fake_pearl.fail("get_call_request", 503, times=1000)
    lead_id = due_lead()
    client = pearl(max_retries=0)
    run(client)
    clock.move_to(utc(2026, 11, 24, 11, 1))  # past the result timeout
    assert run(client).timed_out == 1
    [call] = pearl_calls(lead_id)
    assert (call["outcome"], call["provisional"]) == ("error", 1)
    assert lead(lead_id)["call_attempts_count"] == 1
    [posted] = fake_pearl.placed_calls(TO)
    booked = {"id": "late-call", "status": 4, "conversationStatus": 100,
              "callData": posted["callData"],
              "collectedInfo": [{"id": "fechaDeseada", "value": "01-12-2026"}]}  # fmt: skip
    result = enhanced_process_call_result(lead_id, {}, booked)
    assert result.action == "replaced"
    row = lead(lead_id)
    assert row["call_attempts_count"] == 1  # the call counted once, as if on time
    assert (row["lead_status"], row["closure_reason"]) == ("closed", "Cita agendada")
    assert schedules(lead_id, "pending") == []
    [call] = pearl_calls(lead_id)
    assert (call["outcome"], call["provisional"], call["call_id"]) == (
        "appointment",
        0,
        "late-call",
    )
    assert enhanced_process_call_result(lead_id, {}, booked).action == "duplicate"


def test_a_clock_set_back_does_not_make_the_newer_call_stale(clock):
    lead_id = make_lead()
    for request_id in ("req-1", "req-2"):
        sql(
            "INSERT INTO pearl_calls (lead_id, request_id, state, claimed_at) "
            "VALUES (%s, %s, 'placed', %s)",
            (lead_id, request_id, datetime(2026, 11, 24, 9)),
        )
    first, second = (c["id"] for c in pearl_calls(lead_id))
    older = {"id": "c1", "status": 7, "callData": {"callRef": first}}
    newer = {"id": "c2", "status": 4, "conversationStatus": 100, "callData": {"callRef": second},
             "collectedInfo": [{"id": "fechaDeseada", "value": "01-12-2026"}]}  # fmt: skip
    assert enhanced_process_call_result(lead_id, {}, older).action == "rescheduled"
    clock.move_to(utc(2026, 11, 24, 4, 0))  # six hours back
    assert enhanced_process_call_result(lead_id, {}, newer).closure_reason == "Cita agendada"


# --- give-back guards, one call at a time, masking ------------------------------------------


def test_release_never_revives_a_lead_closed_meanwhile(clock):
    lead_id = due_lead(call_status="busy")
    claims = claim()
    sql("UPDATE leads SET lead_status = 'closed', closure_reason = 'x', call_status = 'completed' "
        "WHERE id = %s", (lead_id,))  # fmt: skip
    assert release_claims(claims, "run-a") == 1
    row = lead(lead_id)
    assert (row["lead_status"], row["call_status"]) == ("closed", "completed")
    assert schedules(lead_id, "pending") == []


def test_schedule_call_refuses_a_lead_with_a_call_in_flight(clock, fake_pearl, pearl):
    lead_id = due_lead()
    run(pearl())
    with pytest.raises(LeadNotCallableError, match="in flight"):
        schedule_call(lead_id)
    assert schedules(lead_id, "pending") == []


def test_collected_text_is_masked_in_logs(clock, caplog):
    lead_id = make_lead()
    payload = {"id": "c-mask", "status": 4, "conversationStatus": 100,
               "collectedInfo": [{"id": "fechaDeseada", "value": "01-12-2026"},
                                 {"id": "horaDeseada",
                                  "value": "llámame al 612 345 678 mañana"}]}  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        enhanced_process_call_result(lead_id, {}, payload)
    assert "612 345 678" not in caplog.text and "612345678" not in caplog.text
    assert utc_now()  # the clock fixture is active
