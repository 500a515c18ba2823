"""Dispositions and their scheduler_config keys: defaults, overrides, validation (pure)."""

from __future__ import annotations

import json
import logging

import pytest

import scheduler_config
from call_data import DEFAULT_CALL_DATA_MAPPING
from call_outcome import OUTCOMES, Classification
from collected_info import DEFAULT_RULES
from dispositions import (
    DEFAULT_DISPOSITION_CONFIG,
    DEFAULT_DISPOSITIONS,
    Disposition,
    decide,
    disposition_for,
    owns_key,
    parse_disposition_config,
    validate_setting,
)


def test_every_outcome_has_a_disposition() -> None:
    assert set(DEFAULT_DISPOSITIONS) == OUTCOMES
    for outcome in OUTCOMES:
        assert disposition_for(outcome) == DEFAULT_DISPOSITIONS[outcome]
    with pytest.raises(ValueError, match="not a final outcome"):
        disposition_for("in_progress")
    with pytest.raises(ValueError):
        disposition_for("nonsense")


def test_overrides_through_scheduler_config() -> None:
    config = scheduler_config.parse_config(
        {
            "busy_action": "close",
            "busy_closure_reason": " Siempre ocupado ",
            "busy_status_level_1": "Cerrado",
            "busy_status_level_2": "Ocupado 5 veces",
            "not_interested_do_not_call": "true",
            "success_action": "close",
            "voicemail_action": "review",
            "callback_action": "retry",
            "appointment_action": "review",
            "not_placed_action": "review",
        },
        log=False,
    )
    assert config.problems == ()
    assert disposition_for("busy", config) == Disposition(
        "close", "Siempre ocupado", "Cerrado", "Ocupado 5 veces", False
    )
    assert disposition_for("not_interested", config).add_to_do_not_call is True
    assert disposition_for("success", config).action == "close"
    assert disposition_for("voicemail", config).action == "review"
    assert disposition_for("callback", config).action == "retry"
    assert disposition_for("appointment", config).action == "review"
    assert disposition_for("not_placed", config).action == "review"
    # Untouched outcomes keep their defaults.
    assert disposition_for("no_answer", config) == DEFAULT_DISPOSITIONS["no_answer"]
    # The same through the DispositionConfig itself.
    assert config.dispositions.for_outcome("busy").action == "close"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("busy_action", "hang_up", "must be one of close, retry, review"),
        ("busy_action", "appointment", "must be one of close, retry, review"),
        ("appointment_action", "close", "must be one of appointment, review"),
        ("callback_action", "close", "must be one of callback, retry, review"),
        ("not_placed_action", "retry", "must be one of not_placed, review"),
        ("voicemial_action", "retry", "is not an outcome"),
        ("in_progress_action", "retry", "is not an outcome"),
        ("busy_do_not_call", "maybe", "must be true or false"),
        ("busy_closure_reason", "   ", "must be text of 1-255"),
        ("busy_closure_reason", "x" * 256, "must be text of 1-255"),
        ("busy_status_level_1", "x" * 101, "must be text of 1-100"),
        ("busy_status_level_2", "a\nb", "without control characters"),
        ("collected_info_rules", "{", "is not valid JSON"),
        ("collected_info_rules", "[]", "must be a JSON object"),
        ("collected_info_rules", '{"declines": ["x"]}', "unknown key"),
        ("collected_info_rules", '{"decline": []}', "a list of 1-20 names"),
        ("collected_info_rules", '{"decline": [1]}', "invalid name"),
        ("collected_info_rules", '{"decline": "1abc"}', "invalid name"),
        ("collected_info_rules", '{"decline_reasons": ["x"]}', "object of code: label"),
        ("collected_info_rules", '{"decline_reasons": {"x": ""}}', "label of 1-100"),
        ("collected_info_rules", '{"decline_reasons": {"x": 5}}', "label of 1-100"),
        ("collected_info_rules", '{"a":' * 5000 + "1" + "}" * 5000, "longer than 2000"),
        ("pearl_call_data", "nope", "is not valid JSON"),
        ("pearl_call_data", '["nombre"]', "must be a JSON object"),
        ("pearl_call_data", '{"first name": "nombre"}', "is not a variable name"),
        ("pearl_call_data", '{"callRef": "id"}', "reserved"),
        ("pearl_call_data", '{"firstName": 5}', "lead column or call_data key"),
        ("pearl_call_data", '{"firstName": ""}', "lead column or call_data key"),
    ],
)
def test_bad_values_get_one_line_and_the_default(key: str, value: str, reason: str) -> None:
    assert owns_key(key)
    problem = scheduler_config.validate_setting(key, value)
    assert problem is not None and reason in problem
    assert "\n" not in problem and len(problem) < 400
    assert validate_setting(key, value) is not None
    config = scheduler_config.parse_config({key: value}, log=False)
    if value.strip():  # a blank value is "unset" when the configuration is read
        assert any(line.startswith(key) for line in config.problems)
    assert config.dispositions.table == DEFAULT_DISPOSITIONS
    assert config.dispositions.collected_info_rules == DEFAULT_RULES
    assert dict(config.dispositions.call_data_mapping) == dict(DEFAULT_CALL_DATA_MAPPING)


