"""Failed logins tell nobody which accounts exist, and let no stranger lock staff out
(prm.auth.throttle): counters per address and per account and address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from prm.auth import passwords, service, throttle
from prm.i18n import current_language
from prm.models.staff import LoginThrottle
from prm.models.types import utcnow
from tests.factories import PASSWORD, login, make_staff, shown_plural

STRANGER, WARD = "10.0.0.66", "10.1.2.3"


def _browser(app, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def _comparable(response, username: str) -> str:
    """The page as any two refusals must share it: without the CSRF token (random per
    browser) and the typed username (kept in the form)."""
    [token] = set(re.findall(r'name="csrf_token" value="([^"]+)"', response.text))
    return response.text.replace(token, "TOKEN").replace(f'value="{username}"', 'value=""')


def test_known_and_unknown_usernames_get_the_same_answers_failure_after_failure(
        app, session):
    nurse = make_staff(session)
    known, unknown = _browser(app, "10.0.0.1"), _browser(app, "10.0.0.2")
    statuses = {}

    for attempt in range(1, 21):
        one = login(known, nurse.username, "wrong-password")
        other = login(unknown, "nobody-here", "wrong-password")

        assert one.status_code == other.status_code, attempt
        assert (_comparable(one, nurse.username)
                == _comparable(other, "nobody-here")), attempt
        statuses[attempt] = one.status_code
    assert (statuses[1], statuses[5], statuses[20]) == (401, 429, 429)


def test_a_deactivated_account_is_answered_like_an_unknown_one(app, session):
    nurse = make_staff(session)
    service.set_active(session, user=nurse, active=False)
    session.commit()

    one = login(_browser(app, "10.0.0.1"), nurse.username, PASSWORD)  # the right password
    other = login(_browser(app, "10.0.0.2"), "nobody-here", PASSWORD)

    assert one.status_code == other.status_code == 401
    assert _comparable(one, nurse.username) == _comparable(other, "nobody-here")


def test_a_stranger_hammering_an_account_locks_out_only_themselves(app, session, settings):
    nurse = make_staff(session)
    stranger = _browser(app, STRANGER)
    for _attempt in range(settings.login_max_failures - 1):
        assert login(stranger, nurse.username, "guess").status_code == 401
    assert login(stranger, nurse.username, "guess").status_code == 429

    assert login(stranger, nurse.username, PASSWORD).status_code == 429  # even if right
    response = login(_browser(app, WARD), nurse.username, PASSWORD)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_an_address_failing_across_many_usernames_is_throttled_for_every_one(
        app, session, settings):
    nurse = make_staff(session)
    stranger = _browser(app, STRANGER)
    answers = [login(stranger, f"ward{n}.nurse", "guess").status_code
               for n in range(settings.login_address_max_failures)]

    assert answers[:-1] == [401] * (settings.login_address_max_failures - 1)
    assert answers[-1] == 429
    refused = login(stranger, nurse.username, PASSWORD)
    assert refused.status_code == 429
    minutes = round(settings.login_address_block_seconds / 60)
    assert shown_plural("Too many failed attempts from this computer. Try again in %(num)s "
                        "minute.",
                        "Too many failed attempts from this computer. Try again in %(num)s "
                        "minutes.", minutes) in refused.text  # not counted while blocked
    assert "(s)" not in refused.text
    assert login(_browser(app, WARD), nurse.username, PASSWORD).status_code == 303


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every password check authenticate makes, and every argon2 verification behind it."""
    calls: list[str] = []
    check, hasher = service.verify_password, passwords._hasher

    def counting_check(password_hash, password):
        calls.append("check")
        return check(password_hash, password)

    class CountingHasher:
        def verify(self, password_hash, password):
            calls.append("argon2")
            return hasher.verify(password_hash, password)

    monkeypatch.setattr(service, "verify_password", counting_check)
    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    return calls


def test_every_attempt_checks_a_password_hash_whatever_the_account(
        session, settings, counted):
    settings = settings.model_copy(update={"login_max_failures": 2})
    nurse, gone = make_staff(session), make_staff(session)
    service.set_active(session, user=gone, active=False)
    now = utcnow()

    def attempt(username: str, password: str):
        return service.authenticate(session, username=username, password=password,
                                    address=STRANGER, settings=settings, now=now)

    attempts = [attempt("nobody-here", "guess"), attempt(gone.username, PASSWORD),
                attempt(nurse.username, "guess"), attempt(nurse.username, "guess"),
                attempt(nurse.username, PASSWORD)]  # locked: checked all the same

    assert [result.user for result in attempts] == [None] * 5
    assert attempts[-1].locked_seconds > 0
    assert counted == ["check", "argon2"] * 5


