"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
a real uvicorn server (tests/servidor_process.py) on the test database.

Screenshots of every page go to tests/artifacts/screenshots/ (gitignored); the README's
copies in docs/screenshots/ are refreshed from there by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import ROOT, run_script, schedules
from tests.panel_fixtures import SUPERVISOR, VIEWER, lead_with_history, panel_env
from tests.servidor_process import ServerProcess

CHROMIUM = os.environ.get("PANEL_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(test_database) -> Iterator[ServerProcess]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver",
                    pytrace=False)  # fmt: skip
    with ServerProcess(workers=1, env=panel_env()) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])  # fmt: skip
        yield launched
        launched.close()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(browser: Browser, server: ServerProcess, who: tuple[str, str]) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url("/?lang=en"))
    expect(page.locator("form.login")).to_be_visible()
    page.fill("input[name=username]", who[0])
    page.fill("input[name=password]", who[1])
    page.click("form.login button")
    expect(page.locator("h1")).to_have_text("Overview")
    return page


def test_a_supervisor_works_through_the_dashboard(browser, server, clean_db) -> None:
    lead_id = lead_with_history(nombre="Lucía", apellidos="Browser")
    review_id = lead_with_history(nombre="Revisar", manual_management=True,
                                  status_level_1="Revisar")  # fmt: skip
    login = browser.new_page(viewport={"width": 1280, "height": 700})
    login.goto(server.url("/login?lang=en"))
    _shot(login, "login")
    page = _login(browser, server, SUPERVISOR)

    # The overview: five SVG charts, the per-hour one with the completed calls as points.
    expect(page.locator("figure svg")).to_have_count(5)
    points = page.locator("#chart-hourly rect.point")
    expect(points.first).to_be_visible()
    assert int(points.first.get_attribute("data-value")) >= 1
    expect(page.locator('[data-count="open"] .n')).to_have_text("2")
    _shot(page, "overview")

    # Search by the number's last digits; the number is masked in the list.
    page.click("nav >> text=Leads")
    page.fill("input[name=phone]", "678")
    page.click("form.filters button")
    expect(page.locator("#results td.phone").first).to_have_text("*********678")
    _shot(page, "leads")

    # Call the lead now: the call is scheduled through schedule_call and audited.
    page.click(f"#results a[href^='/leads/{lead_id}']")
    page.click("#action-call_now button")
    expect(page.locator("p.done")).to_be_visible()
    expect(page.locator("#audit")).to_contain_text("call_now")
    assert len(schedules(lead_id, "pending")) == 1
    _shot(page, "lead")

    page.goto(server.url("/review?lang=en"))
    expect(page.locator(f"#review-{review_id}")).to_be_visible()
    _shot(page, "review")

    # Change a setting and see check-config use it.
    page.goto(server.url("/settings?lang=en"))
    row = page.locator("#key-default_delay_hours")
    row.locator("input[name=value]").fill("7")
    row.locator("button").click()
    expect(page.locator("#key-default_delay_hours .effective")).to_have_text("7")
    expect(page.locator("#weekly td.on").first).to_be_visible()
    _shot(page, "settings")
    checked = run_script("mantenimiento.py", "check-config", "--json")
    assert '"default_delay_hours": "7"' in checked.stdout, checked.stdout[-500:]


def test_a_viewer_is_refused(browser, server, clean_db) -> None:
    lead_id = lead_with_history()
    page = _login(browser, server, VIEWER)
    page.goto(server.url(f"/leads/{lead_id}?lang=en"))
    expect(page.locator("#lead")).to_be_visible()
    expect(page.locator("#actions")).to_have_count(0)
    # A forged form (the viewer's own session and CSRF token) is still refused.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(server.url(f"/leads/{lead_id}/action"),
                               form={"action": "call_now", "csrf_token": token})  # fmt: skip
    assert answer.status == 403
    assert len(schedules(lead_id, "pending")) == 1  # only the fixture's call
    page.goto(server.url("/settings?lang=en"))
    expect(page.locator("#config form")).to_have_count(0)
    _shot(page, "viewer_settings")
