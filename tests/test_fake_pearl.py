"""Tests for tests/fake_pearl.py itself: its call objects, scripts, account and webhooks look
like Pearl's real ones, so that the tests built on it test something real."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pearl_client import PearlClient
from tests.fake_pearl import (
    CALLER_ID,
    DEFAULT_OUTBOUND_ID,
    FakePearl,
    Scripts,
    Sleeps,
    collected_info,
)

pytest_plugins = ["tests.fake_pearl"]

OUTBOUND = DEFAULT_OUTBOUND_ID
TO = "+34612345678"


def client_for(fake: FakePearl, sleeps: Sleeps) -> PearlClient:
    return PearlClient(fake.settings(), sleep=sleeps)


def final_call(fake: FakePearl, sleeps: Sleeps, call_data: dict[str, Any]) -> dict[str, Any]:
    with client_for(fake, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, call_data)
        fake.finish_calls()
        call_id = client.get_call_request(request_id)["callId"]
        return client.get_call(call_id)


def test_call_object_is_shaped_like_pearls(fake_pearl, sleeps) -> None:
    fake_pearl.script(TO, Scripts.appointment(name="Ana"))
    call = final_call(fake_pearl, sleeps, {"callRef": "pc-1", "firstName": "Ana"})
    assert call["status"] == 4 and call["conversationStatus"] == 100
    assert call["from"] == CALLER_ID == "339900" and call["to"] == TO and call["name"] == "Ana"
    assert call["callData"] == {"callRef": "pc-1", "firstName": "Ana"}
    assert call["collectedInfo"] == [
        {"id": "fechaDeseada", "name": "Fecha deseada", "value": "25-09-2025"},
        {"id": "horaDeseada", "name": "Hora deseada", "value": "17:00:00"},
        {"id": "conPack", "name": "Con pack", "value": True},
    ]
    assert call["summary"] and call["transcript"] and call["recording"]
    assert call["duration"] > 0 and call["startTime"].endswith("Z")


def test_call_is_status_3_while_it_runs(fake_pearl, sleeps) -> None:
    fake_pearl.script(TO, in_progress_polls=3)
    with client_for(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        call_id = client.get_call_request(request_id)["callId"]
        running = client.get_call(call_id)
    assert running["status"] == 3 and running["collectedInfo"] == [] and running["duration"] == 0


@pytest.mark.parametrize(
    ("script", "status", "conversation", "variables"),
    [
        (Scripts.canceled(), 8, 10, {}),
        (Scripts.unreachable(), 7, 150, {}),
        (Scripts.voicemail(), 4, 70, {"buzon": True}),
        (Scripts.new_appointment(), 4, 100, {"nuevaCita": "2025-10-14 09:50-10:10"}),
        (
            Scripts.not_interested(),
            4,
            110,
            {"noInteresado": True, "codigoNoInteres": "NO_NECESITA"},
        ),
        (Scripts.callback("17:30"), 4, 130, {"volverALlamar": True, "horaRellamada": "17:30"}),
        (Scripts.preference("MORNING"), 4, 130, {"preferenciaMT": "MORNING"}),
    ],
)
def test_ready_made_scripts_use_the_real_variable_names(
    fake_pearl, sleeps, script, status, conversation, variables
) -> None:
    fake_pearl.script(TO, script)
    call = final_call(fake_pearl, sleeps, {})
    assert (call["status"], call["conversationStatus"]) == (status, conversation)
    assert {i["id"]: i["value"] for i in call["collectedInfo"]} == variables


def test_collected_info_keeps_order_and_unknown_names() -> None:
    assert collected_info(preferenciaFecha="lunes", otra=1) == [
        {"id": "preferenciaFecha", "name": "Preferencia de fecha", "value": "lunes"},
        {"id": "otra", "name": "otra", "value": 1},
    ]


def test_call_posts_record_refused_and_faulted_posts_too(fake_pearl, sleeps) -> None:
    fixed = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    fake_pearl.clock = lambda: fixed
    fake_pearl.fail("make_call", 400)
    with client_for(fake_pearl, sleeps) as client:
        with pytest.raises(Exception):  # noqa: B017 - refused: the kind is tested elsewhere
            client.make_call(OUTBOUND, TO, {"callRef": "a"})
        client.make_call(OUTBOUND, TO, {"callRef": "a"})
        client.make_call(OUTBOUND, "+34699999999", {"callRef": "b"})
    posts = fake_pearl.call_posts(TO)
    assert [p.request_id is None for p in posts] == [True, False]
    assert all(p.received_utc == fixed for p in posts)
    assert fake_pearl.posts_per_call_ref() == {"a": 2, "b": 1}
    assert fake_pearl.placed_calls(TO)[0]["id"] == posts[1].request_id


def test_requests_are_listed_with_their_creation_time_from_the_fake_clock(fake_pearl, sleeps):
    fake_pearl.clock = lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with client_for(fake_pearl, sleeps) as client:
        client.make_call(OUTBOUND, TO, {"callRef": "x"})
        inside = client.search_call_requests(
            OUTBOUND, "2026-11-24T08:59:00Z", "2026-11-24T09:01:00Z"
        )
        outside = client.search_call_requests(
            OUTBOUND, "2026-11-24T09:00:01Z", "2026-11-24T10:00:00Z"
        )
    assert inside["count"] == 1 and inside["results"][0]["created"] == "2026-11-24T09:00:00.000Z"
    assert outside == {"count": 0, "results": []}


# --------------------------------------------------------------------------- webhooks


class Receiver:
    """A real HTTP server standing in for our webhook endpoint; records the bodies."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.bodies: list[dict[str, Any]] = []
        server.expect_request("/webhook", method="POST").respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for("/webhook")

    def _handle(self, request: Request) -> Response:
        self.bodies.append(json.loads(request.get_data()))
        return Response("ok", status=200)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield Receiver(server)
    server.clear()
    server.stop()


