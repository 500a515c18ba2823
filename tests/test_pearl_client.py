"""Tests for pearl_client.py against the fake Pearl server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import socket
import time
from typing import Any

import httpx
import pytest

from pearl_client import (
    CallRequestStatus,
    CallStatus,
    ConversationStatus,
    PearlAuthError,
    PearlClient,
    PearlConfigError,
    PearlError,
    PearlProtocolError,
    PearlRejectedError,
    PearlSettings,
    PearlTimeoutError,
    PearlUnavailableError,
)
from pearl_requests import path_param as _path_param
from phone import InvalidPhoneError
from tests.fake_pearl import DEFAULT_OUTBOUND_ID, CallScript, FakePearl, Fault, Sleeps

# Loads the fake_pearl fixtures even without tests/conftest.py.
pytest_plugins = ["tests.fake_pearl"]

TO = "+34612345678"
OUTBOUND = DEFAULT_OUTBOUND_ID


def make_client(fake: FakePearl, sleeps: Sleeps, **overrides: Any) -> PearlClient:
    return PearlClient(fake.settings(**overrides), sleep=sleeps)


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- success


def test_make_call_posts_to_pearl_and_returns_request_id(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {"firstName": "Ana", "amount": 12.5})

    assert isinstance(request_id, str) and request_id
    [post] = fake_pearl.requests_for("make_call")
    assert post.method == "POST"
    assert post.path == f"/v1/Outbound/{OUTBOUND}/Call"
    assert post.headers["Authorization"] == f"Bearer {fake_pearl.api_key}"
    assert post.headers["Content-Type"] == "application/json"
    assert post.json == {"to": TO, "callData": {"firstName": "Ana", "amount": 12.5}}
    [placed] = fake_pearl.placed_calls(TO)
    assert placed["id"] == request_id
    assert placed["callData"] == {"firstName": "Ana", "amount": 12.5}
    assert sleeps == []


def test_call_lifecycle_through_call_request_and_call(fake_pearl, sleeps) -> None:
    collected = [{"id": "v1", "name": "email", "value": "ana@example.es"}]
    fake_pearl.script(
        TO,
        CallScript(
            status=CallStatus.COMPLETED,
            conversation_status=ConversationStatus.SUCCESS,
            duration=42,
            summary="Wants a quote",
            collected_info=collected,
            tags=["hot"],
            queued_polls=1,
            in_progress_polls=2,
        ),
    )
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})

        queued = client.get_call_request(request_id)
        assert queued["id"] == request_id
        assert queued["status"] == CallRequestStatus.IN_CALL_QUEUE
        assert queued["callId"] is None
        assert queued["outboundId"] == OUTBOUND

        on_call = client.get_call_request(request_id)
        assert on_call["status"] == CallRequestStatus.ON_CALL
        call_id = on_call["callId"]
        assert call_id

        running = client.get_call(call_id)
        assert running["status"] == CallStatus.IN_PROGRESS

        final = client.get_call(call_id)
        assert final["id"] == call_id
        assert final["status"] == CallStatus.COMPLETED
        assert final["conversationStatus"] == ConversationStatus.SUCCESS
        assert final["to"] == TO
        assert final["duration"] == 42
        assert final["summary"] == "Wants a quote"
        assert final["collectedInfo"] == collected
        assert final["tags"] == ["hot"]
        assert final["transcript"]

        done = client.get_call_request(request_id)
        assert done["status"] == CallRequestStatus.COMPLETED
        assert done["callId"] == call_id


def test_blacklisted_request_has_no_call(fake_pearl, sleeps) -> None:
    fake_pearl.script(TO, request_status=CallRequestStatus.BLACKLISTED, request_errors=["DNC"])
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        answer = client.get_call_request(request_id)
    assert answer["status"] == CallRequestStatus.BLACKLISTED
    assert answer["callId"] is None
    assert answer["errors"] == ["DNC"]


def test_no_answer_call(fake_pearl, sleeps) -> None:
    fake_pearl.script(
        TO,
        status=CallStatus.NO_ANSWER,
        conversation_status=ConversationStatus.UNREACHABLE,
        duration=0,
        summary=None,
        in_progress_polls=0,
    )
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        call_id = client.get_call_request(request_id)["callId"]
        call = client.get_call(call_id)
    assert call["status"] == CallStatus.NO_ANSWER
    assert call["transcript"] == []


def test_path_parameters_are_quoted_on_the_wire(fake_pearl, sleeps) -> None:
    urls: list[str] = []
    timeouts: list[Any] = []

    def hook(request: httpx.Request) -> None:
        urls.append(str(request.url.raw_path, "ascii"))
        timeouts.append(request.extensions.get("timeout"))

    http = httpx.Client(event_hooks={"request": [hook]})
    client = PearlClient(fake_pearl.settings(read_timeout=7.0), http_client=http, sleep=sleeps)
    with pytest.raises(PearlRejectedError) as info:
        client.get_call("a/b?c#d")
    assert info.value.status_code == 404
    assert urls == ["/v1/Call/a%2Fb%3Fc%23d"]
    assert timeouts == [{"connect": 1.0, "read": 7.0, "write": 7.0, "pool": 1.0}]
    client.close()
    assert not http.is_closed  # an injected client belongs to the caller
    http.close()


def test_owned_http_client_is_closed(fake_pearl, sleeps) -> None:
    client = make_client(fake_pearl, sleeps)
    with client:
        pass
    assert client._http.is_closed


# --------------------------------------------------------------------------- retries


def test_429_with_retry_after_seconds_then_success(fake_pearl, sleeps) -> None:
    fake_pearl.rate_limit("make_call", times=2, retry_after="3")
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
    assert request_id
    assert sleeps == [3.0, 3.0]
    assert fake_pearl.count("make_call") == 3
    assert len(fake_pearl.placed_calls(TO)) == 1


def test_retry_after_http_date_is_honoured(fake_pearl, sleeps) -> None:
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    fake_pearl.fail("get_call_request", 503, retry_after=when)
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        assert client.get_call_request(request_id)["id"] == request_id
    [wait] = sleeps
    assert 7.0 <= wait <= 10.0


def test_retry_after_is_capped_and_reported(fake_pearl, sleeps) -> None:
    fake_pearl.rate_limit("get_call", times=10, retry_after="3600")
    with (
        make_client(fake_pearl, sleeps, max_retries=2) as client,
        pytest.raises(PearlUnavailableError) as info,
    ):
        client.get_call("66b1f0c2a9e4d3b2c1a09f00")
    assert sleeps == [30.0, 30.0]
    assert info.value.status_code == 429
    assert info.value.retry_after == 3600.0
    assert fake_pearl.count("get_call") == 3


def test_unparseable_retry_after_falls_back_to_backoff(fake_pearl, sleeps) -> None:
    fake_pearl.rate_limit("get_call_request", retry_after="soon")
    with make_client(fake_pearl, sleeps, backoff_seconds=0.2) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        assert client.get_call_request(request_id)["id"] == request_id
    [wait] = sleeps
    assert 0.1 <= wait <= 0.2


def test_500_then_success_on_get(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps, backoff_seconds=0.2) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        fake_pearl.fail("get_call_request", 500)
        answer = client.get_call_request(request_id)
    assert answer["id"] == request_id
    assert fake_pearl.count("get_call_request") == 2
    [wait] = sleeps
    assert 0.1 <= wait <= 0.2  # first backoff step, with jitter


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_forever_on_get_gives_unavailable_after_all_attempts(
    fake_pearl, sleeps, status
) -> None:
    fake_pearl.fail("get_call", status, times=100)
    with (
        make_client(fake_pearl, sleeps, max_retries=3, backoff_seconds=1.0) as client,
        pytest.raises(PearlUnavailableError) as info,
    ):
        client.get_call("66b1f0c2a9e4d3b2c1a09f00")
    assert info.value.status_code == status
    assert fake_pearl.count("get_call") == 4
    assert len(sleeps) == 3
    for wait, base in zip(sleeps, (1.0, 2.0, 4.0), strict=True):
        assert base / 2 <= wait <= base  # exponential, jittered


def test_503_on_post_is_not_resent_and_may_be_placed(fake_pearl, sleeps) -> None:
    # A 503 can come from a proxy after Pearl acted: resending could dial the person twice.
    fake_pearl.fail("make_call", 503, times=2, process=True)
    with (
        make_client(fake_pearl, sleeps, max_retries=2) as client,
        pytest.raises(PearlTimeoutError) as info,
    ):
        client.make_call(OUTBOUND, TO, {})
    assert info.value.status_code == 503
    assert info.value.call_may_be_placed is True
    assert fake_pearl.count("make_call") == 1
    assert len(fake_pearl.placed_calls()) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_ambiguous_5xx_on_post_is_never_resent(fake_pearl, sleeps, status) -> None:
    fake_pearl.fail("make_call", status, times=5, process=True)
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlTimeoutError) as info:
        client.make_call(OUTBOUND, TO, {})
    assert info.value.status_code == status
    assert info.value.call_may_be_placed is True
    assert fake_pearl.count("make_call") == 1
    assert sleeps == []


def test_connection_refused_gives_unavailable(sleeps) -> None:
    settings = PearlSettings(
        api_key="acct:secret-value", base_url=f"http://127.0.0.1:{unused_port()}", max_retries=2
    )
    with PearlClient(settings, sleep=sleeps) as client:
        with pytest.raises(PearlUnavailableError) as info:
            client.make_call(OUTBOUND, TO, {})
        with pytest.raises(PearlUnavailableError):
            client.get_call("abc")
    assert info.value.status_code is None
    assert info.value.call_may_be_placed is False
    assert "ConnectError" in str(info.value)
    assert len(sleeps) == 4  # 2 retries for each of the two requests


def test_read_timeout_on_post_is_not_resent(fake_pearl, sleeps) -> None:
    fake_pearl.slow("make_call", 0.8)
    started = time.monotonic()
    with (
        make_client(fake_pearl, sleeps, read_timeout=0.25) as client,
        pytest.raises(PearlTimeoutError) as info,
    ):
        client.make_call(OUTBOUND, TO, {})
    assert time.monotonic() - started < 0.75
    assert info.value.call_may_be_placed is True
    assert "may have been placed" in str(info.value)
    assert fake_pearl.count("make_call") == 1  # exactly ONE POST reached Pearl
    assert len(fake_pearl.placed_calls(TO)) == 1  # ... and Pearl did place the call
    assert sleeps == []


def test_connection_dropped_on_post_is_not_resent(fake_pearl, sleeps) -> None:
    fake_pearl.disconnect("make_call")
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlTimeoutError):
        client.make_call(OUTBOUND, TO, {})
    assert fake_pearl.count("make_call") == 1
    assert sleeps == []


def test_read_timeout_on_get_is_retried(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps, read_timeout=0.25) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        fake_pearl.slow("get_call_request", 0.8)
        answer = client.get_call_request(request_id)
    assert answer["id"] == request_id
    assert fake_pearl.count("get_call_request") == 2
    assert len(sleeps) == 1


def test_connection_dropped_on_get_is_retried(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        fake_pearl.disconnect("get_call_request")
        assert client.get_call_request(request_id)["id"] == request_id
    assert fake_pearl.count("get_call_request") == 2


def test_read_timeouts_forever_on_get_give_unavailable(fake_pearl, sleeps) -> None:
    fake_pearl.slow("get_call", 0.6, times=2)
    with (
        make_client(fake_pearl, sleeps, read_timeout=0.2, max_retries=1) as client,
        pytest.raises(PearlUnavailableError) as info,
    ):
        client.get_call("66b1f0c2a9e4d3b2c1a09f00")
    assert "ReadTimeout" in str(info.value)
    assert fake_pearl.count("get_call") == 2


# --------------------------------------------------------------------------- bad answers


def test_malformed_json_on_post_is_protocol_error_and_may_be_placed(fake_pearl, sleeps) -> None:
    fake_pearl.malformed("make_call")
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlProtocolError) as info:
        client.make_call(OUTBOUND, TO, {})
    assert info.value.status_code == 200
    assert info.value.call_may_be_placed is True
    assert fake_pearl.count("make_call") == 1


def test_malformed_json_on_get_is_protocol_error(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps) as client:
        request_id = client.make_call(OUTBOUND, TO, {})
        fake_pearl.malformed("get_call_request", body="<html>oops</html>")
        with pytest.raises(PearlProtocolError) as info:
            client.get_call_request(request_id)
    assert "oops" in str(info.value)
    assert info.value.call_may_be_placed is False
    assert fake_pearl.count("get_call_request") == 1


def test_answer_without_id_is_protocol_error(fake_pearl, sleeps) -> None:
    fake_pearl.inject("make_call", Fault(status=200, body={"queuePosition": 1}, process=True))
    with (
        make_client(fake_pearl, sleeps) as client,
        pytest.raises(PearlProtocolError, match="'id'"),
    ):
        client.make_call(OUTBOUND, TO, {})


def test_answer_that_is_not_an_object_is_protocol_error(fake_pearl, sleeps) -> None:
    fake_pearl.inject("get_call", Fault(status=200, body=["not", "an", "object"]))
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlProtocolError):
        client.get_call("66b1f0c2a9e4d3b2c1a09f00")


def test_wrong_key_gives_auth_error_without_retry(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps, api_key="acct:not-the-right-key") as client:
        with pytest.raises(PearlAuthError) as info:
            client.make_call(OUTBOUND, TO, {})
        with pytest.raises(PearlAuthError):
            client.get_call_request("66b1f0c2a9e4d3b2c1a09f00")
    assert info.value.status_code == 401
    assert fake_pearl.count("make_call") == 1
    assert fake_pearl.count("get_call_request") == 1
    assert fake_pearl.placed_calls() == []
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_401_403_give_auth_error_without_retry(fake_pearl, sleeps, status) -> None:
    fake_pearl.fail("get_call", status, times=5)
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlAuthError) as info:
        client.get_call("66b1f0c2a9e4d3b2c1a09f00")
    assert info.value.status_code == status
    assert fake_pearl.count("get_call") == 1


def test_400_with_pearl_message_gives_rejected(fake_pearl, sleeps) -> None:
    fake_pearl.fail("make_call", 400, message="The outbound is not active", times=5)
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlRejectedError) as info:
        client.make_call(OUTBOUND, TO, {})
    assert info.value.status_code == 400
    assert "The outbound is not active" in info.value.pearl_message
    assert "The outbound is not active" in str(info.value)
    assert "400" in str(info.value)
    assert fake_pearl.count("make_call") == 1
    assert fake_pearl.placed_calls() == []


def test_validation_problem_details_are_summarised(fake_pearl, sleeps) -> None:
    body = {
        "title": "One or more validation errors occurred.",
        "status": 422,
        "errors": {"to": ["The phone number +34612345678 is not valid."]},
    }
    fake_pearl.fail("make_call", 422, body=body)
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlRejectedError) as info:
        client.make_call(OUTBOUND, TO, {})
    message = info.value.pearl_message
    assert message.startswith("One or more validation errors occurred.")
    assert "to: The phone number" in message
    assert "612345678" not in message  # numbers in Pearl's messages are masked
    assert "*********678" in message


def test_plain_text_error_body_is_excerpted(fake_pearl, sleeps) -> None:
    fake_pearl.fail("make_call", 404, body="x" * 5000)
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlRejectedError) as info:
        client.make_call(OUTBOUND, TO, {})
    assert 0 < len(info.value.pearl_message) <= 300


def test_unknown_ids_give_rejected_404(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps) as client:
        with pytest.raises(PearlRejectedError) as info:
            client.get_call_request("66b1f0c2a9e4d3b2c1a09f00")
        with pytest.raises(PearlRejectedError):
            client.make_call("unknown-outbound", TO, {})
    assert info.value.status_code == 404
    assert "Call request not found" in info.value.pearl_message


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "to", ["612345678", "+34 612 345 678", "0034612345678", "+3412345", "", None, 34612345678]
)
def test_make_call_requires_valid_e164(fake_pearl, sleeps, to) -> None:
    with make_client(fake_pearl, sleeps) as client, pytest.raises(InvalidPhoneError) as info:
        client.make_call(OUTBOUND, to, {})
    assert "612345" not in str(info.value)
    assert fake_pearl.requests == []


@pytest.mark.parametrize(
    "call_data",
    [
        {"ok": True},
        {"ok": None},
        {"ok": ["a"]},
        {"ok": {"nested": 1}},
        {"ok": float("nan")},
        {"ok": float("inf")},
        {"": "x"},
        {1: "x"},
        {"long": "x" * 5000},
        ["not", "a", "mapping"],
    ],
)
def test_make_call_validates_call_data(fake_pearl, sleeps, call_data) -> None:
    with make_client(fake_pearl, sleeps) as client, pytest.raises(ValueError):
        client.make_call(OUTBOUND, TO, call_data)
    assert fake_pearl.requests == []


@pytest.mark.parametrize("bad", ["", " x", "x ", "a b", "..", ".", "x" * 129, "a\nb", None, 12])
def test_path_parameters_are_validated(fake_pearl, sleeps, bad) -> None:
    with make_client(fake_pearl, sleeps) as client:
        with pytest.raises(ValueError):
            client.get_call(bad)
        with pytest.raises(ValueError):
            client.get_call_request(bad)
        with pytest.raises(ValueError):
            client.make_call(bad, TO, {})
    assert fake_pearl.requests == []


def test_path_param_quoting() -> None:
    assert _path_param("id", "66b1f0c2a9e4d3b2c1a09f8e") == "66b1f0c2a9e4d3b2c1a09f8e"
    assert _path_param("id", "a/b?c%d") == "a%2Fb%3Fc%25d"


# --------------------------------------------------------------------------- secrets & logs


def test_api_key_never_appears_in_logs_or_errors(fake_pearl, sleeps, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = fake_pearl.api_key
    secret = key.partition(":")[2]
    errors: list[PearlError] = []

    def expect_error(call: Any) -> None:
        try:
            call()
        except PearlError as exc:
            errors.append(exc)
        else:  # pragma: no cover
            pytest.fail("expected a PearlError")

    with make_client(fake_pearl, sleeps, read_timeout=0.25, max_retries=1) as client:
        request_id = client.make_call(OUTBOUND, TO, {"name": "Ana"})
        client.get_call_request(request_id)
        fake_pearl.fail("make_call", 400, message=f"bad token Bearer {key}")
        expect_error(lambda: client.make_call(OUTBOUND, TO, {}))
        fake_pearl.fail("make_call", 403, body=f"forbidden for {secret}")
        expect_error(lambda: client.make_call(OUTBOUND, TO, {}))
        fake_pearl.malformed("get_call_request", body=f'{{"echo": "{key}"')
        expect_error(lambda: client.get_call_request(request_id))
        fake_pearl.fail("get_call", 500, times=5, message=key)
        expect_error(lambda: client.get_call("66b1f0c2a9e4d3b2c1a09f00"))
        fake_pearl.slow("make_call", 0.6)
        expect_error(lambda: client.make_call(OUTBOUND, TO, {}))
        repr_client = repr(client)
    with make_client(fake_pearl, sleeps, api_key="acct:wrong-key-value") as client:
        expect_error(lambda: client.make_call(OUTBOUND, TO, {}))
    refused = PearlSettings(
        api_key=key, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0
    )
    with PearlClient(refused, sleep=sleeps) as client:
        expect_error(lambda: client.make_call(OUTBOUND, TO, {}))
    with pytest.raises(PearlConfigError) as config_error:
        PearlSettings.from_env({"PEARL_API_KEY": key, "PEARL_READ_TIMEOUT": "soon"})
    errors.append(config_error.value)

    assert len(errors) == 8
    texts = [caplog.text, repr_client, repr(fake_pearl.settings())]
    for exc in errors:
        texts += [str(exc), repr(exc), str(exc.pearl_message), str(exc.args)]
    for text in texts:
        assert key not in text
        assert secret not in text
    assert "[REDACTED]" in str(errors[0])
    # Phone numbers appear masked only.
    assert TO not in caplog.text
    assert "*********678" in caplog.text


def test_logs_name_method_path_status_and_attempt(fake_pearl, sleeps, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="pearl_client")
    fake_pearl.fail("get_call", 502)
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlRejectedError):
        client.get_call("66b1f0c2a9e4d3b2c1a09f00")
    text = caplog.text
    assert "GET /v1/Call/66b1f0c2a9e4d3b2c1a09f00 (attempt 1/4)" in text
    assert "502" in text
    assert "attempt 2/4" in text
    assert "Authorization" not in text


# --------------------------------------------------------------------------- settings


def test_settings_from_env_reads_everything() -> None:
    settings = PearlSettings.from_env(
        {
            "PEARL_API_KEY": " acct:secret ",
            "PEARL_API_URL": "https://pearl.example.test/",
            "PEARL_OUTBOUND_ID": "ob-1",
            "PEARL_CONNECT_TIMEOUT": "2.5",
            "PEARL_READ_TIMEOUT": "30",
            "PEARL_MAX_RETRIES": "5",
            "PEARL_DEFAULT_REGION": "pt",
        }
    )
    assert settings.api_key == "acct:secret"
    assert settings.base_url == "https://pearl.example.test"
    assert settings.outbound_id == "ob-1"
    assert settings.connect_timeout == 2.5
    assert settings.read_timeout == 30.0
    assert settings.max_retries == 5
    assert settings.default_region == "PT"


def test_settings_defaults() -> None:
    settings = PearlSettings.from_env({"PEARL_API_KEY": "acct:secret", "PEARL_API_URL": ""})
    assert settings.base_url == "https://api.nlpearl.ai"
    assert settings.outbound_id is None
    assert (settings.connect_timeout, settings.read_timeout) == (5.0, 20.0)
    assert settings.max_retries == 3
    assert settings.backoff_seconds == 0.5
    assert settings.default_region == "ES"


def test_settings_from_env_uses_os_environ(monkeypatch) -> None:
    monkeypatch.setenv("PEARL_API_KEY", "acct:from-os-environ")
    monkeypatch.delenv("PEARL_API_URL", raising=False)
    assert PearlSettings.from_env().api_key == "acct:from-os-environ"


@pytest.mark.parametrize("env", [{}, {"PEARL_API_KEY": ""}, {"PEARL_API_KEY": "   "}])
def test_missing_key_is_config_error(env) -> None:
    with pytest.raises(PearlConfigError) as info:
        PearlSettings.from_env(env)
    message = str(info.value)
    assert "PEARL_API_KEY" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("PEARL_CONNECT_TIMEOUT", "abc"),
        ("PEARL_CONNECT_TIMEOUT", "0"),
        ("PEARL_READ_TIMEOUT", "-1"),
        ("PEARL_READ_TIMEOUT", "nan"),
        ("PEARL_MAX_RETRIES", "2.5"),
        ("PEARL_MAX_RETRIES", "-1"),
        ("PEARL_MAX_RETRIES", "1000"),
        ("PEARL_DEFAULT_REGION", "Spain"),
        ("PEARL_DEFAULT_REGION", "XX"),
        ("PEARL_API_URL", "ftp://pearl"),
    ],
)
def test_invalid_env_values_name_the_variable(var, value) -> None:
    with pytest.raises(ValueError, match=var):
        PearlSettings.from_env({"PEARL_API_KEY": "acct:secret", var: value})


def test_key_with_inner_whitespace_is_rejected_without_echo() -> None:
    with pytest.raises(PearlConfigError) as info:
        PearlSettings(api_key="acct:sec ret")
    assert "sec ret" not in str(info.value)


def test_settings_repr_hides_key_and_is_frozen() -> None:
    settings = PearlSettings(api_key="acct:very-secret-key", outbound_id="ob")
    assert "very-secret-key" not in repr(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.api_key = "other"  # type: ignore[misc]


def test_key_without_account_id_is_refused_without_echo(caplog) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(PearlConfigError) as info:
        PearlSettings(api_key="just-a-secret")
    assert "AccountId:SecretKey" in str(info.value)
    assert "just-a-secret" not in str(info.value) + caplog.text


def test_client_requires_settings() -> None:
    with pytest.raises(PearlConfigError):
        PearlClient({"api_key": "x"})  # type: ignore[arg-type]


def test_fake_env_round_trips_through_from_env(fake_pearl, sleeps) -> None:
    settings = PearlSettings.from_env(fake_pearl.env())
    with PearlClient(settings, sleep=sleeps) as client:
        assert client.make_call(settings.outbound_id, TO, {})
