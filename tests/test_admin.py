"""Administrators manage staff accounts and read the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session, func, select

from prm.admin.audit_labels import action_labels
from prm.audit import service as audit
from prm.audit.service import Actor
from prm.i18n import current_language, gettext
from prm.models.audit import AuditAction, AuditEvent
from prm.models.staff import Role, User, UserSession
from tests.factories import PASSWORD, login, make_patient, make_staff, sign_in


def shown(message: str, language: str = "th", **params) -> str:
    """``message`` as a page in ``language`` shows it (translated, HTML-escaped)."""
    token = current_language.set(language)
    try:
        return str(escape(gettext(message, **params)))
    finally:
        current_language.reset(token)


@pytest.fixture
def admin_client(client, session) -> TestClient:
    sign_in(client, session, role="admin")
    return client


def _other_browser(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def _shown_password(html: str) -> str:
    match = re.search(r'<span class="secret">([^<]+)</span>', html)
    assert match, "no generated password on the page"
    return match.group(1)


def _approved_by_another_admin(app, session: Session, user: User):
    other = _other_browser(app)
    sign_in(other, session, role="admin")
    return other.post(f"/admin/users/{user.id}/approve")


def _user(session: Session, username: str) -> User | None:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).first()


def test_an_admin_creates_a_user_who_logs_in_with_the_password_shown_once_when_approved(
    admin_client, session, app
):
    response = admin_client.post("/admin/users", data={
        "username": "Manee", "full_name": "มานี มีสุข", "role": "front_desk", "language": "en"})

    assert response.status_code == 200
    password = _shown_password(response.text)
    user = _user(session, "manee")
    assert (user.role, user.full_name, user.language) == (Role.front_desk, "มานี มีสุข", "en")
    assert password not in admin_client.get("/admin/users").text  # shown once only
    assert login(_other_browser(app), "manee", password).status_code == 401  # not yet
    assert _approved_by_another_admin(app, session, user).status_code == 303
    assert login(_other_browser(app), "manee", password).status_code == 303
    created = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.create, AuditEvent.entity_type == "staff_user")).one()
    assert created.entity_id == str(user.id)


def test_the_maker_of_an_account_cannot_approve_it_nor_switch_it_on(admin_client, session):
    admin_client.post("/admin/users", data={"username": "manee", "role": "nurse"})
    manee = _user(session, "manee")
    assert (manee.is_active, manee.awaiting_approval) == (False, True)
    assert shown("Awaiting approval") in admin_client.get("/admin/users").text

    assert admin_client.post(f"/admin/users/{manee.id}/approve").status_code == 403
    assert admin_client.post(f"/admin/users/{manee.id}/active",
                             data={"active": "yes"}).status_code == 400
    assert _user(session, "manee").is_active is False


def test_an_administrators_account_waits_for_approval_too(admin_client, session):
    """Else an administrator would make an accomplice administrator to approve with."""
    admin_client.post("/admin/users", data={"username": "admin.two", "role": "admin"})

    assert _user(session, "admin.two").awaiting_approval is True


def test_approval_by_another_admin_switches_the_account_on_and_is_audited(
        admin_client, session, app):
    admin_client.post("/admin/users", data={"username": "manee", "role": "nurse"})
    manee = _user(session, "manee")

    assert _approved_by_another_admin(app, session, manee).status_code == 303

    manee = _user(session, "manee")
    assert (manee.is_active, manee.awaiting_approval) == (True, False)
    approved = session.exec(select(AuditEvent).where(
        AuditEvent.detail == "account approved")).one()
    assert approved.entity_id == str(manee.id)
    assert approved.user_id != manee.created_by_id
    page = admin_client.get("/admin/audit/accounts").text
    assert shown("Approved by %(who)s, %(when)s", who=approved.username, when="")[:12] in page
    assert admin_client.post(f"/admin/users/{manee.id}/approve").status_code == 409


def test_a_taken_username_re_renders_the_form_with_the_error(admin_client, session):
    make_staff(session, username="manee", role="nurse")

    response = admin_client.post("/admin/users", data={
        "username": "manee", "full_name": "Another Manee", "role": "quality"})

    assert response.status_code == 409
    assert shown("That username is taken.") in response.text
    assert 'id="e-username"' in response.text
    assert 'value="Another Manee"' in response.text  # what was typed is kept
    assert 'class="secret"' not in response.text
    assert _user(session, "manee").role == Role.nurse


def test_a_missing_role_re_renders_the_form_with_the_error(admin_client, session):
    response = admin_client.post("/admin/users", data={"username": "norole", "role": ""})

    assert response.status_code in (400, 422)
    assert 'id="e-role"' in response.text
    assert 'value="norole"' in response.text
    assert _user(session, "norole") is None


def test_a_bad_username_is_refused(admin_client, session):
    response = admin_client.post("/admin/users", data={"username": "no spaces!",
                                                       "role": "nurse"})

    assert response.status_code == 422
    assert 'id="e-username"' in response.text
    assert session.exec(select(func.count()).select_from(User)).one() == 1  # the admin


def test_resetting_a_password_shows_a_new_one_and_ends_the_users_sessions(
    admin_client, session, app
):
    nurse_browser = _other_browser(app)
    nurse = sign_in(nurse_browser, session, role="nurse")

    response = admin_client.post(f"/admin/users/{nurse.id}/password")

    assert response.status_code == 200
    password = _shown_password(response.text)
    assert session.exec(select(UserSession).where(UserSession.user_id == nurse.id)).all() == []
    assert nurse_browser.get("/").headers["location"].startswith("/login")
    assert login(_other_browser(app), nurse.username, PASSWORD).status_code == 401
    assert login(_other_browser(app), nurse.username, password).status_code == 303


def test_deactivating_a_user_logs_them_out_and_keeps_them_out(admin_client, session, app):
    nurse_browser = _other_browser(app)
    nurse = sign_in(nurse_browser, session, role="nurse")

    response = admin_client.post(f"/admin/users/{nurse.id}/active", data={"active": "no"})

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    assert _user(session, nurse.username).is_active is False
    assert nurse_browser.get("/").headers["location"].startswith("/login")
    assert login(_other_browser(app), nurse.username).status_code == 401
    assert shown("Deactivated") in admin_client.get("/admin/users").text

    admin_client.post(f"/admin/users/{nurse.id}/active", data={"active": "yes"})

    assert login(_other_browser(app), nurse.username).status_code == 303


def test_an_admin_cannot_deactivate_their_own_account(client, session):
    admin = sign_in(client, session, role="admin")

    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "no"})

    assert response.status_code == 400
    assert _user(session, admin.username).is_active is True


def test_acting_on_an_unknown_user_is_a_404(admin_client):
    assert admin_client.post("/admin/users/999999/password").status_code == 404


# --- the audit log ---------------------------------------------------------------------

class _AuditRows(HTMLParser):
    """(who, action, patient id) of each row of the audit table."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cells: list[str] | None = None
        self._in_body = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._cells = []
        elif tag == "td" and self._cells is not None:
            if "colspan" in dict(attrs):  # the "no events" row
                self._cells = None
                return
            self._cells.append("")
            self._in_cell = True

    def handle_data(self, data):
        if self._in_cell and self._cells is not None:
            self._cells[-1] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False
        elif tag == "tr" and self._cells is not None:
            self.rows.append([cell.strip() for cell in self._cells])
            self._cells = None
        elif tag == "tbody":
            self._in_body = False


