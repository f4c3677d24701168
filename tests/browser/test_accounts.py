"""A one-time password through the real pages, on a phone-width screen: the admin hands
it out, the nurse must replace it, the audit page shows what the account opened."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from prm.admin import service as accounts
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, TEST_ACTOR, make_patient, make_staff, make_user

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def _approved_account(session, username: str):
    """An account one administrator made and another approved: (user, password)."""
    maker, approver = make_staff(session, role="admin"), make_staff(session, role="admin")
    user, password = accounts.create_account(
        session, username=username, full_name="Manee", role="nurse", language="en",
        by=maker, actor=TEST_ACTOR)
    accounts.approve(session, target=user, by=approver, actor=TEST_ACTOR)
    session.commit()
    return user, password


def _fits(page) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide"


def test_a_nurse_replaces_the_password_she_was_given_on_a_phone(
        page, live_server, session, console):
    user, password = _approved_account(session, "manee")
    patient = make_patient(session)
    page.set_viewport_size(PHONE)

    log_in(page, live_server, user.username, password)

    expect(page).to_have_url(f"{live_server.url}/password")
    expect(page.locator(".flash.info")).to_contain_text("It works only once")
    expect(page.locator("header nav")).to_have_count(0)
    _fits(page)
    screenshot(page, "password-forced-360")
    page.goto(f"{live_server.url}/patients/{patient.id}")
    expect(page).to_have_url(f"{live_server.url}/password")

    page.locator("#f-current_password").fill(password)
    page.locator("#f-new_password").fill("manee-own-secret")
    page.locator("#f-confirm_password").fill("manee-own-secret")
    page.locator("form[action='/password'] button[type=submit]").click()

    expect(page.locator(".flash.ok")).to_be_visible()
    _fits(page)
    page.goto(f"{live_server.url}/patients/{patient.id}")
    expect(page).to_have_url(f"{live_server.url}/patients/{patient.id}")
    assert not console.errors


def test_the_accounts_audit_page_fits_a_phone(page, live_server, session):
    _approved_account(session, "ghost.nurse")
    admin = make_user(session, role="admin")
    page.set_viewport_size(PHONE)
    log_in(page, live_server, admin.username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/admin/users")

    page.goto(f"{live_server.url}/admin/audit/accounts")

    expect(page.locator("main h2").first).to_contain_text("ghost.nurse")
    _fits(page)
    screenshot(page, "audit-accounts-360")
