"""Who may reach what, forged and replayed forms, escaping, headers and cookies."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlmodel import Session

from prm.app import create_app
from prm.config import Settings
from prm.db import metadata
from prm.models.contact import ContactLog
from prm.models.patient import Coverage
from tests.factories import (
    PASSWORD,
    csrf_token,
    make_imported_patient,
    make_patient,
    make_staff,
    sign_in,
)
from tests.routes import served_routes

# DESIGN §4: reachable without logging in. /logout is not here: it needs a session.
PUBLIC_PATHS = {"/login", "/language", "/healthz", "/feedback"}
PUBLIC_PREFIXES = ("/static", "/webhooks/", "/s/", "/fhir/subscription")


def _route_table() -> list[tuple[str, str]]:
    """(method, path template) of every protected route, read from the app itself."""
    app = create_app(Settings(database_url="sqlite://", environment="test",
                              embedded_worker=False), embedded_worker=False)
    found = set()
    for path, methods, _route in served_routes(app):
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            continue
        for method in methods - {"HEAD"}:
            found.add((method, path))
    app.state.engine.dispose()
    return sorted(found)


PROTECTED_ROUTES = _route_table()


@pytest.fixture
def nurse_client(client, session) -> TestClient:
    """Overrides conftest's: signed in through the session service, no password round trip."""
    sign_in(client, session, role="nurse")
    return client


