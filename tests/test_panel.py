"""Route tests of the supervisor's dashboard (panel.py) against the real test database:
status codes, login, roles, CSRF refusal, audit rows, nothing written on refused input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import servidor
from tests.helpers import lead, make_lead, schedules, sql
from tests.panel_fixtures import (
    PHONE,
    SUPERVISOR,
    VIEWER,
    audit_rows,
    csrf_of,
    lead_with_history,
    panel_env,
    writable_state,
)


@pytest.fixture
def app_env(monkeypatch, clean_db) -> None:
    from tests.servidor_process import TOKEN

    monkeypatch.setenv("WEBHOOK_TOKEN", TOKEN)
    for key, value in panel_env().items():
        monkeypatch.setenv(key, value)
    servidor.app.state.panel_settings = None


def _client() -> TestClient:
    return TestClient(servidor.app, follow_redirects=False)


def _login(client: TestClient, who: tuple[str, str]) -> str:
    """Log in; return the session's CSRF token (from the overview page)."""
    page = client.get("/login")
    assert page.status_code == 200
    form = {"username": who[0], "password": who[1], "csrf_token": csrf_of(page.text)}
    answer = client.post("/login", data={**form, "next": "/"})
    assert answer.status_code == 303, answer.text
    overview = client.get("/")
    assert overview.status_code == 200
    return csrf_of(overview.text)


@pytest.fixture
def supervisor(app_env) -> Iterator[tuple[TestClient, str]]:
    with _client() as client:
        yield client, _login(client, SUPERVISOR)


@pytest.fixture
def viewer(app_env) -> Iterator[tuple[TestClient, str]]:
    with _client() as client:
        yield client, _login(client, VIEWER)


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/leads", "/leads/1", "/review", "/settings"])
def test_every_page_asks_for_a_login(app_env, path: str) -> None:
    answer = _client().get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_the_webhook_token_opens_no_page(app_env) -> None:
    from tests.servidor_process import TOKEN

    answer = _client().get("/", params={"token": TOKEN}, headers={"X-Webhook-Token": TOKEN})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_wrong_password_is_refused_and_the_cookie_is_secure_by_default(
    app_env, monkeypatch
) -> None:
    client = _client()
    page = client.get("/login")
    bad = client.post("/login", data={"username": "ana", "password": "nope-nope-nope",
                                      "csrf_token": csrf_of(page.text)})  # fmt: skip
    assert bad.status_code == 401 and "panel_session" not in bad.headers.get("set-cookie", "")
    no_csrf = client.post("/login", data={"username": SUPERVISOR[0], "password": SUPERVISOR[1]})
    assert no_csrf.status_code == 403
    monkeypatch.setenv("PANEL_COOKIE_SECURE", "1")
    servidor.app.state.panel_settings = None
    secure = TestClient(servidor.app, follow_redirects=False, base_url="https://testserver")
    page = secure.get("/login")
    good = secure.post("/login", data={"username": SUPERVISOR[0], "password": SUPERVISOR[1],
                                       "csrf_token": csrf_of(page.text)})  # fmt: skip
    cookie = good.headers["set-cookie"].lower()
    assert good.status_code == 303
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_without_a_secret_key_the_dashboard_is_unavailable(clean_db, monkeypatch) -> None:
    monkeypatch.delenv("PANEL_SECRET_KEY", raising=False)
    servidor.app.state.panel_settings = None
    answer = _client().get("/login")
    assert answer.status_code == 503 and "PANEL_SECRET_KEY" in answer.text


def test_a_forged_session_cookie_is_not_a_session(app_env) -> None:
    client = _client()
    client.cookies.set("panel_session", "eyJ1IjoiYW5hIn0.AAAA")
    assert client.get("/").status_code == 303


# --- pages -----------------------------------------------------------------------------------


def test_overview_shows_counts_alerts_and_charts_with_data_points(supervisor) -> None:
    client, _ = supervisor
    lead_with_history()
    make_lead(lead_status="closed", closure_reason="Cita agendada", call_attempts_count=2)
    page = client.get("/", params={"lang": "en"})
    assert page.status_code == 200
    assert 'data-count="open"><span class="n">1<' in page.text
    assert 'data-count="closed"><span class="n">1<' in page.text
    assert page.text.count("<svg") == 5
    assert 'data-series="no_answer"' in page.text  # the completed call, per hour and per day
    assert "Content-Security-Policy" in page.headers
    filtered = client.get("/", params={"campaign": "camp-B", "first": "2026-01-01"})
    assert filtered.status_code == 200 and 'data-series="no_answer"' not in filtered.text
    assert client.get("/", params={"first": "yesterday"}).status_code == 400


