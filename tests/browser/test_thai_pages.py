"""The audit log and the segments page in Thai on a phone: no English from the catalog on
screen (the words a person sees, not the markup) and nothing wider than the screen."""

from __future__ import annotations

import pytest

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.models.audit import AuditAction
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_patient, make_user
from tests.test_thai_pages import english_strings

pytestmark = pytest.mark.browser

WIDTH = 360


def _english_on_screen(page) -> list[str]:
    text = " ".join(page.locator("body").inner_text().split())
    return [english.msgid for english in english_strings() if english.pattern.search(text)]


@pytest.mark.parametrize("path", ["/admin/audit", "/segments"])
def test_the_page_is_thai_and_fits_a_phone(page, live_server, session, console, path):
    admin = make_user(session, role="admin")  # Thai, the hospital's language
    patient = make_patient(session, given_name_th="มะลิ", family_name_th="ทองดีศรีสวัสดิ์")
    nurse = Actor(user_id=None, username="nurse_somsri", ip="192.168.100.200")
    for action, entity, detail in [
            (AuditAction.view, "patient", ""),
            (AuditAction.update, "appointment", "booked->arrived"),
            (AuditAction.update, "worklist_item", "call_back_later"),
            (AuditAction.search, "patient_search", "kind=national_id shown=1"),
            (AuditAction.update, "fhir_records",
             "scheduled sync: 1200 records written, 3 quarantined")]:
        audit.record(session, actor=nurse, action=action, entity_type=entity,
                     entity_id=patient.id, patient_id=patient.id, detail=detail)
    session.commit()
    page.set_viewport_size({"width": WIDTH, "height": 800})
    log_in(page, live_server, admin.username, PASSWORD)
    page.wait_for_url(f"{live_server.url}/**")

    page.goto(f"{live_server.url}{path}")

    assert page.locator("html").get_attribute("lang") == "th"
    assert _english_on_screen(page) == []
    if path == "/admin/audit":
        assert page.get_by_role("link", name=patient.hn).first.is_visible()
    screenshot(page, f"thai{path.replace('/', '-')}-{WIDTH}")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert not console.errors
