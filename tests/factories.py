"""Typed factories for tests: real rows made through the services, not mocks."""

from __future__ import annotations

import functools
import itertools
import re

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session

from prm.audit.service import Actor
from prm.auth.deps import SESSION_COOKIE
from prm.auth.passwords import hash_password
from prm.auth.service import create_user, open_session
from prm.i18n import current_language, gettext, ngettext
from prm.models.patient import Patient
from prm.models.staff import Role, User
from prm.patients import service as patients
from prm.patients.forms import PatientForm
from prm.patients.identifiers import national_id_check_digit

PASSWORD = "test-password-123"
_sequence = itertools.count(1)
TEST_ACTOR = Actor(user_id=None, username="test")


def valid_national_id(n: int | None = None) -> str:
    first_twelve = f"1{(n if n is not None else next(_sequence)):011d}"
    return first_twelve + national_id_check_digit(first_twelve)


def make_user(session: Session, *, role: str = "nurse", username: str | None = None,
              password: str = PASSWORD) -> User:
    user = create_user(session, username=username or f"{role}{next(_sequence)}",
                       role=Role(role), password=password, full_name=f"Test {role}")
    session.commit()
    return user


def make_imported_patient(session: Session, **names: str) -> Patient:
    """A patient whose names came from the hospital's records, as they were written there:
    the registration form refuses characters no name has (markup, "%", "_"), an import
    does not, so search and escaping must still cope with them."""
    patient = make_patient(session)
    values = {**{key: getattr(patient, key) for key in (
        "given_name_th", "family_name_th", "given_name_en", "family_name_en")}, **names}
    for key, value in {**values, **patients.search_fields(values)}.items():
        setattr(patient, key, value)
    session.add(patient)
    session.commit()
    return patient


def _letters(n: int) -> str:
    """``n`` in letters (a name holds no digits): 0 → "a", 27 → "bb"."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[digit] + letters
        if n == 0:
            return letters


def make_patient(session: Session, **overrides) -> Patient:
    n = next(_sequence)
    values = {
        "given_name_th": "สมชาย", "family_name_th": f"ใจดี{_letters(n)}",
        "given_name_en": "Somchai", "family_name_en": f"Jaidee{_letters(n)}",
        "national_id": valid_national_id(n),
        "phone": f"08{n % 10}{n:07d}"[:10], "segment_code": "universal_coverage",
        "sex": "male", "birth_date": "1980-05-01", "sms_consent": True,
    }
    values.update(overrides)
    form = PatientForm(**{k: v for k, v in values.items() if k != "sms_consent"},
                       sms_consent=bool(values.get("sms_consent")))
    patient = patients.create_patient(session, form=form, actor=TEST_ACTOR)
    session.commit()
    return patient


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page hands out (and the cookie that goes with it)."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/login", data={
        "username": username, "password": password, "csrf_token": csrf_token(client),
        "next": "/",
    })


def login_as(client: TestClient, session: Session, *, role: str) -> User:
    user = make_user(session, role=role)
    response = login(client, user.username)
    assert response.status_code == 303, response.text
    # Subsequent unsafe requests send the token the way htmx does.
    client.headers["X-CSRF-Token"] = csrf_token(client, "/login")
    return user


@functools.cache
def password_hash(password: str = PASSWORD) -> str:
    """One argon2 hash per password per test process: hashing is slow on purpose."""
    return hash_password(password)


def make_staff(session: Session, *, role: str = "nurse", username: str | None = None,
               password: str = PASSWORD, language: str = "th") -> User:
    """A staff account like make_user's, without paying for a fresh password hash."""
    user = User(username=username or f"{role}{next(_sequence)}", role=Role(role),
                password_hash=password_hash(password), full_name=f"Test {role}",
                language=language)
    session.add(user)
    session.commit()
    return user


def sign_in(client: TestClient, session: Session, *, role: str) -> User:
    """A browser logged in as a new ``role`` user (any role, admins included).

    Opens the session row through the auth service instead of posting the login form:
    the password check is slow by design and tests/test_auth.py covers the form.
    """
    user = make_staff(session, role=role)
    token, _row = open_session(session, user=user, settings=client.app.state.settings)
    session.commit()
    client.cookies.set(SESSION_COOKIE, token)
    # Subsequent unsafe requests send the token the way htmx does.
    client.headers["X-CSRF-Token"] = csrf_token(client, "/login")
    return user


def shown(message: str, language: str = "th", **params) -> str:
    """``message`` as a page in ``language`` shows it (translated, HTML-escaped)."""
    token = current_language.set(language)
    try:
        return str(escape(gettext(message, **params)))
    finally:
        current_language.reset(token)


def shown_plural(singular: str, plural: str, n: int, language: str = "th") -> str:
    """An ``ngettext`` message as a page in ``language`` shows it for ``n``."""
    token = current_language.set(language)
    try:
        return str(escape(ngettext(singular, plural, n)))
    finally:
        current_language.reset(token)