def test_search_masks_numbers_and_the_lead_page_shows_its_timeline(supervisor) -> None:
    client, _ = supervisor
    lead_id = lead_with_history(nombre="Lucía")
    found = client.get("/leads", params={"name": "Luc", "phone": "678", "status": "open",
                                         "campaign": "camp-A"})  # fmt: skip
    assert found.status_code == 200 and f"/leads/{lead_id}" in found.text
    assert "*********678" in found.text and PHONE not in found.text and "612345" not in found.text
    page = client.get(f"/leads/{lead_id}")
    assert page.status_code == 200
    assert "https://recordings.invalid/abc.mp3" in page.text and "42" in page.text
    assert "612 345 678" not in page.text and PHONE not in page.text
    assert client.get("/leads/999999").status_code == 404


def test_review_and_settings_pages(supervisor) -> None:
    client, _ = supervisor
    lead_id = lead_with_history(manual_management=True, status_level_1="Revisar")
    review = client.get("/review")
    assert review.status_code == 200 and f"review-{lead_id}" in review.text
    assert "volverALlamar" in review.text
    settings = client.get("/settings")
    assert settings.status_code == 200
    assert 'id="key-default_delay_hours"' in settings.text and 'class="on"' in settings.text


# --- actions ---------------------------------------------------------------------------------


def test_call_now_goes_through_schedule_call_and_is_audited(supervisor) -> None:
    client, csrf = supervisor
    lead_id = lead_with_history()
    answer = client.post(f"/leads/{lead_id}/action",
                         data={"action": "call_now", "csrf_token": csrf})  # fmt: skip
    assert answer.status_code == 303
    assert len(schedules(lead_id, "pending")) == 1
    rows = audit_rows(lead_id)
    assert [(r["username"], r["action"]) for r in rows] == [("ana", "call_now")]
    assert "call scheduled at" in rows[0]["detail"]


def test_call_now_is_refused_while_a_call_is_in_flight(supervisor) -> None:
    client, csrf = supervisor
    lead_id = lead_with_history()
    sql("INSERT INTO pearl_calls (lead_id, state, claimed_at) VALUES (%s, 'placed', "
        "UTC_TIMESTAMP())", (lead_id,))  # fmt: skip
    before = writable_state()
    answer = client.post(f"/leads/{lead_id}/action",
                         data={"action": "call_now", "csrf_token": csrf})  # fmt: skip
    assert answer.status_code == 409 and "in flight" in answer.text
    assert writable_state() == before


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"action": "reschedule", "when": "2001-01-01T10:00"}, 400),
        ({"action": "reschedule", "when": "tomorrow"}, 400),
        ({"action": "close", "reason": "   "}, 400),
        ({"action": "explode"}, 400),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(supervisor, data, status) -> None:
    client, csrf = supervisor
    lead_id = lead_with_history()
    before = writable_state()
    answer = client.post(f"/leads/{lead_id}/action", data={**data, "csrf_token": csrf})
    assert answer.status_code == status
    assert writable_state() == before


