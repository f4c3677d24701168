"""/admin/fhir's add-rule form is laid out like the other admin forms: a label over each
field, the fields in a grid on a wide screen and one column on a phone, nothing cut off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
FIELDS = ["#f-kind", "#f-pattern", "#f-segment_code", "#f-position", "#f-note"]


@pytest.mark.parametrize("width", [1366, 360])
def test_the_add_rule_form_is_laid_out_and_saves(page, live_server, session, width):
    admin = make_user(session, role="admin")
    admin.language = "en"
    session.add(admin)
    session.commit()
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, admin.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/admin/users")
    page.goto(f"{live_server.url}/admin/fhir")

    form = page.locator("form.rule-form")
    boxes = []
    for selector in FIELDS:
        field = form.locator(selector)
        expect(form.locator(f"label[for='{selector[1:]}']")).to_be_visible()
        box = field.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        boxes.append(box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Aligned: on a phone one column of equal fields, on a wide screen more than one a row.
    lefts = {round(box["x"]) for box in boxes}
    widths = {round(box["width"]) for box in boxes}
    if width == 360:
        assert len(lefts) == 1 and len(widths) == 1
    else:
        assert len(lefts) > 1 and len(widths) == 1
    form.scroll_into_view_if_needed()
    screenshot(page, f"fhir-rule-form-{width}")

    form.locator("#f-kind").select_option("code")
    form.locator("#f-pattern").fill("*|XYZ")
    form.locator("#f-segment_code").select_option("self_pay")
    form.locator("#f-position").fill("5")
    form.locator("button[type=submit]").click()

    expect(page.locator(".flash.ok")).to_contain_text("Rule saved")
    expect(page.locator("code", has_text="*|XYZ")).to_be_visible()
