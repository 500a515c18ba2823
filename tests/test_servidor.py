"""The HTTP server against the real database: uvicorn in a subprocess, real HTTP requests.

Pure pieces (payload normalisation, the "is this a result" decision, tokens, the original's
fields) are tested without I/O first; then every endpoint and status code of servidor.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import db
from api_original import call_from_original_fields
from servidor import (
    DEFAULT_DB_THREADS,
    ConfigurationError,
    load_db_threads,
    load_tokens,
    redact_token,
    token_matches,
)
from tests.helpers import lead, make_lead, reset_database, run_script, sql, tables_checksum
from tests.servidor_process import PREVIOUS_TOKEN, ROOT, TOKEN, ServerProcess, free_port
from webhook_pearl import (
    WebhookPayloadError,
    is_final_call_event,
    normalise_payload,
    parse_call_event,
)

WEBHOOK = "/webhooks/pearl/call"
ACTUALIZAR = "/api/actualizar_resultado"
PHONE = "+34612345678"


# --- pure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "final"),
    [(3, False), (4, True), (5, True), (6, True), (7, True), (8, True), (1, False),
     (9, False), (None, False), (True, False), ("4", False)],
)  # fmt: skip
def test_only_pearl_statuses_4_to_8_are_results(status, final):
    assert is_final_call_event({"status": status}) is final


def test_pascal_case_keys_become_camel_case_and_camel_case_wins():
    payload = {"Id": "c1", "Status": 4, "CollectedInfo": [{"Id": "buzon", "Value": True}],
               "CallData": {"CallRef": 7}, "to": "+34", "To": "ignored"}  # fmt: skip
    assert normalise_payload(payload) == {
        "id": "c1", "status": 4, "collectedInfo": [{"id": "buzon", "value": True}],
        "callData": {"callRef": 7}, "to": "+34",
    }  # fmt: skip


def test_lone_surrogates_are_replaced_and_absurd_nesting_refused():
    assert normalise_payload({"summary": "a\ud800b"}) == {"summary": "a\ufffdb"}
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(WebhookPayloadError, match="nests deeper"):
        normalise_payload({"x": deep})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "JSON object"),
        ({"id": "c", "status": "four"}, "status must be an integer"),
        ({"id": ["c"], "status": 4}, "id must be a string"),
        ({"status": 4}, "must carry the call id"),
        ({"id": "c", "status": 4, "callData": "x"}, "callData must be an object"),
        ({"id": "c", "status": 4, "callData": {"callRef": -1}}, "greater than zero"),
        ({"id": "c", "status": 4, "collectedInfo": ["x"]}, "list of objects"),
        ({"id": "c", "status": 4, "to": 612345678}, "to must be a string"),
    ],
)
def test_invalid_events_are_refused_with_one_line(payload, reason):
    with pytest.raises(WebhookPayloadError, match=reason) as info:
        parse_call_event(payload)
    assert "\n" not in str(info.value)


def test_event_fields_the_server_decides_on():
    event = parse_call_event(
        {"id": "c1", "status": 4.0, "to": PHONE, "callData": {"callRef": "12", "leadId": 3}}
    )
    assert (event.call_id, event.status, event.call_ref, event.lead_id_hint, event.to) == (
        "c1", 4, 12, 3, PHONE,
    )  # fmt: skip


def test_tokens_come_from_the_environment_and_are_checked():
    assert load_tokens({"WEBHOOK_TOKEN": TOKEN}) == (TOKEN,)
    both = load_tokens({"WEBHOOK_TOKEN": TOKEN, "WEBHOOK_TOKEN_PREVIOUS": PREVIOUS_TOKEN})
    assert both == (TOKEN, PREVIOUS_TOKEN)
    for env in ({}, {"WEBHOOK_TOKEN": "short"}, {"WEBHOOK_TOKEN": "has space in it 0123456"}):
        with pytest.raises(ConfigurationError, match="WEBHOOK_TOKEN") as info:
            load_tokens(env)
        assert "short" not in str(info.value)
    assert token_matches(TOKEN, both) and token_matches(PREVIOUS_TOKEN, both)
    assert not token_matches(TOKEN[:-1], both) and not token_matches(None, both)
    assert redact_token(f"/x?a=1&token={TOKEN}&b=2") == "/x?a=1&token=***&b=2"


def test_original_fields_become_a_finished_pearl_call():
    call = call_from_original_fields(
        {"telefono": PHONE, "noInteresado": True, "codigoNoInteres": ["descontento"],
         "nuevaCita": "", "horaRellamada": None, "callId": "abc-1", "otro": 1}
    )  # fmt: skip
    assert call == {
        "status": 4,
        "conversationStatus": 100,
        "collectedInfo": [
            {"id": "codigoNoInteres", "value": "descontento"},
            {"id": "noInteresado", "value": True},
        ],
        "id": "abc-1",
    }


# --- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(test_database) -> Iterator[ServerProcess]:
    with ServerProcess(workers=2) as running:
        yield running


@pytest.fixture
def http(server, clean_db) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url(""), timeout=30) as client:
        yield client


def post(http: httpx.Client, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("params", {"token": TOKEN})
    if isinstance(body, bytes):
        return http.post(path, content=body, **kwargs)
    return http.post(path, json=body, **kwargs)


def placed_call(lead_id: int, request_id: str = "req-1") -> int:
    """A pearl_calls row as the dispatcher leaves it after Pearl accepted the call."""
    with db.transaction("placed call") as cur:
        cur.execute(
            "INSERT INTO pearl_calls (lead_id, request_id, state, claimed_at, placed_at) "
            "VALUES (%s, %s, 'placed', UTC_TIMESTAMP(), UTC_TIMESTAMP())",
            (lead_id, request_id),
        )
        return cur.lastrowid


def end_event(call_id: str, status: int = 5, **fields: Any) -> dict[str, Any]:
    event = {"id": call_id, "status": status, "conversationStatus": 10, "from": "339900",
             "to": PHONE, "startTime": "2026-11-24T10:00:00+00:00", "duration": 0}  # fmt: skip
    return {**event, **fields}


def calls_of(lead_id: int) -> list[dict]:
    return sql("SELECT * FROM pearl_calls WHERE lead_id = %s ORDER BY id", (lead_id,))


def test_health_and_status_need_no_token_and_show_no_secrets(http, server):
    health = http.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["database"] == "ok"
    status = http.get("/api/status")
    assert status.status_code == 200
    assert status.json()["status"] == "online" and status.json()["service"]
    for text in (health.text, status.text):
        assert TOKEN not in text and PREVIOUS_TOKEN not in text


@pytest.mark.parametrize("path", [WEBHOOK, ACTUALIZAR])
def test_missing_or_wrong_token_is_401_and_writes_nothing(http, path):
    lead_id = make_lead(telefono=PHONE)
    before = tables_checksum()
    body = end_event("c-401", callData={"lead_id": lead_id}) | {"telefono": PHONE}
    for kwargs in (
        {"params": {}},
        {"params": {"token": "wrong-token-0123456789"}},
        {"params": {}, "headers": {"X-Webhook-Token": TOKEN[:-1]}},
        {"params": {"token": ""}},
    ):
        answer = post(http, path, body, **kwargs)
        assert answer.status_code == 401, kwargs
        assert "token" in answer.json()["error"]
    assert tables_checksum() == before


@pytest.mark.parametrize(
    "auth",
    [{"params": {"token": TOKEN}}, {"params": {}, "headers": {"X-Webhook-Token": TOKEN}},
     {"params": {"token": PREVIOUS_TOKEN}}],
    ids=["query", "header", "previous-token"],
)  # fmt: skip
def test_token_in_the_url_or_the_header_is_accepted(http, auth):
    lead_id = make_lead(telefono=PHONE)
    answer = post(http, WEBHOOK, end_event("c-ok", callData={"lead_id": lead_id}), **auth)
    assert answer.status_code == 200
    assert answer.json()["status"] == "processed"


def test_start_event_and_in_progress_status_write_nothing(http):
    lead_id = make_lead(telefono=PHONE)
    row_id = placed_call(lead_id)
    before = tables_checksum()
    for event in (
        {"id": "c-start", "status": 3, "conversationStatus": 20, "callData": {"callRef": row_id}},
        {"Id": "c-start", "Status": 3, "To": PHONE},
        {"id": "c-start", "callData": {"lead_id": lead_id}},  # no status at all
        # A final-looking status on an event labelled as the start: the polling path's
        # rule (call_outcome.is_final_call) says it is no result, so the webhook agrees.
        {"id": "c-start", "status": 4, "event": "callStarted", "callData": {"callRef": row_id}},
    ):
        answer = post(http, WEBHOOK, event)
        assert answer.status_code == 200
        assert answer.json()["status"] == "ignored"
    assert tables_checksum() == before


def test_end_event_is_applied_once_however_often_it_is_delivered(http):
    lead_id = make_lead(telefono=PHONE)
    row_id = placed_call(lead_id)
    post(http, WEBHOOK, {"id": "c-dup", "status": 3, "callData": {"callRef": row_id}})
    event = end_event("c-dup", status=5, callData={"callRef": row_id, "lead_id": lead_id})
    answers = [post(http, WEBHOOK, event) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["processed", "duplicate", "duplicate"]
    assert answers[0].json()["outcome"] == "busy"
    [row] = calls_of(lead_id)
    assert row["id"] == row_id and row["call_id"] == "c-dup" and row["outcome"] == "busy"
    assert lead(lead_id)["call_attempts_count"] == 1
    # Matched later by the call id alone (no callData): still the same call.
    again = post(http, WEBHOOK, end_event("c-dup", status=5))
    assert again.json()["status"] == "duplicate"
    assert lead(lead_id)["call_attempts_count"] == 1


def test_request_id_matches_the_dispatchers_row(http):
    lead_id = make_lead(telefono=PHONE)
    row_id = placed_call(lead_id, request_id="req-77")
    answer = post(http, WEBHOOK, end_event("c-77", status=7, requestId="req-77"))
    assert answer.json()["status"] == "processed"
    assert [r["id"] for r in calls_of(lead_id)] == [row_id]


def test_call_row_wins_over_a_lead_id_in_callData_that_disagrees(http):
    owner = make_lead(telefono=PHONE)
    other = make_lead(telefono="+34699000222")
    row_id = placed_call(owner)
    event = end_event("c-mix", status=7, callData={"callRef": row_id, "lead_id": other})
    answer = post(http, WEBHOOK, event)
    assert answer.json()["status"] == "processed" and answer.json()["lead_id"] == owner
    assert [r["id"] for r in calls_of(owner)] == [row_id] and calls_of(other) == []
    assert lead(other)["call_attempts_count"] == 0


def test_pascal_case_event_from_pearls_dashboard_is_matched_by_callData(http):
    lead_id = make_lead(telefono="+34699000111")
    event = {"Id": "c-pascal", "Status": 5, "ConversationStatus": 10, "To": "+34699000111",
             "CallData": {"LeadId": lead_id}, "CollectedInfo": []}  # fmt: skip
    answer = post(http, WEBHOOK, event)
    assert answer.status_code == 200
    assert answer.json() | {"lead_id": lead_id} == answer.json()
    assert answer.json()["status"] == "processed" and answer.json()["outcome"] == "busy"
    [row] = calls_of(lead_id)
    assert row["call_id"] == "c-pascal" and row["pearl_status"] == 5
    assert lead(lead_id)["call_attempts_count"] == 1


def test_dashboard_call_is_matched_by_the_number_of_exactly_one_open_lead(http):
    lead_id = make_lead(telefono="612 345 678")
    make_lead(telefono=PHONE, lead_status="closed")
    answer = post(http, WEBHOOK, end_event("c-phone", status=7, to="+34 612-345-678"))
    assert answer.json()["status"] == "processed" and answer.json()["lead_id"] == lead_id
    make_lead(telefono="0034612345678")  # a second open lead with that number
    before = tables_checksum()
    answer = post(http, WEBHOOK, end_event("c-phone-2", status=7))
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ignored",
        "reason": "unknown call and several open leads have the called number",
    }
    assert tables_checksum() == before


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (end_event("c-x", to="+34600999888"), "no open lead has the called number"),
        (end_event("c-x", callData={"lead_id": 987654}), "unknown lead in callData"),
        (end_event("c-x", to="not a number"), "not valid"),
        (end_event("c-x", to=None), "no called number"),
    ],
)
def test_unknown_call_or_lead_is_200_ignored_with_a_warning(http, server, event, reason):
    make_lead(telefono=PHONE)
    before = tables_checksum()
    answer = post(http, WEBHOOK, event)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored" and reason in answer.json()["reason"]
    assert tables_checksum() == before
    assert "webhook for call c-x ignored" in server.log_text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"id": "c", "status": "done"}).encode(), "status must be an integer"),
        (json.dumps({"status": 4, "to": PHONE}).encode(), "call id"),
        (b'{"id": "c", "status": 4, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nest"),
    ],
)
def test_bad_json_or_invalid_event_is_422_with_one_line_and_nothing_written(http, body, reason):
    make_lead(telefono=PHONE)
    before = tables_checksum()
    answer = post(http, WEBHOOK, body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert reason in error and "\n" not in error and len(error) < 200
    assert tables_checksum() == before


def test_text_pearl_cannot_store_is_made_safe(http):
    lead_id = make_lead(telefono=PHONE)
    body = b'{"id": "c-sur", "status": 7, "summary": "a\\ud800b", "callData": {"lead_id": %d}}'
    answer = post(http, WEBHOOK, body % lead_id)
    assert answer.status_code == 200 and answer.json()["status"] == "processed"
    assert "a\ufffdb" in calls_of(lead_id)[0]["raw_response"]


@pytest.mark.parametrize(
    "extra",
    [
        b'"duration": NaN, "conversationStatus": Infinity',
        b'"duration": 1e400, "conversationStatus": 99999999999999999999',
        b'"collectedInfo": [{"id": null, "value": {"a": [1, {"b": -0.0}]}}, {}]',
        b'"startTime": "not a time", "summary": null, "transcript": "x"',
    ],
)
def test_odd_but_valid_json_is_processed_never_a_server_error(http, extra):
    lead_id = make_lead(telefono=PHONE)
    body = b'{"id": "c-odd", "status": 7, "callData": {"lead_id": %d}, %s}' % (lead_id, extra)
    answer = post(http, WEBHOOK, body)
    assert answer.status_code == 200 and answer.json()["status"] == "processed"
    assert lead(lead_id)["call_attempts_count"] == 1


def test_body_over_one_mib_is_413_also_without_a_content_length(http):
    make_lead(telefono=PHONE)
    before = tables_checksum()
    big = b'{"id": "c", "status": 4, "summary": "' + b"x" * (1024 * 1024) + b'"}'
    assert post(http, WEBHOOK, big).status_code == 413

    def chunks() -> Iterator[bytes]:  # chunked transfer: the size is only known by reading
        for _ in range(20):
            yield b" " * 65536

    answer = http.post(WEBHOOK, params={"token": TOKEN}, content=chunks())
    assert answer.status_code == 413
    assert post(http, ACTUALIZAR, big).status_code == 413
    assert tables_checksum() == before


# --- POST /api/actualizar_resultado -----------------------------------------------------------


def test_actualizar_resultado_applies_the_fields_as_collected_info(http):
    lead_id = make_lead(telefono="612345678")
    body = {"telefono": "+34 612 345 678", "buzon": True, "callId": "orig-1"}
    answer = post(http, ACTUALIZAR, body)
    assert answer.status_code == 200
    assert answer.json()["success"] is True and answer.json()["lead_id"] == lead_id
    [row] = calls_of(lead_id)
    raw = json.loads(row["raw_response"])["pearl_response"]
    assert raw == {
        "status": 4,
        "conversationStatus": 100,
        "collectedInfo": [{"id": "buzon", "value": True}],
        "id": "orig-1",
    }
    assert lead(lead_id)["call_attempts_count"] == 1
    again = post(http, ACTUALIZAR, body)  # the same report twice counts once
    assert again.status_code == 200 and again.json()["action"] == "duplicate"
    assert lead(lead_id)["call_attempts_count"] == 1


def test_actualizar_resultado_errors(http):
    make_lead(telefono="612345678")
    make_lead(telefono="699000111")
    make_lead(telefono="+34 699 000 111")
    make_lead(telefono="655000222", lead_status="closed")
    before = tables_checksum()
    cases = [
        ({"buzon": True}, 400, "telefono is required"),
        ({"telefono": ""}, 400, "telefono is required"),
        ({"telefono": "abc"}, 400, "not a valid phone number"),
        ([1], 400, "JSON object"),
        ({"telefono": "600000000"}, 404, "no open lead"),
        ({"telefono": "655000222"}, 404, "no open lead"),  # only a closed lead has it
        ({"telefono": "699000111", "noInteresado": True}, 409, "several open leads"),
    ]
    for body, code, message in cases:
        answer = post(http, ACTUALIZAR, body)
        assert answer.status_code == code, body
        assert message in answer.json()["error"]
    assert post(http, ACTUALIZAR, b"{oops").status_code == 422
    assert tables_checksum() == before


# --- logs, start-up, database down ----------------------------------------------------------


def test_logs_have_one_line_per_request_no_token_and_masked_phones(http, server):
    make_lead(telefono=PHONE)
    post(http, WEBHOOK, end_event("c-log", to="+34600111222"))
    post(http, ACTUALIZAR, {"telefono": "+34600111333"})
    post(http, ACTUALIZAR, {"telefono": "+34600111444"}, headers={"X-Webhook-Token": TOKEN})
    log = server.log_text
    assert TOKEN not in log and PREVIOUS_TOKEN not in log
    for number in ("600111222", "600111333", "600111444"):
        assert number not in log
    assert "POST /webhooks/pearl/call?token=*** 200" in log
    assert "POST /api/actualizar_resultado?token=*** 404" in log
    assert "*********222" in log


def test_database_threads_setting():
    assert load_db_threads({}) == DEFAULT_DB_THREADS
    assert load_db_threads({"SERVER_DB_THREADS": " 3 "}) == 3
    for bad in ("0", "65", "-1", "two", "2.5"):
        with pytest.raises(ConfigurationError, match="SERVER_DB_THREADS"):
            load_db_threads({"SERVER_DB_THREADS": bad})


def _server_connections() -> set[int]:
    rows = sql(
        "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
    )
    return {row["ID"] for row in rows}


def test_database_threads_are_bounded_and_keep_their_connections_through_a_lull(test_database):
    reset_database()
    others = _server_connections()  # e.g. the module's server, idle meanwhile
    server = ServerProcess(workers=1, env={"SERVER_DB_THREADS": "2"})
    with server, httpx.Client(base_url=server.url(""), timeout=30) as client:

        def burst() -> None:  # 24 requests at once, each needing the database (404)
            with ThreadPoolExecutor(12) as pool:
                answers = list(
                    pool.map(lambda _: post(client, ACTUALIZAR, {"telefono": PHONE}), range(24))
                )
            assert {a.status_code for a in answers} == {404}

        burst()
        first = _server_connections() - others
        assert 1 <= len(first) <= 2  # not one connection per concurrent request
        time.sleep(11)  # longer than Starlette's pool keeps an idle thread (10 s)
        burst()
        assert _server_connections() - others == first  # no reconnection after the lull


def test_server_refuses_to_start_without_a_token():
    env = {"WEBHOOK_TOKEN": ""}
    proc = run_script("servidor.py", "--port", str(free_port()), env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "WEBHOOK_TOKEN is not set" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "servidor:app", "--port", str(free_port())],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "WEBHOOK_TOKEN is not set" in proc.stderr


def test_database_unavailable_is_503_so_the_sender_retries(test_database):
    reset_database()
    lead_id = make_lead(telefono=PHONE)
    before = tables_checksum()
    down = ServerProcess(env={"DB_PORT": str(free_port()), "DB_CONNECT_TIMEOUT": "2"})
    with down, httpx.Client(base_url=down.url(""), timeout=30) as client:
        assert client.get("/api/status").status_code == 200
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        event = end_event("c-503", callData={"lead_id": lead_id})
        answer = post(client, WEBHOOK, event)
        assert answer.status_code == 503 and "database" in answer.json()["error"]
        assert answer.headers["retry-after"] == "5"
        assert post(client, ACTUALIZAR, {"telefono": PHONE}).status_code == 503
        start = post(client, WEBHOOK, {"id": "c-503", "status": 3})
        assert start.status_code == 200  # nothing to write: no database needed
        assert post(client, WEBHOOK, b"{").status_code == 422
    assert "Traceback" not in down.log_text
    assert tables_checksum() == before