def test_the_block_expires_and_each_further_failure_doubles_it(session, settings):
    settings = settings.model_copy(update={"login_max_failures": 2})  # fewer slow hashes
    nurse = make_staff(session)
    block = settings.login_lockout_seconds
    start = utcnow()

    def attempt(password: str, at):
        return service.authenticate(session, username=nurse.username, password=password,
                                    address=STRANGER, settings=settings, now=at)

    assert attempt("wrong", start).locked_seconds == 0
    assert 0 < attempt("wrong", start).locked_seconds <= block + 1  # the last straw
    half_way = attempt(PASSWORD, start + timedelta(seconds=block / 2))
    assert half_way.user is None
    after = start + timedelta(seconds=block + 1)  # the first block is over...
    assert attempt("wrong", after).locked_seconds > block * 2 - 1  # ...and it doubles
    later = after + timedelta(seconds=block * 2 + 1)
    assert attempt(PASSWORD, later).user == nurse


def test_the_block_never_exceeds_the_cap(session, settings):
    nurse = make_staff(session)
    keys = throttle.keys_for(username=nurse.username, address=STRANGER, settings=settings)
    session.add(LoginThrottle(key=keys.pair, failures=40, window_started_at=utcnow()))
    session.commit()

    result = service.authenticate(session, username=nurse.username, password="wrong",
                                  address=STRANGER, settings=settings)

    assert 0 < result.locked_seconds <= settings.login_lockout_cap_seconds + 1


def test_a_login_forgets_its_accounts_failures_but_not_its_addresses(session, settings):
    nurse = make_staff(session)
    keys = throttle.keys_for(username=nurse.username, address=WARD, settings=settings)
    for password in ("typo", "typo", PASSWORD):
        service.authenticate(session, username=nurse.username, password=password,
                             address=WARD, settings=settings)
    session.commit()

    assert session.get(LoginThrottle, keys.pair) is None
    assert session.get(LoginThrottle, keys.address).failures == 2


def test_the_counters_keep_no_username_or_address_in_clear(app, session):
    login(_browser(app, STRANGER), "somchai.j", "guess")

    stored = " ".join(session.exec(select(LoginThrottle.key)).all())
    assert stored
    assert "somchai" not in stored and STRANGER not in stored


def test_old_counters_are_forgotten(session, settings):
    now = utcnow()
    old = now - timedelta(days=2)
    session.add(LoginThrottle(key="old", failures=3, window_started_at=old))
    session.add(LoginThrottle(key="old-blocked", failures=30, window_started_at=old,
                              blocked_until=now + timedelta(minutes=5)))
    session.add(LoginThrottle(key="fresh", failures=1, window_started_at=now))
    session.commit()

    assert throttle.purge_stale(session, settings=settings, now=now) == 1
    session.commit()
    assert set(session.exec(select(LoginThrottle.key)).all()) == {"old-blocked", "fresh"}
    assert session.exec(select(func.count()).select_from(LoginThrottle)).one() == 2


def test_a_failure_with_a_known_name_writes_what_an_unknown_one_does(session, settings):
    """The same rows either way, so the time the database takes tells nothing either."""
    nurse = make_staff(session)
    for username, address in ((nurse.username, "10.0.0.1"), ("nobody-here", "10.0.0.2")):
        service.authenticate(session, username=username, password="guess", address=address,
                             settings=settings)
    session.commit()

    rows = session.exec(select(LoginThrottle)).all()
    assert len(rows) == 4
    assert {row.failures for row in rows} == {1}


@pytest.mark.parametrize(("seconds", "english", "thai"), [
    (60, "Try again in 1 minute.", "โปรดลองใหม่ในอีก 1 นาที"),
    (900, "Try again in 15 minutes.", "โปรดลองใหม่ในอีก 15 นาที"),
])
def test_the_lock_out_message_counts_its_minutes_in_words(seconds, english, thai):
    token = current_language.set("en")
    try:
        assert service._locked_message(seconds).endswith(english)
    finally:
        current_language.reset(token)
    token = current_language.set("th")
    try:
        assert service._locked_message(seconds).endswith(thai)
    finally:
        current_language.reset(token)
