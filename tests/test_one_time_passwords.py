"""A password an administrator sets works once and must be replaced at once; anyone
can change their own; the audit page shows accounts made or reset and what they opened
first. (An administrator may not open patient records, but knows the passwords they
hand out.)"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from prm.models.audit import AuditAction, AuditEvent
from prm.models.staff import User, UserSession
from tests.factories import PASSWORD, csrf_token, login, make_patient, make_staff, shown, sign_in

NEW_PASSWORD = "my-own-secret-42"


def _browser(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def _user(session: Session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def _made_by_admin(app, session, *, username: str = "manee") -> tuple[str, TestClient]:
    """A nurse's account an administrator creates and another approves: (the password
    shown to the first, their browser)."""
    admin, approver = _browser(app), _browser(app)
    sign_in(admin, session, role="admin")
    page = admin.post("/admin/users", data={"username": username, "role": "nurse"})
    assert page.status_code == 200
    sign_in(approver, session, role="admin")
    assert approver.post(f"/admin/users/{_user(session, username).id}/approve"
                         ).status_code == 303
    return re.search(r'<span class="secret">([^<]+)</span>', page.text).group(1), admin


def _change(client: TestClient, current: str, new: str, confirm: str | None = None):
    return client.post("/password", data={
        "csrf_token": csrf_token(client, "/password"), "current_password": current,
        "new_password": new, "confirm_password": new if confirm is None else confirm})


@pytest.fixture
def one_time(app, session) -> tuple[TestClient, str]:
    """A browser logged in with the password an administrator was shown."""
    password, _admin = _made_by_admin(app, session)
    browser = _browser(app)
    response = login(browser, "manee", password)
    assert response.status_code == 303
    assert response.headers["location"] == "/password"
    return browser, password


def test_a_one_time_password_leads_only_to_the_password_page(one_time, session):
    browser, _password = one_time
    patient = make_patient(session)

    for path in ("/", f"/patients/{patient.id}", "/worklists", "/patients?q=somchai"):
        response = browser.get(path)
        assert (response.status_code, response.headers.get("location")) == (303, "/password")
    htmx = browser.get("/worklists", headers={"HX-Request": "true"})
    assert htmx.headers.get("HX-Redirect") == "/password"
    page = browser.get("/password")
    assert page.status_code == 200
    assert shown("An administrator set your password. It works only once: choose your own "
                 "password now, before you continue. Nobody else, administrators included, "
                 "will know it.") in page.text
    assert 'href="/patients"' not in page.text  # no menu to pages it cannot open
    assert browser.get("/static/css/app.css").status_code == 200
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.view)).all() == []


def test_a_one_time_password_opens_one_session_only(one_time, app):
    _browser_with_it, password = one_time

    again = login(_browser(app), "manee", password)

    assert again.status_code == 401
    assert shown("This password has been used once already. Ask an administrator for a "
                 "new one.") in again.text


def test_choosing_a_password_unlocks_the_account_for_good(one_time, app, session):
    browser, password = one_time

    response = _change(browser, password, NEW_PASSWORD)

    assert response.status_code == 200
    assert shown("Your password has been changed. Any other browser logged in as you has "
                 "been logged out.") in response.text
    assert _user(session, "manee").must_change_password is False
    assert browser.get("/").status_code == 200
    assert login(_browser(app), "manee", password).status_code == 401
    assert login(_browser(app), "manee", NEW_PASSWORD).status_code == 303
    changed = session.exec(select(AuditEvent).where(
        AuditEvent.detail == "password changed")).one()
    assert changed.username == "manee"


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("not-it-at-all", NEW_PASSWORD, None, "current_password",
     "That is not your current password."),
    (None, "short", None, "new_password", "At least %(n)s characters."),
    (None, None, None, "new_password", "Choose a password different from the current one."),
    (None, NEW_PASSWORD, "my-own-secret-43", "confirm_password",
     "The two new passwords are not the same."),
])
def test_a_new_password_is_refused_beside_the_field_at_fault(
        one_time, session, current, new, confirm, field, message):
    browser, password = one_time

    response = _change(browser, current or password, new or password, confirm)

    assert response.status_code == 422
    assert f'id="e-{field}"' in response.text
    assert shown(message, n=10) in response.text
    assert password not in response.text  # typed passwords are never sent back
    assert _user(session, "manee").must_change_password is True
    assert browser.get("/").headers["location"] == "/password"


def test_anyone_may_change_their_own_password_which_ends_their_other_sessions(
        app, session):
    nurse = make_staff(session)
    here, elsewhere = _browser(app), _browser(app)
    assert login(here, nurse.username).status_code == 303
    assert login(elsewhere, nurse.username).status_code == 303
    assert 'href="/password"' in here.get("/").text  # from the top bar

    page = here.get("/password")
    assert page.status_code == 200
    assert shown("Choose your own password before you continue.") not in page.text
    assert _change(here, PASSWORD, NEW_PASSWORD).status_code == 200

    assert here.get("/").status_code == 200
    assert elsewhere.get("/").headers["location"].startswith("/login")
    session.expire_all()
    assert len(session.exec(select(UserSession).where(
        UserSession.user_id == nurse.id)).all()) == 1


def test_a_reset_password_is_one_time_too(app, session):
    nurse = make_staff(session)
    admin = _browser(app)
    sign_in(admin, session, role="admin")

    page = admin.post(f"/admin/users/{nurse.id}/password")
    password = re.search(r'<span class="secret">([^<]+)</span>', page.text).group(1)

    assert _user(session, nurse.username).must_change_password is True
    assert shown("One-time password") in admin.get("/admin/users").text
    browser = _browser(app)
    assert login(browser, nurse.username, password).headers["location"] == "/password"
    assert login(_browser(app), nurse.username, password).status_code == 401


def test_accounts_made_by_the_command_line_or_tests_need_no_change(app, session):
    nurse = make_staff(session)
    browser = _browser(app)

    assert login(browser, nurse.username).headers["location"] == "/"
    assert browser.get("/").status_code == 200


# --- the audit page: accounts made or reset, and what they opened first -------------------

def test_the_audit_page_shows_an_admin_made_account_reading_records(app, session):
    password, admin = _made_by_admin(app, session, username="ghost.nurse")
    patients = [make_patient(session) for _ in range(7)]
    browser = _browser(app)
    login(browser, "ghost.nurse", password)
    _change(browser, password, NEW_PASSWORD)
    for patient in patients:
        browser.get(f"/patients/{patient.id}")

    page = admin.get("/admin/audit/accounts")

    assert page.status_code == 200
    section = page.text[page.text.index("ghost.nurse"):]
    assert shown("Created") in section
    creator = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.create, AuditEvent.entity_type == "staff_user")).one()
    assert creator.username in section.split("</section>")[0]
    opened = re.findall(r'href="/admin/audit\?patient_id=(\d+)"', section)
    assert opened == [str(patient.id) for patient in patients[:5]]  # the first five
    assert 'href="/admin/audit/accounts"' in admin.get("/admin/audit").text


def test_the_audit_page_credits_views_to_the_latest_reset_before_them(app, session):
    patient = make_patient(session)
    nurse = make_staff(session, username="somsri")
    admin = _browser(app)
    sign_in(admin, session, role="admin")
    admin.post(f"/admin/users/{nurse.id}/password")  # reset, unused...
    page = admin.post(f"/admin/users/{nurse.id}/password")  # ...and reset again
    password = re.search(r'<span class="secret">([^<]+)</span>', page.text).group(1)
    browser = _browser(app)
    login(browser, "somsri", password)
    _change(browser, password, NEW_PASSWORD)
    browser.get(f"/patients/{patient.id}")

    text = admin.get("/admin/audit/accounts").text
    latest, earlier = text.split('<section class="panel">')[1:3]

    assert f"patient_id={patient.id}" in latest
    assert shown("First login: %(when)s, from %(ip)s", when="", ip="")[:10] in latest
    assert f"patient_id={patient.id}" not in earlier
    assert shown("Not logged in since.") in earlier


def test_only_auditors_see_the_accounts_page(nurse_client):
    assert nurse_client.get("/admin/audit/accounts").status_code == 403