def test_every_lead_action_through_the_library(supervisor) -> None:
    client, csrf = supervisor
    lead_id = lead_with_history()

    def act(**data):
        answer = client.post(f"/leads/{lead_id}/action", data={**data, "csrf_token": csrf})
        assert answer.status_code == 303, answer.text

    act(action="reschedule", when="2099-03-02T11:30")
    assert schedules(lead_id, "pending")[0]["scheduled_at"].year == 2099
    act(action="cancel", reason="customer asked by mail")
    assert schedules(lead_id, "pending") == []
    act(action="review_take", reason="check the appointment")
    assert lead(lead_id)["manual_management"] == 1
    act(action="review_release")
    assert lead(lead_id)["manual_management"] == 0 and schedules(lead_id, "pending")
    act(action="dnc", reason="asked not to be called")
    assert sql("SELECT telefono FROM do_not_call") == [{"telefono": PHONE}]
    act(action="close", reason="duplicate lead")
    assert lead(lead_id)["lead_status"] == "closed"
    assert lead(lead_id)["closure_reason"] == "duplicate lead"
    actions = [r["action"] for r in audit_rows(lead_id)]
    assert actions == ["reschedule", "cancel", "review_take", "review_release", "dnc", "close"]
    assert all(PHONE not in (r["detail"] or "") for r in audit_rows(lead_id))


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(supervisor) -> None:
    client, _ = supervisor
    lead_id = lead_with_history()
    before = writable_state()
    for path, data in (
        (f"/leads/{lead_id}/action", {"action": "close", "reason": "x"}),
        (f"/review/{lead_id}/decide", {"decision": "not_interested"}),
        ("/settings/set", {"key": "default_delay_hours", "value": "2"}),
        ("/settings/pause", {"reason": "x"}),
        ("/settings/resume", {}),
    ):
        for token in (None, "forged-token"):
            body = data if token is None else {**data, "csrf_token": token}
            answer = client.post(path, data=body)
            assert answer.status_code == 403, path
    assert writable_state() == before


def test_a_viewer_reads_but_cannot_act(viewer) -> None:
    client, csrf = viewer
    lead_id = lead_with_history()
    page = client.get(f"/leads/{lead_id}")
    assert page.status_code == 200 and 'id="actions"' not in page.text
    before = writable_state()
    for path, data in (
        (f"/leads/{lead_id}/action", {"action": "call_now"}),
        (f"/review/{lead_id}/decide", {"decision": "call_again"}),
        ("/settings/set", {"key": "default_delay_hours", "value": "2"}),
        ("/settings/pause", {"reason": "lunch"}),
    ):
        answer = client.post(path, data={**data, "csrf_token": csrf})
        assert answer.status_code == 403, path
    assert writable_state() == before


def test_review_decisions(supervisor) -> None:
    client, csrf = supervisor
    first = lead_with_history(manual_management=True)
    second = make_lead(manual_management=True, telefono="+34612000111")
    answer = client.post(f"/review/{first}/decide",
                         data={"decision": "call_again", "csrf_token": csrf})  # fmt: skip
    assert answer.status_code == 303
    assert lead(first)["manual_management"] == 0 and schedules(first, "pending")
    answer = client.post(f"/review/{second}/decide",
                         data={"decision": "appointment", "csrf_token": csrf})  # fmt: skip
    assert answer.status_code == 303 and lead(second)["closure_reason"] == "Cita agendada"
    before = writable_state()
    assert (
        client.post(
            f"/review/{second}/decide", data={"decision": "maybe", "csrf_token": csrf}
        ).status_code
        == 400
    )
    assert writable_state() == before
    assert [r["action"] for r in audit_rows()] == ["review_call_again", "review_appointment"]


def test_settings_use_set_config_validation_and_pause_resume(supervisor) -> None:
    client, csrf = supervisor
    before = writable_state()
    for key, value in (("default_delay_hours", "-3"), ("defualt_delay_hours", "2"),
                       ("working_hours_start", "25:00")):  # fmt: skip
        answer = client.post("/settings/set", data={"key": key, "value": value,
                                                    "csrf_token": csrf})  # fmt: skip
        assert answer.status_code == 400 and "nothing was written" in answer.text.lower()
    assert writable_state() == before
    good = client.post("/settings/set", data={"key": "default_delay_hours", "value": "2",
                                              "csrf_token": csrf})  # fmt: skip
    assert good.status_code == 303
    stored = sql("SELECT config_value FROM scheduler_config WHERE config_key = "
                 "'default_delay_hours'")  # fmt: skip
    assert stored == [{"config_value": "2"}]
    assert (
        client.post(
            "/settings/pause", data={"reason": "Pearl outage", "csrf_token": csrf}
        ).status_code
        == 303
    )
    paused = sql("SELECT config_value FROM scheduler_config WHERE config_key = 'dispatch_paused'")
    assert paused == [{"config_value": "true"}]
    assert client.post("/settings/resume", data={"csrf_token": csrf}).status_code == 303
    assert [r["action"] for r in audit_rows()] == ["set_config", "pause", "resume"]
    assert audit_rows()[0]["detail"] == "default_delay_hours=2"


def test_logout_ends_the_session(supervisor) -> None:
    client, csrf = supervisor
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/").status_code == 303
