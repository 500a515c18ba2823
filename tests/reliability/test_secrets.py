"""Secrets and phone numbers stay out of logs, errors, JSON output and exceptions."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import time_machine

import despachar_llamadas
import probar_llamadas_programadas
from reprogramar_llamadas_simple import schedule_call
from tests.helpers import make_lead, run_script, utc

ROOT = Path(__file__).resolve().parents[2]
DB_SECRET = "Db-Pa55w0rd-must-not-leak"
PEARL_SECRET = "6655aa00:Pearl-Secret-must-not-leak"
PHONE = "+34612345678"
PHONE_FORMS = ("612345678", "612 345 678", "+34612345678", "34612345678")


def run(script: str, *args: str, **env: str) -> str:
    result = run_script(script, *args, env=env)
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["db.py", "check"],
        ["despachar_llamadas.py", "--verbose", "--json"],
        ["despachar_llamadas.py", "--simulate", "--verbose"],
        ["probar_llamadas_programadas.py", "--json"],
        ["mantenimiento.py", "check-config", "--json"],
        ["reprogramar_llamadas_simple.py", "reschedule", "1", "busy"],
    ],
)
def test_database_password_never_printed(command, test_database):
    output = run(
        *command,
        DB_PASSWORD=DB_SECRET,
        DB_USER="no_such_user_for_leak_test",
        PEARL_API_KEY=PEARL_SECRET,
        PEARL_OUTBOUND_ID="abc",
    )
    assert "error" in output.lower()
    assert DB_SECRET not in output and PEARL_SECRET not in output
    if "--verbose" not in command:  # --verbose asks for the traceback, still without secrets
        assert "Traceback" not in output


def test_pearl_key_and_phone_never_in_output_of_a_failing_run(clean_db, fake_pearl, capsys, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    lead_id = make_lead(telefono="612 345 678")
    fake_pearl.fail("make_call", 401, times=10)
    env = {**fake_pearl.env(), "PEARL_API_KEY": fake_pearl.api_key}
    with time_machine.travel(utc(2026, 11, 24, 10, 0), tick=False):
        schedule_call(lead_id)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            code = despachar_llamadas.main(["--verbose", "--json"])
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert code == 2
    assert fake_pearl.count("make_call") == 1
    assert fake_pearl.api_key not in everything
    assert fake_pearl.api_key.split(":")[-1] not in everything
    for form in PHONE_FORMS:
        assert form not in everything


def test_monitoring_output_masks_phone_numbers(clean_db, capsys):
    lead_id = make_lead(telefono=PHONE)
    with time_machine.travel(utc(2026, 11, 24, 10, 0), tick=False):
        schedule_call(lead_id)
    with time_machine.travel(utc(2026, 11, 24, 11, 0), tick=False):
        calls = probar_llamadas_programadas.mostrar_llamadas_pendientes(5)
    out = capsys.readouterr().out
    assert calls[0]["telefono"].endswith("678")
    for form in PHONE_FORMS:
        assert form not in out and form not in str(calls)
