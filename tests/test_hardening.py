"""What holds against a careless user or an attacker before any route runs: request body
limits, CSRF tokens bound to the login session, the 500 page, production transport."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import func, select

from prm.app import create_app
from prm.config import Settings
from prm.db import SessionDep
from prm.models.contact import ContactLog
from prm.models.staff import User
from prm.web.middleware import DEFAULT_BODY_LIMIT
from tests.factories import PASSWORD, csrf_token, make_patient, make_staff, sign_in

CONTACT = {"channel": "phone_out", "direction": "outbound", "reason": "follow_up",
           "outcome": "reached", "note": "called back"}


def _contacts(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(ContactLog)).one()


# --- request bodies ----------------------------------------------------------------------

def test_a_body_over_the_limit_is_refused_with_413_before_any_login_check(client, session):
    response = client.post("/login", content=b"a" * (DEFAULT_BODY_LIMIT + 1),
                           headers={"content-type": "application/x-www-form-urlencoded"})

    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY"


def test_a_body_sent_without_a_length_is_counted_as_it_arrives(nurse_client, session):
    patient = make_patient(session)

    def chunks():
        yield b"channel=phone_out&note="
        for _ in range(DEFAULT_BODY_LIMIT // 1024 + 1):
            yield b"x" * 1024

    response = nurse_client.post(
        f"/patients/{patient.id}/contacts", content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"})

    assert response.status_code == 413
    assert _contacts(session) == 0


def test_a_body_that_lies_about_its_length_is_refused(client):
    response = client.post("/login", content=b"a=1",
                           headers={"content-length": "-1",
                                    "content-type": "application/x-www-form-urlencoded"})

    assert response.status_code in (400, 413)


def test_a_body_within_the_limit_is_read_as_before(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/contacts",
                                 data={**CONTACT, "note": "ก" * 2000})

    assert response.status_code == 303
    assert _contacts(session) == 1


# --- CSRF tokens bound to the session ------------------------------------------------------

def test_another_users_token_is_refused_even_with_their_cookie(app, session):
    patient = make_patient(session)
    with TestClient(app, follow_redirects=False) as mallory, \
            TestClient(app, follow_redirects=False) as alice:
        sign_in(mallory, session, role="nurse")
        sign_in(alice, session, role="nurse")
        # Mallory's own pair: her CSRF cookie and the token her page handed out.
        alice.cookies.set("prm_csrf", mallory.cookies.get("prm_csrf") or "")
        alice.headers["X-CSRF-Token"] = mallory.headers["X-CSRF-Token"]

        response = alice.post(f"/patients/{patient.id}/contacts", data=CONTACT)

    assert response.status_code == 403
    assert _contacts(session) == 0


def test_the_token_from_before_login_stops_working_at_login(client, session):
    user = make_staff(session)
    before = csrf_token(client)
    assert client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": before}).status_code == 303
    patient = make_patient(session)

    stale = client.post(f"/patients/{patient.id}/contacts",
                        data={**CONTACT, "csrf_token": before})
    fresh = client.post(f"/patients/{patient.id}/contacts",
                        data={**CONTACT, "csrf_token": csrf_token(client, "/")})

    assert stale.status_code == 403
    assert fresh.status_code == 303
    assert _contacts(session) == 1


def test_the_token_works_in_a_multipart_form(nurse_client, session):
    patient = make_patient(session)
    token = nurse_client.headers.pop("X-CSRF-Token")

    response = nurse_client.post(f"/patients/{patient.id}/contacts",
                                 data={**CONTACT, "csrf_token": token},
                                 files={"attachment": ("a.txt", b"hello", "text/plain")})

    assert response.status_code == 303
    assert _contacts(session) == 1


def test_the_page_carries_the_token_as_json_a_quote_cannot_break(nurse_client):
    page = nurse_client.get("/").text

    attribute = re.search(r"<body hx-headers='([^']*)'", page)
    assert attribute, "the htmx header attribute is single-quoted JSON"
    token = nurse_client.headers["X-CSRF-Token"]
    assert attribute.group(1) == '{"X-CSRF-Token": "' + token + '"}'


# --- the 500 page ------------------------------------------------------------------------

@pytest.fixture
def failing_client(app, session):
    def fail():
        raise RuntimeError("a bug")

    app.add_api_route("/test-failure", fail)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield client


def test_the_500_page_carries_the_security_headers_and_no_user_or_token(failing_client,
                                                                        session):
    user = sign_in(failing_client, session, role="nurse")
    token = failing_client.headers["X-CSRF-Token"]

    response = failing_client.get("/test-failure")

    assert response.status_code == 500
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options",
                   "x-request-id"):
        assert response.headers[header], header
    assert response.headers["cache-control"] == "no-store"
    assert user.username not in response.text
    assert user.full_name not in response.text
    assert token not in response.text
    assert "<h1>" in response.text  # a page, in the staff's language, not a stack trace


def _save_then_fail(db: SessionDep):
    db.execute(text("SELECT 1"))
    db.commit()
    raise RuntimeError("a bug while showing what was saved")


@pytest.fixture
def failing_after_commit(app, session):
    app.add_api_route("/test-saved-then-failure", _save_then_fail, methods=["POST"])
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        sign_in(client, session, role="nurse")
        yield client


def test_an_error_after_a_commit_never_says_nothing_was_saved(failing_after_commit):
    plain = failing_after_commit.post("/test-saved-then-failure",
                                      headers={"referer": "http://testserver/appointments"})
    htmx = failing_after_commit.post("/test-saved-then-failure", headers={"HX-Request": "true"})
    off_site = failing_after_commit.post("/test-saved-then-failure",
                                         headers={"referer": "http://testserver//evil.example"})

    assert (plain.status_code, plain.headers["location"]) == (303, "/appointments")
    assert (htmx.status_code, htmx.headers["hx-refresh"]) == (204, "true")
    assert off_site.headers["location"] == "/"


def test_static_files_get_the_headers_that_apply_to_files(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["cross-origin-resource-policy"] == "same-origin"
    assert "no-store" not in response.headers.get("cache-control", "")


# --- production transport ----------------------------------------------------------------

def test_production_turns_secure_cookies_and_hsts_on(settings, session):
    production = Settings(**{**settings.model_dump(), "environment": "production",
                             "cookie_secure": False})
    assert production.cookie_secure
    app = create_app(production, embedded_worker=False)
    user = make_staff(session)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as browser:
        login_page = browser.get("/login")
        token = csrf_token(browser)
        logged_in = browser.post("/login", data={
            "username": user.username, "password": PASSWORD, "csrf_token": token})
        switched = browser.post("/language", data={
            "language": "en", "next": "/", "csrf_token": csrf_token(browser, "/")})
    app.state.engine.dispose()

    cookies = [header for response in (login_page, logged_in, switched)
               for header in response.headers.get_list("set-cookie")]
    assert {cookie.split("=")[0] for cookie in cookies} >= {"prm_csrf", "prm_session",
                                                           "prm_lang"}
    assert all("secure" in cookie.lower() for cookie in cookies), cookies
    assert logged_in.headers["strict-transport-security"].startswith("max-age=")


# --- addresses to go back to -------------------------------------------------------------

def test_a_thai_address_to_go_back_to_is_kept_encoded_never_a_500(client, session):
    user = make_staff(session)
    thai = "/patients?q=สมชาย"
    token = csrf_token(client)

    switched = client.post("/language", data={"language": "en", "next": thai,
                                              "csrf_token": token})
    logged_in = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                            "next": thai, "csrf_token": token})

    encoded = "/patients?q=%E0%B8%AA%E0%B8%A1%E0%B8%8A%E0%B8%B2%E0%B8%A2"
    assert (switched.status_code, switched.headers["location"]) == (303, encoded)
    assert (logged_in.status_code, logged_in.headers["location"]) == (303, encoded)


@pytest.mark.parametrize("language", ["zz", "ภาษา", "en\r\nX: y"])
def test_an_account_saved_with_a_language_prm_does_not_speak_still_logs_in(
    client, session, language
):
    user = make_staff(session, language=language)
    token = csrf_token(client)

    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": token})

    assert response.status_code == 303
    assert "prm_lang=th;" in " ".join(response.headers.get_list("set-cookie"))
    assert client.get("/").status_code == 200


def test_an_admin_cannot_give_an_account_a_language_prm_does_not_speak(client, session):
    sign_in(client, session, role="admin")

    response = client.post("/admin/users", data={"username": "newnurse", "full_name": "New",
                                                 "role": "nurse", "language": "zz"})

    assert response.status_code == 422
    assert "newnurse" not in {u.username for u in session.exec(select(User)).all()}
