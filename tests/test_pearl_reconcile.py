"""Tests for the client's reconciliation, error and account parts against the fake Pearl
server (real HTTP on 127.0.0.1): searching call requests and calls with paging, what each
failure of the call-placing POST means, and the account check."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pearl_client import (
    AccountStatus,
    PearlAccountUnusableError,
    PearlClient,
    PearlNotFoundError,
    PearlProtocolError,
    PearlRejectedError,
    PearlTimeoutError,
    PearlUnavailableError,
)
from tests.fake_pearl import DEFAULT_OUTBOUND_ID, FakePearl, Scripts, Sleeps

pytest_plugins = ["tests.fake_pearl"]

OUTBOUND = DEFAULT_OUTBOUND_ID
TO = "+34612345678"


def make_client(fake: FakePearl, sleeps: Sleeps, **kwargs: Any) -> PearlClient:
    settings = {k: kwargs.pop(k) for k in list(kwargs) if k in ("read_timeout", "max_retries")}
    return PearlClient(fake.settings(**settings), sleep=sleeps, **kwargs)


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=5), now + timedelta(minutes=5)


def phone(n: int) -> str:
    return f"+3461234{n:04d}"


# --------------------------------------------------------------------------- searches


def test_search_call_requests_pages_with_count_and_sends_pearls_body(fake_pearl, sleeps) -> None:
    start, end = window()
    with make_client(fake_pearl, sleeps) as client:
        ids = [client.make_call(OUTBOUND, phone(i), {"callRef": str(i)}) for i in range(5)]
        page = client.search_call_requests(OUTBOUND, start, end, skip=2, limit=2)

    assert page["count"] == 5
    assert [r["id"] for r in page["results"]] == ids[2:4]
    assert [r["callData"]["callRef"] for r in page["results"]] == ["2", "3"]
    assert {"id", "status", "created", "to", "callId", "callData"} <= set(page["results"][0])
    [search] = fake_pearl.requests_for("search_call_requests")
    assert search.path == f"/v1/Outbound/{OUTBOUND}/CallRequest"
    assert search.json["skip"] == 2 and search.json["limit"] == 2
    assert search.json["fromDate"].endswith("Z") and search.json["toDate"].endswith("Z")


def test_iter_call_requests_reads_every_page(fake_pearl, sleeps) -> None:
    start, end = window()
    with make_client(fake_pearl, sleeps) as client:
        for i in range(7):
            client.make_call(OUTBOUND, phone(i), {"callRef": f"pc-{i}"})
        refs = [
            r["callData"]["callRef"] for r in client.iter_call_requests(OUTBOUND, start, end, 3)
        ]
    assert refs == [f"pc-{i}" for i in range(7)]
    assert fake_pearl.count("search_call_requests") == 3  # 3 + 3 + 1


def test_iter_stops_on_an_empty_range(fake_pearl, sleeps) -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    with make_client(fake_pearl, sleeps) as client:
        client.make_call(OUTBOUND, TO, {})
        assert list(client.iter_call_requests(OUTBOUND, past, past + timedelta(days=1))) == []
    assert fake_pearl.count("search_call_requests") == 1


def test_search_calls_gives_pearls_short_view_and_filters(fake_pearl, sleeps) -> None:
    start, end = window()
    fake_pearl.script(phone(1), Scripts.unreachable())
    with make_client(fake_pearl, sleeps) as client:
        for i in range(3):
            client.make_call(OUTBOUND, phone(i), {"callRef": str(i)})
        assert client.search_calls(OUTBOUND, start, end)["count"] == 0  # none started yet
        fake_pearl.finish_calls()
        page = client.search_calls(OUTBOUND, start, end, limit=2)
        unreachable = client.search_calls(OUTBOUND, start, end, statuses=[150])
        every = list(client.iter_calls(OUTBOUND, start, end, page_size=2))

    assert page["count"] == 3 and len(page["results"]) == 2
    assert set(page["results"][0]) == {
        "id", "startTime", "conversationStatus", "status", "from", "to", "duration", "tags"
    }  # fmt: skip
    assert [c["to"] for c in unreachable["results"]] == [phone(1)]
    assert sorted(c["to"] for c in every) == [phone(i) for i in range(3)]
    assert fake_pearl.requests_for("search_calls")[-1].path == f"/v1/Outbound/{OUTBOUND}/Calls"


def test_searches_are_retried_like_reads(fake_pearl, sleeps) -> None:
    start, end = window()
    fake_pearl.fail("search_call_requests", 500, times=2)
    with make_client(fake_pearl, sleeps) as client:
        assert client.search_call_requests(OUTBOUND, start, end)["count"] == 0
    assert fake_pearl.count("search_call_requests") == 3 and len(sleeps) == 2


def test_search_answer_of_the_wrong_shape_is_a_protocol_error(fake_pearl, sleeps) -> None:
    start, end = window()
    fake_pearl.malformed("search_calls", body='{"count": "many", "results": {}}')
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlProtocolError):
        client.search_calls(OUTBOUND, start, end)


@pytest.mark.parametrize(
    ("start", "end", "skip", "limit"),
    [
        (datetime(2026, 1, 1), datetime(2026, 1, 2), 0, 10),  # naive
        (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), 0, 10),
        ("yesterday", "2026-01-01T00:00:00Z", 0, 10),
        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00+01:00", -1, 10),
        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", 0, 0),
        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", 0, True),
    ],
)
def test_bad_search_arguments_send_nothing(fake_pearl, sleeps, start, end, skip, limit) -> None:
    with make_client(fake_pearl, sleeps) as client, pytest.raises(ValueError):
        client.search_call_requests(OUTBOUND, start, end, skip=skip, limit=limit)
    assert fake_pearl.requests == []


# --------------------------------------------------------------------------- the POST's fate


def find_by_ref(client: PearlClient, ref: str) -> list[dict[str, Any]]:
    start, end = window()
    return [
        r for r in client.iter_call_requests(OUTBOUND, start, end)
        if r["callData"].get("callRef") == ref
    ]  # fmt: skip


def test_make_call_sends_call_data_unchanged(fake_pearl, sleeps) -> None:
    data = {"callRef": "pc-17", "firstName": "Ana", "nombreClinica": "Clínica Sol", "poliza": 42}
    with make_client(fake_pearl, sleeps) as client:
        client.make_call(OUTBOUND, TO, data)
    assert fake_pearl.requests_for("make_call")[0].json["callData"] == data
    [post] = fake_pearl.call_posts(TO)
    assert post.call_data == data and post.request_id


def test_connection_dropped_after_accepting_is_uncertain_and_reconcilable(
    fake_pearl, sleeps
) -> None:
    fake_pearl.accept_and_drop()
    with make_client(fake_pearl, sleeps) as client:
        with pytest.raises(PearlTimeoutError) as info:
            client.make_call(OUTBOUND, TO, {"callRef": "pc-1"})
        assert info.value.call_may_be_placed is True
        assert fake_pearl.count("make_call") == 1  # never resent
        [found] = find_by_ref(client, "pc-1")
        assert found["to"] == TO and found["callId"] is None
        fake_pearl.finish_calls()
        [found] = find_by_ref(client, "pc-1")
        assert found["callId"] and client.get_call(found["callId"])["callData"]["callRef"] == "pc-1"


def test_answer_slower_than_the_read_timeout_is_uncertain(fake_pearl, sleeps) -> None:
    fake_pearl.accept_and_hang(2.0)
    with make_client(fake_pearl, sleeps, read_timeout=0.3) as client:
        with pytest.raises(PearlTimeoutError) as info:
            client.make_call(OUTBOUND, TO, {"callRef": "pc-2"})
        assert info.value.call_may_be_placed is True and info.value.status_code is None
        assert len(find_by_ref(client, "pc-2")) == 1
    assert fake_pearl.count("make_call") == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("processed", [True, False])
def test_5xx_on_post_is_uncertain_and_the_listing_tells(fake_pearl, sleeps, status, processed):
    fake_pearl.fail("make_call", status, process=processed)
    with make_client(fake_pearl, sleeps) as client:
        with pytest.raises(PearlTimeoutError) as info:
            client.make_call(OUTBOUND, TO, {"callRef": "pc-3"})
        assert info.value.call_may_be_placed is True and info.value.status_code == status
        assert len(find_by_ref(client, "pc-3")) == (1 if processed else 0)
    assert fake_pearl.count("make_call") == 1


def test_404_on_post_is_a_configuration_error(fake_pearl, sleeps) -> None:
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlNotFoundError) as info:
        client.make_call("66b1f0c2a9e4d3b2c1a0ffff", TO, {"callRef": "pc-4"})
    assert isinstance(info.value, PearlRejectedError)
    assert info.value.status_code == 404 and info.value.call_may_be_placed is False
    assert "outbound" in str(info.value) and "\n" not in str(info.value)
    assert fake_pearl.count("make_call") == 1 and fake_pearl.placed_calls() == []


def test_searching_an_unknown_outbound_is_a_configuration_error(fake_pearl, sleeps) -> None:
    start, end = window()
    with make_client(fake_pearl, sleeps) as client:
        with pytest.raises(PearlNotFoundError):
            client.search_call_requests("66b1f0c2a9e4d3b2c1a0ffff", start, end)
        with pytest.raises(PearlNotFoundError):
            client.search_calls("66b1f0c2a9e4d3b2c1a0ffff", start, end)


def test_404_on_reading_an_unknown_request_is_not_a_configuration_error(fake_pearl, sleeps):
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlRejectedError) as info:
        client.get_call_request("66b1f0c2a9e4d3b2c1a0ffff")
    assert not isinstance(info.value, PearlNotFoundError) and info.value.status_code == 404


@pytest.mark.parametrize("status", [400, 409, 410, 422])
def test_other_4xx_on_post_is_a_refusal_with_its_status(fake_pearl, sleeps, status) -> None:
    fake_pearl.fail("make_call", status, message="Number not allowed")
    with make_client(fake_pearl, sleeps) as client, pytest.raises(PearlRejectedError) as info:
        client.make_call(OUTBOUND, TO, {})
    assert not isinstance(info.value, PearlNotFoundError)
    assert info.value.status_code == status and info.value.call_may_be_placed is False
    assert fake_pearl.count("make_call") == 1


def test_429_on_post_is_resent_and_places_one_call(fake_pearl, sleeps) -> None:
    fake_pearl.rate_limit("make_call", times=2, retry_after="0")
    with make_client(fake_pearl, sleeps) as client:
        client.make_call(OUTBOUND, TO, {"callRef": "pc-5"})
    assert fake_pearl.count("make_call") == 3
    assert fake_pearl.posts_per_call_ref() == {"pc-5": 3}
    assert len(fake_pearl.placed_calls()) == 1


def test_429_forever_on_post_is_not_placed(fake_pearl, sleeps) -> None:
    fake_pearl.rate_limit("make_call", times=10, retry_after="0")
    with (
        make_client(fake_pearl, sleeps, max_retries=1) as client,
        pytest.raises(PearlUnavailableError) as info,
    ):
        client.make_call(OUTBOUND, TO, {})
    assert info.value.call_may_be_placed is False and info.value.status_code == 429


# --------------------------------------------------------------------------- account


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_account_is_read_and_cached_per_client(fake_pearl, sleeps) -> None:
    clock = Clock()
    fake_pearl.set_account(status=2, credit_balance=12.5)
    with make_client(fake_pearl, sleeps, monotonic=clock) as client:
        info = client.account_info()
        assert (info.status, info.status_name, info.credit_balance) == (2, "LimitedAccess", 12.5)
        assert info.usable
        fake_pearl.set_account(status=3, credit_balance=0.0)
        clock.now += 59
        assert client.get_account()["status"] == 2  # cached
        assert fake_pearl.count("get_account") == 1
        clock.now += 2
        assert client.get_account()["status"] == 3
        assert client.get_account(refresh=True)["creditBalance"] == 0.0
    assert fake_pearl.count("get_account") == 3
    with make_client(fake_pearl, sleeps, monotonic=clock) as other:
        other.get_account()
    assert fake_pearl.count("get_account") == 4  # the cache belongs to one client


@pytest.mark.parametrize(
    ("status", "name"), [(3, "NoCredits"), (4, "SuspendedAccount"), (5, "DebtReached")]
)
def test_unusable_account_raises_one_line(fake_pearl, sleeps, status, name) -> None:
    fake_pearl.set_account(status=status, credit_balance=0.0)
    with (
        make_client(fake_pearl, sleeps) as client,
        pytest.raises(PearlAccountUnusableError) as info,
    ):
        client.check_account_usable()
    message = str(info.value)
    assert name in message and f"status {status}" in message and "\n" not in message
    assert info.value.account_status == status and info.value.credit_balance == 0.0


@pytest.mark.parametrize("status", [AccountStatus.FULL_ACCESS, AccountStatus.LIMITED_ACCESS, 9])
def test_usable_or_unknown_account_status_lets_calls_go(fake_pearl, sleeps, status, caplog):
    fake_pearl.set_account(status=int(status))
    with caplog.at_level(logging.WARNING), make_client(fake_pearl, sleeps) as client:
        info = client.check_account_usable()
    assert info.usable and info.status == int(status)
    assert ("not recognised" in caplog.text) == (status == 9)


def test_account_errors_are_not_cached(fake_pearl, sleeps) -> None:
    fake_pearl.fail("get_account", 500, times=2)
    with make_client(fake_pearl, sleeps, max_retries=1) as client:
        with pytest.raises(PearlUnavailableError):
            client.get_account()
        assert client.get_account()["status"] == 1
    assert fake_pearl.count("get_account") == 3