def _fill(template: str, ids: dict[str, int]) -> str:
    """A real path for a route template; unknown ids get 1 (the login check comes first)."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(ids.get(m.group(1), 1)), template)


def _same_site(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//")


def _row_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables}


def _ids(session: Session) -> dict[str, int]:
    patient = make_patient(session)
    coverage = session.exec(select(Coverage).where(Coverage.patient_id == patient.id)).first()
    return {"patient_id": patient.id, "coverage_id": coverage[0].id,
            "user_id": make_staff(session, role="nurse").id}


# Form fields that would make any of the routes act, were the request let through.
ACTING_FORM = {
    "text": "anonymous note", "channel": "phone_out", "reason": "other", "outcome": "answered",
    "note": "anonymous", "given_name_th": "ทดสอบ", "family_name_th": "นิรนาม",
    "segment_code": "self_pay", "username": "intruder", "role": "admin", "active": "no",
    "consent": "no", "source": "anonymous",
}


def test_the_route_table_sees_the_patient_and_admin_routes():
    assert ("GET", "/patients/{patient_id}") in PROTECTED_ROUTES
    assert ("POST", "/patients/{patient_id}/contacts") in PROTECTED_ROUTES
    assert ("GET", "/admin/audit") in PROTECTED_ROUTES
    assert ("POST", "/logout") in PROTECTED_ROUTES
    assert not any(path == "/login" for _method, path in PROTECTED_ROUTES)


def test_it_sends_anonymous_visitors_to_the_login_page_from_every_protected_route(
    client, session
):
    """Every route the app serves, bar the public ones: new routes are checked unasked."""
    ids = _ids(session)
    token = csrf_token(client)  # a valid token: only the missing login may stop a POST
    wrong = []
    for method, template in PROTECTED_ROUTES:
        path = _fill(template, ids)
        before = _row_counts(session)
        if method == "GET":
            response = client.get(path)
        else:
            response = client.request(method, path, data={**ACTING_FORM, "csrf_token": token})
        location = urlparse(response.headers.get("location", ""))
        back_to = unquote(parse_qs(location.query).get("next", [""])[0])
        if (response.status_code, location.path) != (303, "/login"):
            wrong.append(f"{method} {path}: {response.status_code} {location.path}")
        elif not _same_site(back_to) or (method == "GET" and back_to != path):
            wrong.append(f"{method} {path}: next={back_to!r}")  # GETs come back to themselves
        elif _row_counts(session) != before:
            wrong.append(f"{method} {path}: changed the database")
    assert wrong == []


def test_it_sends_anonymous_htmx_requests_to_the_login_page_with_hx_redirect(client, session):
    patient = make_patient(session)

    response = client.get(f"/patients/{patient.id}/timeline", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_it_keeps_the_query_string_in_the_next_address(client):
    response = client.get("/patients?q=somchai")

    assert response.headers["location"] == "/login?next=%2Fpatients%3Fq%3Dsomchai"


# --- the role matrix -------------------------------------------------------------------

# What each role may do, written out from DESIGN §4 rather than read from permissions.py.
GRANTS = {
    "front_desk": {"patient_view", "patient_edit", "contact_log", "appointments"},
    "nurse": {"patient_view", "patient_edit", "contact_log", "appointments"},
    "quality": {"patient_view", "segments_view"},
    "admin": {"users_manage", "audit_view", "segments_view", "integration_manage"},
}
# (method, path, the permission it needs; None = any logged-in member of staff)
ROUTE_PERMISSIONS = [
    ("GET", "/", None),
    ("GET", "/patients?q=somchai", "patient_view"),
    ("GET", "/patients/suggest?q=somchai", "patient_view"),
    ("GET", "/patients/{patient_id}", "patient_view"),
    ("GET", "/patients/{patient_id}/timeline", "patient_view"),
    ("GET", "/patients/new", "patient_edit"),
    ("POST", "/patients", "patient_edit"),
    ("GET", "/patients/{patient_id}/edit", "patient_edit"),
    ("POST", "/patients/{patient_id}", "patient_edit"),
    ("POST", "/patients/{patient_id}/consent", "patient_edit"),
    ("POST", "/patients/{patient_id}/coverages", "patient_edit"),
    ("POST", "/patients/{patient_id}/coverages/{coverage_id}/end", "patient_edit"),
    ("POST", "/patients/{patient_id}/contacts", "contact_log"),
    ("POST", "/patients/{patient_id}/notes", "contact_log"),
    ("GET", "/appointments/slots", "appointments"),
    ("GET", "/segments", "segments_view"),
    ("GET", "/admin", "users_manage"),
    ("GET", "/admin/users", "users_manage"),
    ("POST", "/admin/users", "users_manage"),
    ("POST", "/admin/users/{user_id}/password", "users_manage"),
    ("POST", "/admin/users/{user_id}/active", "users_manage"),
    ("GET", "/admin/audit", "audit_view"),
    ("GET", "/admin/fhir", "integration_manage"),
    ("GET", "/admin/fhir/quarantine/{row_id}", "integration_manage"),
    ("POST", "/admin/fhir/quarantine/retry", "integration_manage"),
    ("POST", "/admin/fhir/quarantine/{row_id}/retry", "integration_manage"),
    ("POST", "/admin/fhir/quarantine/{row_id}/dismiss", "integration_manage"),
    ("POST", "/admin/fhir/rules", "integration_manage"),
    ("POST", "/admin/fhir/rules/{rule_id}/active", "integration_manage"),
]
ROLE_MATRIX = {
    role: [(method, path, "allowed" if needs is None or needs in GRANTS[role] else "forbidden")
           for method, path, needs in ROUTE_PERMISSIONS]
    for role in GRANTS
}


@pytest.mark.parametrize("role", list(ROLE_MATRIX))
def test_each_role_gets_403_on_what_it_may_not_do(client, session, role):
    """One login per role (password hashing is slow by design), then the whole table."""
    sign_in(client, session, role=role)
    ids = _ids(session)
    wrong = []
    # Forbidden requests first: the allowed ones may change the rows the others use.
    for method, path, expected in sorted(ROLE_MATRIX[role], key=lambda row: row[2] != "forbidden"):
        before = _row_counts(session)
        response = client.request(method, _fill(path, ids),
                                  data=ACTING_FORM if method == "POST" else None)
        if expected == "forbidden":
            counts = _row_counts(session)
            grew_only_audit = (counts.pop("audit_event") >= before.pop("audit_event")
                               and counts == before)
            if response.status_code != 403 or not grew_only_audit:
                wrong.append(f"{method} {path}: {response.status_code}, expected 403")
        elif response.status_code in (401, 403) or response.headers.get(
            "location", ""
        ).startswith("/login"):
            wrong.append(f"{method} {path}: {response.status_code}, expected it to be allowed")
    assert wrong == [], f"{role}: " + "; ".join(wrong)


def test_the_role_matrix_matches_the_routes_the_app_serves():
    served = {(method, path) for method, path in PROTECTED_ROUTES}
    for method, path, _needs in ROUTE_PERMISSIONS:
        assert (method, path.split("?")[0]) in served


# --- CSRF ------------------------------------------------------------------------------

CONTACT = {"channel": "phone_out", "reason": "appointment", "outcome": "answered",
           "note": "called about the appointment"}


def _contacts(session: Session) -> int:
    return session.exec(select(func.count()).select_from(ContactLog)).one()[0]


def test_it_refuses_a_post_without_csrf_token_and_saves_nothing(nurse_client, session):
    patient = make_patient(session)
    del nurse_client.headers["X-CSRF-Token"]

    response = nurse_client.post(f"/patients/{patient.id}/contacts", data=CONTACT)

    assert response.status_code == 403
    assert _contacts(session) == 0


def test_it_refuses_a_post_with_a_wrong_csrf_token(nurse_client, session):
    patient = make_patient(session)
    del nurse_client.headers["X-CSRF-Token"]

    in_form = nurse_client.post(f"/patients/{patient.id}/contacts",
                                data={**CONTACT, "csrf_token": "forged"})
    in_header = nurse_client.post(f"/patients/{patient.id}/contacts", data=CONTACT,
                                  headers={"X-CSRF-Token": "forged"})

    assert in_form.status_code == 403
    assert in_header.status_code == 403
    assert _contacts(session) == 0


def test_it_refuses_a_token_without_its_cookie(client, session):
    """The token must match the cookie: a token copied into another browser is worthless."""
    token = csrf_token(client)
    client.cookies.clear()
    make_staff(session, username="victim")

    response = client.post("/login", data={"username": "victim", "password": "x",
                                           "csrf_token": token})

    assert response.status_code == 403


def test_it_accepts_the_csrf_token_in_the_htmx_header(nurse_client, session):
    patient = make_patient(session)
    assert nurse_client.headers["X-CSRF-Token"]

    response = nurse_client.post(f"/patients/{patient.id}/contacts", data=CONTACT,
                                 headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/patients/{patient.id}"
    assert _contacts(session) == 1


def test_it_accepts_the_csrf_token_as_a_form_field(nurse_client, session):
    patient = make_patient(session)
    token = nurse_client.headers.pop("X-CSRF-Token")

    response = nurse_client.post(f"/patients/{patient.id}/contacts",
                                 data={**CONTACT, "csrf_token": token})

    assert response.status_code == 303
    assert _contacts(session) == 1


def test_it_refuses_a_login_post_without_csrf_token(client, session):
    make_staff(session, username="victim")

    response = client.post("/login", data={"username": "victim", "password": "whatever"})

    assert response.status_code == 403


# --- escaping --------------------------------------------------------------------------

PAYLOAD = '<script>alert("pwned")</script>'


def test_it_escapes_what_staff_typed_on_the_patient_page(nurse_client, session):
    refused = nurse_client.post("/patients", data={
        "given_name_th": PAYLOAD, "family_name_th": "ใจดี", "given_name_en": PAYLOAD,
        "family_name_en": "Jaidee", "segment_code": "self_pay", "sex": "female",
    })
    assert refused.status_code == 422  # no name holds markup
    assert PAYLOAD not in refused.text and str(escape(PAYLOAD)) in refused.text
    # The hospital's records may still bring one: it is shown, escaped, everywhere.
    patient = make_imported_patient(session, given_name_th=PAYLOAD, family_name_en="Jaidee",
                                    given_name_en=PAYLOAD)
    page = f"/patients/{patient.id}"
    assert nurse_client.post(f"{page}/notes", data={"text": PAYLOAD}).status_code == 303
    assert nurse_client.post(f"{page}/contacts",
                             data={**CONTACT, "note": PAYLOAD}).status_code == 303

    for path in (page, f"{page}?group=notes", f"{page}/edit", "/patients?q=jaidee"):
        html = nurse_client.get(path).text
        assert PAYLOAD not in html, path
        assert str(escape(PAYLOAD)) in html, path
    timeline = nurse_client.get(f"{page}/timeline", headers={"HX-Request": "true"}).text
    assert PAYLOAD not in timeline
    assert timeline.count(str(escape(PAYLOAD))) == 2  # the note and the contact note


def test_it_escapes_the_search_text_echoed_back(nurse_client, session):
    html = nurse_client.get("/patients", params={"q": PAYLOAD}).text
    suggest = nurse_client.get("/patients/suggest", params={"q": PAYLOAD}).text

    assert PAYLOAD not in html
    assert PAYLOAD not in suggest


# --- headers and cookies ---------------------------------------------------------------

def _directives(csp: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in csp.split(";") if d.strip())
    return {words[0]: words[1:] for words in parts}


def test_every_page_carries_the_security_headers(client):
    for path in ["/login", "/healthz", "/no-such-page", "/patients"]:
        response = client.get(path)

        csp = _directives(response.headers["content-security-policy"])
        assert "'unsafe-inline'" not in csp["script-src"], path
        assert "'unsafe-eval'" not in csp["script-src"], path
        assert csp["frame-ancestors"] == ["'none'"], path
        assert csp["object-src"] == ["'none'"], path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path


def test_the_forged_form_refusal_carries_the_security_headers_too(client):
    response = client.post("/login", data={"username": "x", "password": "y"})

    assert response.status_code == 403
    assert response.headers["x-frame-options"] == "DENY"


def _set_cookie(response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie set")


def test_the_session_cookie_is_httponly_and_samesite(client, session):
    user = make_staff(session)
    token = csrf_token(client)

    response = client.post("/login", data={"username": user.username,
                                           "password": PASSWORD,
                                           "csrf_token": token})

    assert response.status_code == 303
    cookie = _set_cookie(response, "prm_session").lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie or "samesite=strict" in cookie
    assert "path=/" in cookie


def test_the_csrf_cookie_is_httponly_and_strict(client):
    cookie = _set_cookie(client.get("/login"), "prm_csrf").lower()

    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_the_session_cookie_is_secure_when_configured(settings, session):
    app = create_app(settings.model_copy(update={"cookie_secure": True}),
                     embedded_worker=False)
    user = make_staff(session)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure_client:
        token = csrf_token(secure_client)
        response = secure_client.post("/login", data={
            "username": user.username, "password": PASSWORD, "csrf_token": token})
    app.state.engine.dispose()

    assert "secure" in _set_cookie(response, "prm_session").lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


# --- open redirects --------------------------------------------------------------------

OFF_SITE = [
    "//evil.example",
    "//evil.example/patients",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
]


def test_it_never_redirects_off_site_after_login(client, session):
    user = make_staff(session)
    for target in ["//evil.example", "/\\evil.example"]:
        response = client.post("/login", data={"username": user.username,
                                               "password": PASSWORD,
                                               "csrf_token": csrf_token(client),
                                               "next": target})

        assert response.status_code == 303, target
        assert response.headers["location"] == "/", target


def test_the_login_form_does_not_carry_an_off_site_next(client):
    for target in OFF_SITE:
        html = client.get("/login", params={"next": target}).text

        assert 'name="next" value="/"' in html, repr(target)


def test_it_returns_to_the_page_asked_for_after_login(client, session):
    user = make_staff(session)
    token = csrf_token(client)

    response = client.post("/login", data={"username": user.username,
                                           "password": PASSWORD,
                                           "csrf_token": token,
                                           "next": "/patients?q=somchai"})

    assert response.headers["location"] == "/patients?q=somchai"
