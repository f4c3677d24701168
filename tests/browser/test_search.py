"""Search as you type in the top bar, and Enter to open the one match."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
def malee(session):
    make_patient(session)  # a Somchai, so a search must pick the right one
    return make_patient(session, given_name_th="มาลี", family_name_th="ศรีสุขใจ",
                        given_name_en="Malee", family_name_en="Srisukjai")


@pytest.mark.parametrize(("script", "typed"), [("english", "srisuk"), ("thai", "ศรีสุข")])
def test_the_drop_down_shows_the_patient_while_typing(nurse_page, live_server, malee, script,
                                                      typed):
    box = nurse_page.locator("#top-search")
    box.click()
    box.press_sequentially(typed, delay=40)

    suggest = nurse_page.locator("#top-suggest")
    match = suggest.locator(f"a[href='/patients/{malee.id}']")
    expect(match).to_be_visible()
    expect(match).to_contain_text("มาลี ศรีสุขใจ")
    expect(match).to_contain_text("Malee Srisukjai")
    expect(match).to_contain_text(f"HN {malee.hn}")
    expect(suggest.locator("a[href^='/patients/']")).to_have_count(1)
    expect(nurse_page).to_have_url(f"{live_server.url}/")  # nothing submitted
    screenshot(nurse_page, f"search-drop-down-{script}")

    match.click()
    expect(nurse_page).to_have_url(f"{live_server.url}/patients/{malee.id}")


def test_enter_on_a_single_match_opens_the_patient(nurse_page, live_server, malee):
    box = nurse_page.locator("#top-search")
    box.click()
    box.press_sequentially("malee sri", delay=20)
    box.press("Enter")

    expect(nurse_page).to_have_url(f"{live_server.url}/patients/{malee.id}")
    expect(nurse_page.locator(".patient-card h1")).to_contain_text("มาลี ศรีสุขใจ")


def test_enter_on_several_matches_lists_them(nurse_page, live_server, session):
    first, second = make_patient(session), make_patient(session)
    box = nurse_page.locator("#top-search")
    box.click()
    box.press_sequentially("somchai", delay=20)
    box.press("Enter")

    expect(nurse_page).to_have_url(re.compile(r"/patients\?.*q=somchai"))
    for patient in (first, second):
        expect(nurse_page.locator(f"#results a[href='/patients/{patient.id}']").first
               ).to_be_visible()


def test_escape_closes_the_drop_down(nurse_page, malee):
    box = nurse_page.locator("#top-search")
    box.click()
    box.press_sequentially("malee", delay=20)
    expect(nurse_page.locator("#top-suggest a")).to_have_count(1)
    box.press("Escape")
    expect(nurse_page.locator("#top-suggest a")).to_have_count(0)