def test_bad_value_is_logged_once_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = scheduler_config.parse_config({"busy_action": "explode", "busy_delay_hours": "2"})
    warnings = [r.getMessage() for r in caplog.records if "busy_action" in r.getMessage()]
    assert len(warnings) == 1 and "explode" in warnings[0]
    assert disposition_for("busy", config).action == "retry"
    assert config.retry_for("busy").delay_hours == 2  # the neighbouring keys still work


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("busy_action", "close"),
        ("busy_action", " review "),
        ("invalid_phone_action", "retry"),
        ("failed_do_not_call", "FALSE"),
        ("not_interested_do_not_call", "sí"),
        ("not_successful_status_level_1", "Gestión manual"),
        ("collected_info_rules", '{"decline": "rechazo", "decline_reasons": {"R1": "Precio"}}'),
        ("collected_info_rules", '{"pack": ["conPack", "pack"], "do_not_call_reasons": ["R9"]}'),
        ("pearl_call_data", '{"firstName": "nombre", "poliza": "numero poliza"}'),
        ("pearl_call_data", "{}"),
    ],
)
def test_good_values(key: str, value: str) -> None:
    assert scheduler_config.validate_setting(key, value) is None
    assert scheduler_config.parse_config({key: value}, log=False).problems == ()


def test_existing_keys_are_not_taken_over() -> None:
    for key in ("busy_delay_hours", "default_max_attempts", "working_hours_1", "timezone"):
        assert not owns_key(key)
    assert scheduler_config.validate_setting("voicemail_delay_hours", "2") is None
    assert scheduler_config.validate_setting("unreachable_max_attempts", "5") is None
    assert "unknown key" in (scheduler_config.validate_setting("nonsense", "1") or "")


def test_collected_info_rules_and_call_data_reach_the_config() -> None:
    config = scheduler_config.parse_config(
        {
            "collected_info_rules": '{"decline": ["rechazo"], "preference": "franja"}',
            "pearl_call_data": '{"nombreClinica": "clinica"}',
        },
        log=False,
    )
    rules = config.dispositions.collected_info_rules
    assert rules.decline_vars == ("rechazo",)
    assert rules.preference_vars == ("franja",)
    assert rules.appointment_vars == DEFAULT_RULES.appointment_vars  # the rest: defaults
    assert dict(config.dispositions.call_data_mapping) == {"nombreClinica": "clinica"}


def test_effective_settings_show_the_values_used() -> None:
    config = scheduler_config.parse_config(
        {
            "busy_action": "close",
            "voicemail_action": "bogus",
            "not_interested_do_not_call": "yes",
            "collected_info_rules": '{"decline": "rechazo"}',
            "pearl_call_data": "not json",
        },
        log=False,
    )
    values = scheduler_config.effective_settings(config)
    assert values["busy_action"] == "close"
    assert values["voicemail_action"] == "retry"  # invalid: the default really used
    assert values["not_interested_do_not_call"] == "true"
    assert json.loads(values["collected_info_rules"])["decline"] == ["rechazo"]
    assert json.loads(values["pearl_call_data"]) == dict(DEFAULT_CALL_DATA_MAPPING)
    assert "busy_status_level_1" not in values  # only the keys that are set


def test_decide_merges_classification_labels() -> None:
    config = scheduler_config.parse_config(
        {"not_interested_status_level_2": "Otro motivo", "appointment_status_level_1": "Cita"},
        log=False,
    )
    refused = Classification("not_interested", status_level_2="Precio", do_not_call=True)
    disposition = decide(refused, config)
    assert disposition.status_level_2 == "Precio"  # the collected reason wins
    assert disposition.add_to_do_not_call is True
    plain = decide(Classification("not_interested"), config)
    assert plain.status_level_2 == "Otro motivo"
    assert plain.add_to_do_not_call is False
    booked = decide(Classification("appointment", status_level_2="Con Pack"), config)
    assert (booked.action, booked.status_level_1, booked.status_level_2) == (
        "appointment",
        "Cita",
        "Con Pack",
    )
    assert decide(Classification("busy")) == DEFAULT_DISPOSITIONS["busy"]
    default = DEFAULT_DISPOSITION_CONFIG
    assert decide(Classification("busy"), default) == DEFAULT_DISPOSITIONS["busy"]


def test_parse_disposition_config_alone_ignores_other_keys() -> None:
    parsed = parse_disposition_config(
        {"busy_delay_hours": "x", "timezone": "Nowhere/Else", "hang_up_action": "close"},
        log=False,
    )
    assert parsed.problems == ()
    assert parsed.for_outcome("hang_up").action == "close"
