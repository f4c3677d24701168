"""Finding a patient from part of their phone number, as staff are told it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import make_patient

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 360])
@pytest.mark.parametrize("typed", ["534 9306", "5349306", "081-534"])
def test_part_of_a_phone_number_finds_the_patient(nurse_page, live_server, session, typed,
                                                  width):
    make_patient(session, phone="089 111 2222")  # someone else
    wanted = make_patient(session, given_name_en="Malee", family_name_en="Srisukjai",
                          phone="081 534 9306")
    nurse_page.set_viewport_size({"width": width, "height": 800})

    box = nurse_page.locator("#top-search")
    box.click()
    box.press_sequentially(typed, delay=20)

    suggest = nurse_page.locator("#top-suggest")
    expect(suggest.locator(f"a[href='/patients/{wanted.id}']")).to_be_visible()
    expect(suggest.locator("a[href^='/patients/']")).to_have_count(1)
    screenshot(nurse_page, f"phone-search-{typed.replace(' ', '_')}-{width}")

    nurse_page.goto(f"{live_server.url}/patients?q={typed}")
    expect(nurse_page.locator(f"#results a[href='/patients/{wanted.id}']").first).to_be_visible()
    expect(nurse_page.locator("#results tbody tr")).to_have_count(1)


def test_three_digits_are_not_searched_as_a_phone(nurse_page, live_server, session):
    make_patient(session, phone="081 534 9306")
    nurse_page.goto(f"{live_server.url}/patients?q=306")
    expect(nurse_page.locator("#results tbody tr")).to_have_count(0)