def _audit(client: TestClient, **filters) -> list[tuple[str, str, str]]:
    """(who, action code, HN of the patient) of each row the audit log shows."""
    response = client.get("/admin/audit", params=filters)
    assert response.status_code == 200
    parser = _AuditRows()
    parser.feed(response.text)
    action_of = {words: code for code, words in action_labels().items()}
    return [(row[1], action_of[row[2]], (row[4].split() or [""])[0]) for row in parser.rows]


@pytest.fixture
def history(session: Session, app) -> dict:
    """A nurse opens two patients, one twice; someone fails to log in as 'ghost'."""
    first, second = make_patient(session), make_patient(session)
    browser = _other_browser(app)
    nurse = sign_in(browser, session, role="nurse")
    browser.get(f"/patients/{first.id}")
    browser.get(f"/patients/{second.id}")
    browser.get(f"/patients/{first.id}")
    audit.record(session, actor=Actor(user_id=None, username="anonymous"),
                 action=AuditAction.login_failed, entity_type="staff_user", detail="ghost")
    session.commit()
    return {"nurse": nurse.username, "first": first.id, "second": second.id,
            "first_hn": first.hn, "second_hn": second.hn}


def test_the_audit_log_filters_by_username(admin_client, history):
    rows = _audit(admin_client, username=history["nurse"].upper())

    assert {who for who, _action, _patient in rows} == {history["nurse"]}
    assert [action for _who, action, _patient in rows] == ["view", "view", "view"]


def test_the_audit_log_filters_by_action(admin_client, history):
    rows = _audit(admin_client, action="login_failed")

    assert rows == [("anonymous", "login_failed", "")]


def test_the_audit_log_filters_by_patient(admin_client, history):
    rows = _audit(admin_client, patient_id=str(history["first"]))

    assert rows
    assert {patient for _who, _action, patient in rows} == {history["first_hn"]}
    assert [action for _who, action, _patient in rows].count("view") == 2


def test_the_audit_log_combines_filters(admin_client, history):
    rows = _audit(admin_client, username=history["nurse"], action="view",
                  patient_id=str(history["second"]))

    assert rows == [(history["nurse"], "view", history["second_hn"])]


def test_the_audit_log_filters_by_day(admin_client, history, settings):
    today = datetime.now(UTC).astimezone(settings.tz).date()
    tomorrow = today + timedelta(days=1)

    assert _audit(admin_client, action="view", since=today.isoformat(),
                  until=today.isoformat())
    assert _audit(admin_client, action="view", since=tomorrow.isoformat()) == []


def test_an_unknown_action_filter_is_ignored_rather_than_an_error(admin_client, history):
    assert len(_audit(admin_client, action="drop table")) == len(_audit(admin_client))


def test_the_audit_rows_come_alone_for_htmx(admin_client, history):
    response = admin_client.get("/admin/audit", params={"action": "login_failed"},
                                headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="audit-rows"' in response.text


def test_audit_filters_that_cannot_be_read_are_left_out_and_shown_as_typed(
        admin_client, history):
    everything = _audit(admin_client)
    params = {"patient_id": "12a", "since": "2567-99-01", "page": "-3"}

    assert _audit(admin_client, **params) == everything
    page = admin_client.get("/admin/audit", params=params).text
    assert 'value="12a"' in page and 'value="2567-99-01"' in page
