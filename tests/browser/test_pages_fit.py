"""Every staff page from a phone (360 px) to a wide desktop: nothing wider than the screen,
and on a phone a table's rows become cards rather than columns to scroll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from prm.models.types import utcnow
from tests.browser.conftest import log_in, screenshot
from tests.care_factories import make_appointment, make_lab_result, make_worklist_item
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = pytest.mark.browser

WIDTHS = [360, 768, 1366]
PHONE = 760  # the widest screen that gets the phone layout (static/css/app.css)


def _overflow(page, path: str) -> str | None:
    """The path and the page's width if the page is wider than the screen."""
    page.goto(path)
    width = page.viewport_size["width"]
    wide = page.evaluate("document.scrollingElement.scrollWidth")
    return f"{path}: {wide} px on a {width} px screen" if wide > width else None


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_pages_fit_the_screen(page, live_server, session, console, width):
    nurse = make_user(session, role="nurse")
    patients = [make_patient(session, given_name_th="สมพร", family_name_th=surname)
                for surname in ("ศรีสุวรรณวงศ์", "เจริญผลพานิชกุล", "ใจดี")]
    make_appointment(session, patient=patients[0], starts_at=utcnow() + timedelta(hours=1))
    make_lab_result(session, patient=patients[1])
    make_worklist_item(session, patient=patients[2])
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")

    paths = ["/", "/patients?q=สมพร", f"/patients/{patients[0].id}", "/appointments",
             "/appointments/new", "/worklists", "/password"]
    wider = [found for path in paths if (found := _overflow(page, live_server.url + path))]
    assert not wider, wider
    assert not console.errors


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_pages_fit_the_screen(page, live_server, session, console, width):
    admin = make_user(session, role="admin")
    make_user(session, role="front_desk", username="frontdesk.with.a.long.username")
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, admin.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/**")

    paths = ["/segments", "/admin/users", "/admin/audit", "/admin/audit/accounts",
             "/admin/rules", "/admin/fhir"]
    wider = [found for path in paths if (found := _overflow(page, live_server.url + path))]
    assert not wider, wider
    assert not console.errors


@pytest.mark.parametrize("width", [360, 1366])
def test_search_results_are_cards_on_a_phone_and_columns_on_a_desktop(
        page, live_server, session, width):
    nurse = make_user(session, role="nurse")
    make_patient(session, given_name_th="มาลี", family_name_th="ใจดี", phone_e164="+66812345678")
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/patients?q=มาลี")

    results = page.locator("#results table")
    expect(results.locator("tbody tr")).to_have_count(1)
    header = results.locator("thead")
    if width <= PHONE:
        expect(header).to_be_hidden()
        # the column's name travels with a bare value: "Phone: ••• 5678"
        phone = results.locator("td[data-label]").first
        label = phone.evaluate("td => getComputedStyle(td, '::before').content")
        assert "โทรศัพท์" in label, label  # Thai: the user's language
    else:
        expect(header).to_be_visible()
    screenshot(page, f"search-results-{width}")
