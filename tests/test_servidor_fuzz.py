"""Fuzz the server's OpenAPI document with schemathesis against the running server.

Every operation gets generated requests, valid by the schema and deliberately invalid, with
the token. Each answer must be a documented status code and never a 5xx (the database is up,
so not even the documented 503); any answer but a processed call must leave every table
exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import status_code_conformance

from tests.helpers import make_lead, reset_database, tables_checksum
from tests.servidor_process import TOKEN, ServerProcess

EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzz_server(test_database) -> Iterator[ServerProcess]:
    with ServerProcess(workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    reset_database()
    for number in ("+34612345678", "612345679", "+34 699 000 111", "+34699000111"):
        make_lead(telefono=number)
    schema = schemathesis.openapi.from_url(fuzz_server.url("/openapi.json"))
    return schema


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# GET operations take no input: nothing to make invalid.
OPERATIONS = [
    ("POST", "/webhooks/pearl/call", POSITIVE),
    ("POST", "/webhooks/pearl/call", NEGATIVE),
    ("POST", "/api/actualizar_resultado", POSITIVE),
    ("POST", "/api/actualizar_resultado", NEGATIVE),
    ("GET", "/api/status", POSITIVE),
    ("GET", "/health", POSITIVE),
]


def check_one(case) -> None:
    before = tables_checksum()
    response = case.call(headers={"X-Webhook-Token": TOKEN}, timeout=30)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    case.validate_response(response, checks=[status_code_conformance])
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    applied = body.get("status") == "processed" or body.get("success") is True
    if case.method == "POST" and not applied:
        assert tables_checksum() == before, (case.path, response.status_code, body)


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_no_server_error_and_nothing_written_on_rejected_input(api_schema, method, path, mode):
    operation = api_schema[path][method]
    ran = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.generate],
    )  # fmt: skip
    def fuzz(case) -> None:
        check_one(case)
        ran.append(case)

    fuzz()
    assert ran  # the strategy produced requests
