"""The patient card of a foreigner with only a Latin-script name and no coverage: the name
is the heading at full size, and the badge and the coverage panel say the same segment."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import make_patient

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 360])
def test_a_foreigner_with_an_english_name_only(nurse_page, live_server, session, width):
    foreigner = make_patient(session, given_name_th="", family_name_th="", title_en="Mr",
                             given_name_en="John", family_name_en="Carter",
                             nationality="MM", national_id="", passport_no="MB123456",
                             passport_country="MM", segment_code="foreign_uninsured")
    thai = make_patient(session, segment_code="universal_coverage")
    nurse_page.set_viewport_size({"width": width, "height": 800})

    nurse_page.goto(f"{live_server.url}/patients/{thai.id}")
    thai_size = nurse_page.locator(".patient-card h1").evaluate(
        "h => getComputedStyle(h).fontSize")
    nurse_page.goto(f"{live_server.url}/patients/{foreigner.id}")

    heading = nurse_page.locator(".patient-card h1")
    expect(heading).to_have_text("Mr John Carter")
    assert heading.evaluate("h => getComputedStyle(h).fontSize") == thai_size
    expect(nurse_page.locator(".patient-card .names .en")).to_have_count(0)
    badge = nurse_page.locator(".patient-card .flags .badge[class*='seg-']")
    expect(badge).to_have_text("Foreign, uninsured")
    expect(nurse_page.locator(".coverage-none")).to_have_text(
        "No coverage on file, so the segment is: Foreign, uninsured.")
    screenshot(nurse_page, f"patient-card-english-name-{width}")

    # The search results list him by the same name, as a link of its own size.
    nurse_page.goto(f"{live_server.url}/patients?q=carter")
    expect(nurse_page.locator("#results tbody tr td:nth-child(2) a")).to_have_text(
        "Mr John Carter")
