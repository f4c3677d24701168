"""Logging in through the real form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_wrong_password_shows_the_error_and_keeps_the_username(page, live_server, nurse):
    log_in(page, live_server, nurse.username, "not-the-password")

    expect(page.locator(".flash.error[role=alert]")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.locator("#username")).to_have_value(nurse.username)
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("header.topbar")).to_have_count(0)


def test_right_password_lands_on_the_start_page_with_the_users_name(page, live_server, nurse):
    log_in(page, live_server, nurse.username, PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("main h1")).to_contain_text(nurse.full_name)
    expect(page.locator("header .who")).to_contain_text(nurse.full_name)
    expect(page.locator("#top-search")).to_be_visible()


def test_a_page_asked_for_before_login_opens_after_it(page, live_server, nurse):
    page.goto(f"{live_server.url}/patients")
    expect(page).to_have_url(re.compile(r"/login"))
    page.locator("#username").fill(nurse.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/patients")
