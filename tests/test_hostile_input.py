"""No input ends in a 500: every route of the app, read from the route table (so a new
route is covered without anyone adding it here), gets ids beyond 64 bits, dates at the
ends of the calendar, numbers too large for any column and text no form expects — in its
path, its query string and its form fields — from a role allowed to use it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from prm.app import create_app
from prm.config import Settings
from tests.factories import make_patient, sign_in
from tests.routes import served_routes
from tests.test_forms import PRODUCT_FORMS

HOSTILE_IDS = ["0", "-1", str(2**63), str(2**64), "9" * 40, "1e3", "๓", "%00"]
HOSTILE_VALUES = ["0001-01-01", "9999-12-31T23:59", "9" * 40, "/ก\x00'\"<>", "ก" * 110]
# Pages for which these would be no test: no session, or what they take is not a form.
SKIPPED = {"/logout", "/fhir/subscription"}


def _routes() -> list[tuple[str, str, list[str]]]:
    """(method, path template, its query parameters) of every route the app serves."""
    app = create_app(Settings(database_url="sqlite://", environment="test",
                              embedded_worker=False), embedded_worker=False)
    found = []
    for path, methods, route in served_routes(app):
        if path not in SKIPPED:
            query = [param.name for param in route.dependant.query_params]
            found += [(method, path, query) for method in sorted(methods - {"HEAD"})]
    app.state.engine.dispose()
    return found


ROUTES = _routes()
WITH_IDS = [(method, path) for method, path, _query in ROUTES if "{" in path]
# Every field any form reads, so query-string filters read by a form are tried too.
FIELD_NAMES = sorted({name for form in PRODUCT_FORMS for name in form.model_fields}
                     | {name for _method, _path, query in ROUTES for name in query}
                     | {"next", "language", "q", "open", "before", "group"})


@pytest.fixture
def clients(app, session):
    """A nurse and an admin: between them they may use every route."""
    with TestClient(app, follow_redirects=False) as nurse, \
            TestClient(app, follow_redirects=False) as admin:
        sign_in(nurse, session, role="nurse")
        sign_in(admin, session, role="admin")
        yield [nurse, admin]


def _fill(template: str, value: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", value, template)


def test_the_route_table_is_read_from_the_app():
    assert ("GET", "/patients/{patient_id}") in WITH_IDS
    assert ("POST", "/appointments/{appointment_id}/status") in WITH_IDS
    assert {"day", "since", "until", "page"} <= set(FIELD_NAMES)


@pytest.mark.parametrize(("method", "path"), WITH_IDS, ids=lambda v: v)
def test_an_id_no_row_can_have_is_a_4xx_on_every_route(clients, method, path):
    failures = []
    for value in HOSTILE_IDS:
        for client in clients:
            response = client.request(method, _fill(path, value),
                                      data={"csrf_token": ""} if method == "POST" else None)
            if response.status_code >= 500:
                failures.append(f"{value!r}: {response.status_code}")
    assert failures == []


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _q in ROUTES], ids=lambda v: v)
def test_hostile_values_in_every_field_are_a_4xx_or_a_field_error_on_every_route(
    clients, session, method, path
):
    real = str(make_patient(session).id)
    failures = []
    for value in HOSTILE_VALUES:
        # In batches: a URL holds a few dozen such fields at most.
        for batch in range(0, len(FIELD_NAMES), 20):
            fields = dict.fromkeys(FIELD_NAMES[batch:batch + 20], value)
            for client in clients:
                if method == "GET":
                    response = client.get(_fill(path, real), params=fields)
                else:
                    response = client.post(_fill(path, real), data=fields)
                if response.status_code >= 500:
                    failures.append(f"{value[:20]!r} in {sorted(fields)}: "
                                    f"{response.status_code}")
    assert failures == []
