"""A nurse works the "today" list: claim a no-show, rebook it, and it leaves the list."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from prm.db import is_postgres
from prm.followups.rules import run_rules
from prm.models.types import utcnow
from prm.models.worklist import FollowUpRule, WorklistItem
from tests.browser.conftest import screenshot
from tests.care_factories import make_appointment, make_clinic, reset_rule_settings
from tests.factories import make_patient

pytestmark = pytest.mark.browser
BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
def no_show(session):
    """A patient who missed this morning's eye clinic, queued by the rules as they run."""
    if is_postgres(session):
        reset_rule_settings(session)
    patient = make_patient(session, given_name_th="มาลี", family_name_th="ศรีสุข",
                           given_name_en="Malee", family_name_en="Srisuk")
    eye = make_clinic(session, name_th="คลินิกตา", name_en="Eye clinic")
    make_appointment(session, patient=patient, clinic=eye,
                     starts_at=utcnow() - timedelta(hours=4))
    run_rules(session, now=utcnow(), only=[FollowUpRule.no_show])
    session.commit()
    item = session.exec(select(WorklistItem)).one()
    return item, patient


def test_a_nurse_rebooks_a_no_show_and_it_leaves_the_list(nurse_page, live_server, session,
                                                          no_show, console):
    item, patient = no_show
    diabetes = make_clinic(session, name_th="คลินิกเบาหวาน", name_en="Diabetes clinic")
    page = nurse_page
    page.goto(f"{live_server.url}/worklists")
    row = page.locator(f"#item-{item.id}")
    expect(row.locator(".wl-why")).to_contain_text("Did not come to Eye clinic on")
    expect(row).to_contain_text(f"HN {patient.hn}")
    expect(page.locator(".nav-count")).to_have_text("1")

    row.get_by_role("button", name="Claim").click()
    expect(row).to_contain_text("You")
    row.get_by_role("button", name="Record outcome").click()
    panel = row.locator(".work-panel")
    expect(panel).to_contain_text("Did not come to Eye clinic on")
    panel.get_by_label("Rebooked (new appointment)").check()
    panel.get_by_label("Clinic", exact=True).select_option(str(diabetes.id))
    when = (utcnow() + timedelta(days=3)).astimezone(BANGKOK).replace(hour=9, minute=30)
    panel.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_label("Note").fill("Prefers mornings; will bring her glucose diary")
    # The top bar is sticky: scroll home first, or the full-page shot shows it mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "worklist")

    panel.get_by_role("button", name="Save outcome").click()

    expect(page.locator(f"#item-{item.id}")).to_have_count(0)
    expect(page.locator("#queue")).to_contain_text("Nothing to do here. Well done.")
    expect(page.locator(".nav-count")).to_have_text("")  # the top bar's badge follows
    page.goto(f"{live_server.url}/patients/{patient.id}")
    timeline = page.locator("#timeline ol.timeline")
    expect(timeline).to_contain_text(
        "Follow-up call (No-shows to rebook): Rebooked (new appointment)")
    expect(timeline).to_contain_text("Prefers mornings; will bring her glucose diary")
    expect(timeline).to_contain_text("Appointment, Diabetes clinic: Booked")
    expect(timeline).to_contain_text("Appointment, Eye clinic: No-show")
    assert console.errors == []


def test_a_refused_outcome_keeps_the_row_and_what_was_typed(nurse_page, live_server, session,
                                                            no_show, console):
    item, _patient = no_show
    clinic = make_clinic(session, name_en="Diabetes clinic")
    page = nurse_page
    page.goto(f"{live_server.url}/worklists")
    row = page.locator(f"#item-{item.id}")
    row.get_by_role("button", name="Claim").click()
    row.get_by_role("button", name="Record outcome").click()
    panel = row.locator(".work-panel")
    panel.get_by_label("Note").fill("typed, then thought better of it")
    row.get_by_role("button", name="Record outcome").click()  # again: a fresh form
    expect(panel.get_by_label("Note")).to_have_value("")
    expect(panel).to_have_count(1)
    panel.get_by_label("Rebooked (new appointment)").check()
    panel.get_by_label("Note").fill("Wants a Friday")

    panel.get_by_role("button", name="Save outcome").click()

    expect(panel.locator(".field-error")).to_contain_text(["Choose a clinic."])
    expect(row.locator(".wl-line")).to_contain_text("Did not come to Eye clinic")
    expect(panel.get_by_label("Note")).to_have_value("Wants a Friday")
    expect(panel.get_by_label("Rebooked (new appointment)")).to_be_checked()
    panel.get_by_label("Clinic", exact=True).select_option(str(clinic.id))
    when = (utcnow() + timedelta(days=2)).astimezone(BANGKOK).replace(hour=14, minute=0)
    panel.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_role("button", name="Save outcome").click()

    expect(page.locator(f"#item-{item.id}")).to_have_count(0)
    assert [e for e in console.errors if "422" not in e] == []
