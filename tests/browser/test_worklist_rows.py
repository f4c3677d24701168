"""Worklist rows as staff see them: the critical result named on the row, a call that got
no answer held back and shown, the reason column aligned on a desktop, a card per item on
a phone, and an empty list that says why it is empty."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from prm.db import is_postgres
from prm.followups.rules import run_rules
from prm.models.care import Interpretation
from prm.models.types import utcnow
from prm.models.worklist import FollowUpRule, RuleSetting, WorklistItem
from tests.care_factories import (
    make_appointment,
    make_clinic,
    make_lab_result,
    make_medication_order,
    reset_rule_settings,
)
from tests.factories import make_patient

pytestmark = pytest.mark.browser
BANGKOK = ZoneInfo("Asia/Bangkok")
# Screenshots to look at by eye; the assertions do not depend on them.
SHOTS = Path(os.environ.get("PRM_SHOTS", "/tmp/shots-worklist"))


@pytest.fixture
def queue(session):
    """A critical creatinine, a no-show at the eye clinic and a missed pickup, queued by
    the rules; the patients' names differ in length so misaligned columns would show."""
    if is_postgres(session):
        reset_rule_settings(session)
    now = utcnow()
    long_name = make_patient(session, given_name_en="Chanthima", family_name_en=(
        "Wongsawatdiphongphaisan"), given_name_th="จันทร์ทิมา", family_name_th="วงศ์สวัสดิ์พงษ์ไพศาล")
    make_lab_result(session, patient=long_name, interpretation=Interpretation.critical_high,
                    test_name="Creatinine", value="9.10", unit="mg/dL",
                    reference_range="0.6-1.2", released_at=now - timedelta(hours=1))
    short = make_patient(session, given_name_en="Ek", family_name_en="Ma", given_name_th="เอก",
                         family_name_th="มา")
    make_appointment(session, patient=short, clinic=make_clinic(session, name_en="Eye clinic"),
                     starts_at=now - timedelta(hours=4))
    make_medication_order(session, patient=make_patient(session), medication="Metformin 500 mg",
                          next_pickup_due=(now - timedelta(days=6)).date())
    run_rules(session, now=now, tz=BANGKOK)
    session.commit()
    return {item.rule: item for item in session.exec(select(WorklistItem))}


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_critical_lab_row_names_the_test_and_value(nurse_page, live_server, queue, console):
    page = nurse_page
    page.goto(f"{live_server.url}/worklists")

    row = page.locator(f"#item-{queue[FollowUpRule.abnormal_lab].id}")
    expect(row.locator(".wl-cause")).to_have_text(
        "Creatinine 9.10 mg/dL, critically high (normal 0.6-1.2)")
    expect(page.locator(f"#item-{queue[FollowUpRule.missed_pickup].id} .wl-cause")
           ).to_contain_text("Metformin 500 mg not collected; pickup was due")
    assert console.errors == []


def test_after_no_answer_the_item_shows_the_call_and_leaves_the_queue_until_it_is_due(
        nurse_page, live_server, session, queue, console):
    item = queue[FollowUpRule.no_show]
    page = nurse_page
    page.goto(f"{live_server.url}/worklists")
    row = page.locator(f"#item-{item.id}")
    row.get_by_role("button", name="Claim").click()
    row.get_by_role("button", name="Record outcome").click()
    row.locator(".work-panel").get_by_label("No answer").check()
    row.locator(".work-panel").get_by_role("button", name="Save outcome").click()

    expect(row.locator(".wl-attempts")).to_contain_text("1 call · last: No answer")
    expect(row.locator(".wl-back")).to_contain_text("Off the list until")
    expect(row.get_by_role("button", name="Claim")).to_have_count(0)
    shoot(page, "after-no-answer-1366")

    page.goto(f"{live_server.url}/worklists?queue=no_show")
    expect(page.locator(f"#item-{item.id}")).to_have_count(0)
    expect(page.locator(".wl-empty")).to_contain_text("1 item is waiting to be tried again")

    # The hold-back passes (as if two hours went by): the item is back, with its call.
    session.expire_all()
    held = session.get(WorklistItem, item.id)
    held.snoozed_until = utcnow() - timedelta(minutes=1)
    session.add(held)
    session.commit()
    page.goto(f"{live_server.url}/worklists?queue=no_show")
    back = page.locator(f"#item-{item.id}")
    expect(back.locator(".wl-attempts")).to_contain_text("1 call · last: No answer")
    expect(back.get_by_role("button", name="Claim")).to_be_visible()
    assert console.errors == []


def test_the_hold_back_is_the_rules_setting(nurse_page, live_server, session, queue):
    setting = session.get(RuleSetting, "no_show")
    setting.retry_minutes = 15
    session.add(setting)
    session.commit()
    item = queue[FollowUpRule.no_show]
    page = nurse_page
    page.goto(f"{live_server.url}/worklists")
    row = page.locator(f"#item-{item.id}")
    row.get_by_role("button", name="Claim").click()
    row.get_by_role("button", name="Record outcome").click()
    row.locator(".work-panel").get_by_label("Wrong number").check()
    row.locator(".work-panel").get_by_role("button", name="Save outcome").click()
    expect(row.locator(".wl-attempts")).to_contain_text("last: Wrong number")

    session.expire_all()
    held = session.get(WorklistItem, item.id)
    minutes = (held.snoozed_until - utcnow()).total_seconds() / 60
    assert 0 < minutes <= 15


def test_filters_that_hide_everything_say_so_and_clear_in_one_click(
        nurse_page, live_server, queue, console):
    page = nurse_page
    page.goto(f"{live_server.url}/worklists?queue=today&priority=4_low")

    empty = page.locator(".wl-empty")
    expect(empty).to_contain_text("No items match these filters.")
    expect(empty).not_to_contain_text("Well done")
    expect(page.locator(".wl-filters summary")).to_have_text("Filters (1 active)")
    empty.get_by_role("link", name="Clear the filters").click()

    expect(page.locator(".wl-item")).to_have_count(3)
    assert console.errors == []


def test_the_reason_starts_at_the_same_x_on_every_row_at_desktop_width(
        nurse_page, live_server, queue):
    page = nurse_page
    page.goto(f"{live_server.url}/worklists")
    expect(page.locator(".wl-item")).to_have_count(3)

    lefts = page.locator(".wl-why").evaluate_all(
        "cells => cells.map(c => Math.round(c.getBoundingClientRect().left))")
    assert len(set(lefts)) == 1, lefts
    shoot(page, "worklist-1366")


@pytest.mark.parametrize("width", [360, 768])
def test_rows_stack_into_cards_on_small_screens_without_sideways_scrolling(
        nurse_page, live_server, queue, width):
    page = nurse_page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/worklists")
    rows = page.locator(".wl-item")
    expect(rows).to_have_count(3)

    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    lefts = page.locator(".wl-why").evaluate_all(
        "cells => cells.map(c => Math.round(c.getBoundingClientRect().left))")
    assert len(set(lefts)) == 1, lefts
    for index in range(3):  # every card's button is on screen, not cut off at the side
        box = rows.nth(index).get_by_role("button", name="Claim").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    shoot(page, f"worklist-{width}")
    if width == 360:
        # The filters fold, so the first screen shows items.
        expect(page.locator(".wl-filters")).not_to_have_attribute("open", "")
        first = rows.first.bounding_box()
        assert first and first["y"] + first["height"] < 800
        page.locator(".wl-filters summary").click()
        expect(page.get_by_label("Priority")).to_be_visible()
