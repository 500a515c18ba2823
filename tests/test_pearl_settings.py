"""Tests for pearl_settings.py: a deployment's real configuration mistakes are refused (or,
for a trailing /v1, repaired) before any request reaches Pearl."""

from __future__ import annotations

import logging

import pytest

from pearl_client import PearlClient, PearlConfigError, PearlSettings
from pearl_settings import is_placeholder

pytest_plugins = ["tests.fake_pearl"]

TO = "+34612345678"
GOOD_KEY = "6655269800000000000fa4e1:Q2hhbmdlZCBzZWNyZXQgdmFsdWU"


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/V1", "/v1//"])
def test_trailing_v1_is_stripped(suffix) -> None:
    settings = PearlSettings(api_key=GOOD_KEY, base_url="https://api.nlpearl.ai" + suffix)
    assert settings.base_url == "https://api.nlpearl.ai"


def test_original_url_with_v1_reaches_the_right_paths(fake_pearl, sleeps) -> None:
    env = {**fake_pearl.env(), "PEARL_API_URL": fake_pearl.base_url + "/v1"}
    settings = PearlSettings.from_env(env)
    with PearlClient(settings, sleep=sleeps) as client:
        assert client.make_call(settings.outbound_id, TO, {"callRef": "1"})
    [post] = fake_pearl.requests_for("make_call")
    assert post.path.startswith("/v1/Outbound/") and "/v1/v1/" not in post.path


def test_other_paths_in_the_url_are_kept() -> None:
    settings = PearlSettings(api_key=GOOD_KEY, base_url="https://proxy.example/pearl/")
    assert settings.base_url == "https://proxy.example/pearl"


def test_account_id_and_secret_key_are_accepted_instead_of_api_key(fake_pearl, sleeps) -> None:
    account_id, _, secret = fake_pearl.api_key.partition(":")
    env = {k: v for k, v in fake_pearl.env().items() if k != "PEARL_API_KEY"}
    env.update(PEARL_ACCOUNT_ID=account_id, PEARL_SECRET_KEY=secret)
    settings = PearlSettings.from_env(env)
    assert settings.api_key == fake_pearl.api_key
    with PearlClient(settings, sleep=sleeps) as client:
        client.make_call(settings.outbound_id, TO, {})  # the fake checks the bearer token
    assert len(fake_pearl.placed_calls()) == 1


def test_both_key_forms_agreeing_are_accepted() -> None:
    account_id, _, secret = GOOD_KEY.partition(":")
    env = {"PEARL_API_KEY": GOOD_KEY, "PEARL_ACCOUNT_ID": account_id, "PEARL_SECRET_KEY": secret}
    assert PearlSettings.from_env(env).api_key == GOOD_KEY


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PEARL_ACCOUNT_ID": "6655269800000000000fa4e1"}, "PEARL_SECRET_KEY missing"),
        ({"PEARL_SECRET_KEY": "s3cr3t-value-here"}, "PEARL_ACCOUNT_ID missing"),
        (
            {"PEARL_API_KEY": GOOD_KEY, "PEARL_ACCOUNT_ID": "other", "PEARL_SECRET_KEY": "x1y2z3"},
            "disagree",
        ),
        ({}, "PEARL_API_KEY"),
    ],
)
def test_incomplete_or_conflicting_key_forms_are_one_line_errors(env, needle) -> None:
    with pytest.raises(PearlConfigError) as info:
        PearlSettings.from_env(env)
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert "s3cr3t-value-here" not in message and GOOD_KEY not in message


BAD_KEYS = [
    "AccountId:SecretKey",
    "accountid:secretkey",
    "your-account-id:your-secret-key",
    "6655269800000000000fa4e1:your_secret",
    "6655269800000000000fa4e1:changeme",
    "xxx:xxx",
    "6655269800000000000fa4e1:xxxxxxxxxxxx",
    "6655269800000000000fa4e1:sk-XXXX-XXXX",
    "<account>:<secret>",
    "x",
    "no-colon-at-all-0123456789",
    "6655269800000000000fa4e1:",
    ":only-a-secret-value",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_malformed_or_placeholder_keys_are_refused_before_any_request(
    fake_pearl, key, caplog
) -> None:
    env = {**fake_pearl.env(), "PEARL_API_KEY": key}
    with caplog.at_level(logging.DEBUG), pytest.raises(PearlConfigError) as info:
        PearlSettings.from_env(env)
    message = str(info.value)
    assert "\n" not in message and "PEARL_API_KEY" in message
    for part in key.split(":"):
        if len(part) >= 4 and part.lower() not in ("accountid", "secretkey"):  # help names
            assert part not in message + caplog.text
    assert fake_pearl.requests == []


@pytest.mark.parametrize(
    "key",
    [
        GOOD_KEY,
        "6655269800000000000fa4e1:abXxXcdefxxxghijk",  # "xxx" inside a random secret
        "acct:secret:with:colons",
    ],
)
def test_real_looking_keys_are_accepted(key) -> None:
    assert PearlSettings(api_key=key).api_key == key


@pytest.mark.parametrize(
    "outbound", ["your-outbound-campaign-id", "YOUR-OUTBOUND-ID", "xxx", "<outbound>", "changeme"]
)
def test_placeholder_outbound_id_is_refused(fake_pearl, outbound) -> None:
    env = {**fake_pearl.env(), "PEARL_OUTBOUND_ID": outbound}
    with pytest.raises(PearlConfigError, match="PEARL_OUTBOUND_ID") as info:
        PearlSettings.from_env(env)
    assert "\n" not in str(info.value)
    assert fake_pearl.requests == []


def test_placeholder_detection_leaves_real_ids_alone() -> None:
    assert not is_placeholder("66b1f0c2a9e4d3b2c1a09f8e")
    assert not is_placeholder("campaign-2025-tuotempo")
    assert is_placeholder("your-outbound-campaign-id") and is_placeholder("AccountId")


def test_key_is_absent_from_repr_and_logs(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        settings = PearlSettings(api_key=GOOD_KEY, base_url="https://api.nlpearl.ai/v1")
        client = PearlClient(settings)
        client.close()
    secret = GOOD_KEY.partition(":")[2]
    assert secret not in repr(settings) + repr(client) + caplog.text