def place_and_finish(fake: FakePearl, sleeps: Sleeps, ref: str) -> None:
    with client_for(fake, sleeps) as client:
        client.make_call(OUTBOUND, TO, {"callRef": ref})
    fake.finish_calls()


def test_v2_webhooks_send_started_then_ended(fake_pearl, sleeps, receiver) -> None:
    fake_pearl.script(TO, Scripts.callback("18:00"))
    fake_pearl.set_webhook(receiver.url)
    place_and_finish(fake_pearl, sleeps, "pc-9")
    deliveries = fake_pearl.wait_for_deliveries(2)
    assert [d.status_code for d in deliveries] == [200, 200]
    started, ended = receiver.bodies
    assert started["status"] == 3 and started["collectedInfo"] == []
    assert ended["status"] == 4 and ended["conversationStatus"] == 130
    assert started["id"] == ended["id"] and ended["pearlId"] == OUTBOUND
    assert ended["callData"] == {"callRef": "pc-9"}
    assert {i["id"] for i in ended["collectedInfo"]} == {"volverALlamar", "horaRellamada"}


def test_v1_webhooks_use_pascal_case_but_keep_call_data_names(fake_pearl, sleeps, receiver):
    fake_pearl.script(TO, Scripts.appointment())
    fake_pearl.set_webhook(receiver.url, version="v1")
    place_and_finish(fake_pearl, sleeps, "pc-10")
    fake_pearl.wait_for_deliveries(2)
    ended = receiver.bodies[1]
    assert ended["Status"] == 4 and ended["ConversationStatus"] == 100 and "status" not in ended
    assert ended["CallData"] == {"callRef": "pc-10"}
    assert ended["CollectedInfo"][0] == {
        "Id": "fechaDeseada", "Name": "Fecha deseada", "Value": "25-09-2025"
    }  # fmt: skip


def test_duplicated_webhooks(fake_pearl, sleeps, receiver) -> None:
    fake_pearl.set_webhook(receiver.url, duplicate=True)
    place_and_finish(fake_pearl, sleeps, "pc-11")
    fake_pearl.wait_for_deliveries(4)
    assert [b["status"] for b in receiver.bodies] == [3, 3, 4, 4]


def test_held_webhooks_can_be_delivered_out_of_order_and_twice(fake_pearl, sleeps, receiver):
    fake_pearl.set_webhook(receiver.url, auto=False)
    place_and_finish(fake_pearl, sleeps, "pc-12")
    time.sleep(0.2)
    assert receiver.bodies == []  # held
    started, ended = fake_pearl.webhook_events()
    assert (started.kind, ended.kind) == ("started", "ended")
    assert fake_pearl.deliver(ended, started, ended) == [200, 200, 200]
    assert [b["status"] for b in receiver.bodies] == [4, 3, 4]
    fake_pearl.deliver(started, version="v1")
    assert receiver.bodies[-1]["Status"] == 3


def test_events_are_recorded_without_a_url_and_polls_emit_them(fake_pearl, sleeps) -> None:
    fake_pearl.script(TO, in_progress_polls=1)
    with client_for(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        call_id = client.get_call_request(request_id)["callId"]
        assert [e.kind for e in fake_pearl.webhook_events(call_id)] == ["started"]
        client.get_call(call_id)
    assert [e.kind for e in fake_pearl.webhook_events(call_id)] == ["started", "ended"]
    assert fake_pearl.webhook_events(kind="ended")[0].request_id == request_id


def test_blacklisted_requests_emit_no_events(fake_pearl, sleeps) -> None:
    fake_pearl.script(TO, request_status=20, request_errors=["DNC"])
    with client_for(fake_pearl, sleeps) as client:
        client.make_call(OUTBOUND, TO, {})
    assert fake_pearl.finish_calls() == 1
    assert fake_pearl.webhook_events() == []


def test_calls_can_be_moved_on_one_by_one(fake_pearl, sleeps) -> None:
    with client_for(fake_pearl, sleeps) as client:
        first = client.make_call(OUTBOUND, TO, {"callRef": "1"})
        second = client.make_call(OUTBOUND, "+34699999999", {"callRef": "2"})
    assert fake_pearl.start_calls([first]) == 1
    assert fake_pearl.finish_calls([second]) == 1
    phases = {c["id"]: c["phase"] for c in fake_pearl.placed_calls()}
    assert phases == {first: "in_progress", second: "done"}
    assert [e.kind for e in fake_pearl.webhook_events()] == ["started", "started", "ended"]
