"""Date inputs show dates the way the page does, whatever the request carried: a query
string's ISO date ("?since=2026-12-01") or what staff typed (day/month/year, either era)."""

from __future__ import annotations

from tests.factories import sign_in
from tests.test_admin import _audit


def test_an_iso_filter_is_shown_day_first_in_the_buddhist_era(client, session):
    sign_in(client, session, role="admin")  # accounts start in Thai

    page = client.get("/admin/audit", params={"since": "2026-12-01", "until": "06/12/2569"})

    assert page.status_code == 200
    assert 'value="01/12/2569"' in page.text and 'value="06/12/2569"' in page.text
    assert 'type="date"' not in page.text
    assert 'placeholder="วว/ดด/ปปปป"' in page.text


def test_a_typed_filter_and_an_iso_one_find_the_same_rows(client, session):
    sign_in(client, session, role="admin")

    typed = _audit(client, since="01/01/2569", until="31/12/2569")
    iso = _audit(client, since="2026-01-01", until="2026-12-31")

    assert typed == iso


def test_the_appointment_day_reads_an_iso_day_and_shows_it_in_the_page_format(client,
                                                                              session):
    sign_in(client, session, role="front_desk")

    page = client.get("/appointments", params={"day": "2026-12-06"})

    assert page.status_code == 200
    assert 'value="06/12/2569"' in page.text
