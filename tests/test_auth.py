"""Logging in and out, and when a session ends (throttling: tests/test_login_throttle.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session, select

from prm.auth import service
from prm.errors import ValidationFailed
from prm.i18n import current_language, gettext
from prm.models.audit import AuditAction, AuditEvent
from prm.models.staff import User, UserSession
from prm.models.types import utcnow
from tests.factories import csrf_token, login, make_staff, make_user, sign_in


def shown(message: str, language: str = "th", **params) -> str:
    """``message`` as a page in ``language`` shows it (translated, HTML-escaped)."""
    token = current_language.set(language)
    try:
        return str(escape(gettext(message, **params)))
    finally:
        current_language.reset(token)


def _sessions_of(session: Session, user: User) -> list[UserSession]:
    session.expire_all()
    return list(session.exec(select(UserSession).where(UserSession.user_id == user.id)))


def _logged_in(client: TestClient, session: Session) -> User:
    """Signed in through the session service: these tests are about what ends a session."""
    return sign_in(client, session, role="nurse")


def _still_logged_in(client: TestClient) -> bool:
    response = client.get("/")
    return not response.headers.get("location", "").startswith("/login")


def test_it_logs_in_and_sets_a_session_cookie(client, session):
    user = make_staff(session, role="nurse")

    response = login(client, user.username)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.cookies.get("prm_session")
    home = client.get("/")
    assert home.status_code == 200
    assert "Test nurse" in home.text
    assert len(_sessions_of(session, user)) == 1
    event = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.login)).one()
    assert event.user_id == user.id


def test_it_stores_only_a_hash_of_the_session_token(client, session):
    user = _logged_in(client, session)

    [row] = _sessions_of(session, user)

    assert client.cookies.get("prm_session") not in row.token_hash


def test_it_refuses_a_wrong_password_with_a_message_and_an_audit_row(client, session):
    user = make_staff(session)

    response = login(client, user.username, "not-the-password")

    assert response.status_code == 401
    assert shown("Wrong username or password.") in response.text
    assert f'value="{user.username}"' in response.text  # the username stays typed
    assert not client.cookies.get("prm_session")
    failed = session.exec(
        select(AuditEvent).where(AuditEvent.action == AuditAction.login_failed)).one()
    assert failed.detail == user.username
    assert failed.user_id is None


def test_it_gives_an_unknown_username_the_same_answer_as_a_wrong_password(client, session):
    response = login(client, "nobody-here", "whatever-password")

    assert response.status_code == 401
    assert shown("Wrong username or password.") in response.text


def test_logout_ends_the_session_and_the_old_cookie_stops_working(client, session, app):
    user = _logged_in(client, session)
    replay = TestClient(app, follow_redirects=False)
    replay.cookies.set("prm_session", client.cookies.get("prm_session"))
    assert replay.get("/").status_code == 200  # a copy of the cookie works, for now

    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert _sessions_of(session, user) == []
    assert replay.get("/").headers["location"].startswith("/login")
    assert session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.logout)).one()


def test_an_idle_session_expires(client, session, settings):
    user = _logged_in(client, session)
    [row] = _sessions_of(session, user)
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
    session.add(row)
    session.commit()

    assert not _still_logged_in(client)


def test_an_active_session_is_kept_alive(client, session, settings):
    user = _logged_in(client, session)
    [row] = _sessions_of(session, user)
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes - 5)
    session.add(row)
    session.commit()

    assert _still_logged_in(client)
    [row] = _sessions_of(session, user)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_a_session_seen_within_the_last_minute_is_not_written_again(client, session):
    user = _logged_in(client, session)
    [row] = _sessions_of(session, user)
    seen = utcnow() - timedelta(seconds=30)
    row.last_seen_at = seen
    session.add(row)
    session.commit()

    assert _still_logged_in(client)
    [row] = _sessions_of(session, user)
    assert row.last_seen_at == seen  # a page view is not a write; idle expiry is to the minute


def test_a_session_ends_at_its_absolute_limit_even_when_busy(client, session, settings):
    user = _logged_in(client, session)
    [row] = _sessions_of(session, user)
    assert row.expires_at - row.created_at == timedelta(hours=settings.session_absolute_hours)
    row.expires_at = utcnow() - timedelta(seconds=1)
    row.last_seen_at = utcnow()
    session.add(row)
    session.commit()

    assert not _still_logged_in(client)


def test_a_deactivated_user_cannot_use_an_existing_session(client, session):
    user = _logged_in(client, session)
    user.is_active = False  # flipped directly: the session row is still there
    session.add(user)
    session.commit()

    assert len(_sessions_of(session, user)) == 1
    assert not _still_logged_in(client)


def test_deactivating_a_user_deletes_their_sessions(client, session):
    user = _logged_in(client, session)

    service.set_active(session, user=user, active=False)
    session.commit()

    assert _sessions_of(session, user) == []
    assert not _still_logged_in(client)


def test_a_deactivated_user_cannot_log_in(client, session):
    user = make_staff(session)
    service.set_active(session, user=user, active=False)
    session.commit()

    response = login(client, user.username)

    assert response.status_code == 401


def test_setting_a_password_ends_every_session(client, session):
    user = _logged_in(client, session)

    service.set_password(session, user=user, password="a-brand-new-password")
    session.commit()

    assert _sessions_of(session, user) == []
    assert not _still_logged_in(client)
    assert login(client, user.username, "a-brand-new-password").status_code == 303


def test_it_stores_argon2_hashes_not_passwords(session):
    user = make_user(session, password="correct-horse-battery")

    session.expire_all()
    stored = session.get(User, user.id).password_hash

    assert stored.startswith("$argon2")
    assert "correct-horse-battery" not in stored


def test_it_rejects_short_passwords(session):
    user = make_staff(session)

    with pytest.raises(ValidationFailed) as refused:
        service.set_password(session, user=user, password="short")

    assert "password" in refused.value.field_errors


def test_the_login_page_hands_out_a_csrf_token(client):
    assert csrf_token(client)


def test_a_form_posted_after_the_session_ended_returns_to_its_page_after_login(client):
    token = csrf_token(client)
    response = client.post(
        "/patients/7/contacts", data={"csrf_token": token, "channel": "phone_in"},
        headers={"Referer": "http://testserver/patients/7?group=contacts"},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fpatients%2F7"


def test_a_foreign_referer_is_not_used_as_the_page_to_return_to(client):
    token = csrf_token(client)
    response = client.post("/patients/7/contacts", data={"csrf_token": token},
                           headers={"Referer": "https://evil.example/patients/7"})

    assert response.headers["location"] == "/login?next=%2F"
