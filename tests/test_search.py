"""Finding a patient from whatever staff type: HN, national ID, phone, Thai or English name."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from prm.models.audit import AuditAction, AuditEvent
from prm.models.patient import Patient
from prm.patients.search import search_patients
from tests.factories import make_imported_patient, make_patient, shown, valid_national_id

TARGET_ID = valid_national_id(987654321)


@pytest.fixture
def registry(session: Session) -> dict[str, Patient]:
    """A few patients who look alike in one way or another."""
    return {
        "target": make_patient(
            session, hn="69001234", national_id=TARGET_ID, given_name_th="สมชาย",
            family_name_th="ศรีสวัสดิ์", given_name_en="Somchai", family_name_en="Srisawat",
            phone="081 234 5678"),
        "namesake": make_patient(
            session, hn="69005678", given_name_th="สมชาย", family_name_th="วงศ์ใหญ่",
            given_name_en="Somchai", family_name_en="Wongyai", phone="089 111 2222"),
        "other": make_patient(
            session, hn="68000001", given_name_th="มานี", family_name_th="มีสุข",
            given_name_en="Manee", family_name_en="Meesuk", phone="02 123 4567"),
    }


def _found(session: Session, query: str) -> set[int]:
    return {p.id for p in search_patients(session, query=query).patients}


def _misses(session: Session, people: dict[str, Patient], table) -> list[str]:
    """Each query of ``table`` whose result is not exactly the expected patients."""
    misses = []
    for query, expected in table:
        found = _found(session, query)
        wanted = {people[key].id for key in expected}
        if found != wanted:
            names = {p.id: key for key, p in people.items()}
            misses.append(f"{query!r}: found {sorted(names.get(i, i) for i in found)}, "
                          f"expected {sorted(expected)}")
    return misses


# One database, many queries: each line is a case; a failure lists every query that missed.
BY_NUMBER = [
    ("69001234", ["target"]),  # HN, exact
    ("690012", ["target"]),  # HN, prefix
    ("6900", ["target", "namesake"]),
    (TARGET_ID, ["target"]),  # national ID
    (f"{TARGET_ID[0]}-{TARGET_ID[1:5]}-{TARGET_ID[5:10]}-{TARGET_ID[10:12]}-{TARGET_ID[12]}",
     ["target"]),
    (TARGET_ID[:8], ["target"]),  # the start of a national ID
    ("081 234 5678", ["target"]),  # phone, national format
    ("0812345678", ["target"]),
    ("+66812345678", ["target"]),  # phone, E.164
    ("+66 81 234 5678", ["target"]),
    ("0812345", ["target"]),  # the start of a phone number
    ("02 123 4567", ["other"]),  # a landline
]
# Part of a number, as staff are told it: its start, or its last digits; 4 digits at least.
BY_PART_OF_A_PHONE = [
    ("234 5678", ["target"]),  # the last digits, as they are said
    ("2345678", ["target"]),
    ("34-5678", ["target"]),
    ("5678", ["target"]),
    ("081-234", ["target"]),  # the start, from the leading 0
    ("0812", ["target"]),
    ("2222", ["namesake"]),
    ("1 2222", ["namesake"]),
    ("678", []),  # three digits match too many people: not searched as a phone
    ("081", []),
    ("8765", []),  # the digits backwards are not the number
]
BY_NAME = [
    ("สวัส", ["target"]),  # the middle of a Thai family name
    ("ศรีสวัสดิ์", ["target"]),
    ("สมชาย", ["target", "namesake"]),
    ("สมชาย ศรี", ["target"]),  # given + family
    ("somchai", ["target", "namesake"]),
    ("SOMCHAI", ["target", "namesake"]),  # English is case-insensitive
    ("risaw", ["target"]),  # the middle of an English name
    ("SriSawat", ["target"]),
    ("somchai srisa", ["target"]),  # given + family
    ("srisawat somchai", ["target"]),  # in either order
    ("somchai meesuk", []),
    ("manee", ["other"]),
    ("ma", ["other"]),  # two letters: the start of a name
]
TOO_SHORT = [(query, []) for query in ["", "   ", "s", "ส", "6", "0", "-", "+"]]


def test_it_finds_patients_by_hn_national_id_and_phone(session, registry):
    assert _misses(session, registry, BY_NUMBER) == []


def test_it_finds_patients_by_part_of_their_phone_number(session, registry):
    assert _misses(session, registry, BY_PART_OF_A_PHONE) == []


def test_a_number_changed_is_found_by_its_new_last_digits(session, registry):
    target = registry["target"]
    target.phone_e164 = "+66899990000"
    session.add(target)
    session.commit()

    assert _found(session, "999 0000") == {target.id}
    assert _found(session, "234 5678") == set()


def test_it_finds_patients_by_thai_or_english_name(session, registry):
    assert _misses(session, registry, BY_NAME) == []


def test_it_returns_nothing_for_blank_or_one_character_queries(session, registry):
    assert _misses(session, registry, TOO_SHORT) == []


def test_it_says_when_there_are_more_matches_than_the_limit(session, registry):
    result = search_patients(session, query="somchai", limit=1)

    assert len(result.patients) == 1
    assert result.more is True


def test_it_finds_a_patient_by_passport(session):
    foreigner = make_patient(session, nationality="MM", national_id="", passport_no="MB1234567")

    assert _found(session, "mb1234567") == {foreigner.id}


@pytest.fixture
def wildcard_names(session: Session) -> dict[str, Patient]:
    return {
        "underscore": make_imported_patient(session, given_name_en="Ann_Marie",
                                            family_name_en="Stone"),
        "percent": make_imported_patient(session, given_name_en="Jo",
                                         family_name_en="Hundred%Percent"),
        "plain": make_patient(session, given_name_en="Annemarie", family_name_en="Stone"),
    }


def test_wildcard_characters_in_names_and_queries_are_taken_literally(session, wildcard_names):
    assert _misses(session, wildcard_names, [
        ("ann_m", ["underscore"]),  # _ is a letter here, not "any character"
        ("d%p", ["percent"]),  # and % is not "anything"
        ("%%%", []),
        ("___", []),
        ("%_", []),
        ("stone", ["underscore", "plain"]),
    ]) == []


# --- through the web -------------------------------------------------------------------

def test_the_search_page_lists_matches_and_audits_the_search(nurse_client, session, registry):
    response = nurse_client.get("/patients", params={"q": "0812345"})

    assert response.status_code == 200
    assert "ศรีสวัสดิ์" in response.text
    assert f'href="/patients/{registry["target"].id}"' in response.text
    assert "วงศ์ใหญ่" not in response.text
    searched = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.search)).one()
    # The patient shown and the query's kind, never the query.
    assert (searched.patient_id, searched.detail) == (registry["target"].id,
                                                      "kind=phone shown=1")


def test_the_search_page_finds_the_patient_however_they_are_typed(nurse_client, registry):
    link = f'href="/patients/{registry["target"].id}"'
    for query in ["69001234", TARGET_ID, "081 234 5678", "+66812345678", "สวัส",
                  "somchai SRIS"]:
        assert link in nurse_client.get("/patients", params={"q": query}).text, query


def test_htmx_gets_only_the_results(nurse_client, registry):
    response = nurse_client.get("/patients", params={"q": "somchai"},
                                headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith('{#') or response.text.lstrip().startswith("<div")
    assert "<html" not in response.text
    assert "Srisawat" in response.text and "Wongyai" in response.text


def test_the_suggestions_drop_down_lists_matches(nurse_client, registry):
    response = nurse_client.get("/patients/suggest", params={"q": "risaw"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'href="/patients/{registry["target"].id}"' in response.text
    assert "Wongyai" not in response.text


def test_the_suggestions_stay_empty_for_one_character(nurse_client, registry):
    response = nurse_client.get("/patients/suggest", params={"q": "s"})

    assert response.status_code == 200
    assert "/patients/" not in response.text


def test_enter_on_a_single_match_opens_the_patient(nurse_client, registry):
    response = nurse_client.get("/patients", params={"q": "69001234", "open": "1"})

    assert response.status_code == 303
    assert response.headers["location"] == f"/patients/{registry['target'].id}"


def test_enter_on_several_matches_shows_the_list(nurse_client, registry):
    response = nurse_client.get("/patients", params={"q": "somchai", "open": "1"})

    assert response.status_code == 200
    assert "Srisawat" in response.text and "Wongyai" in response.text


def test_enter_on_no_match_says_so_and_offers_to_register(nurse_client, registry):
    response = nurse_client.get("/patients", params={"q": "nobody-like-this", "open": "1"})

    assert response.status_code == 200
    assert shown("No patient matches “%(q)s”.", q="nobody-like-this") in response.text
    assert _patient_links(response.text) == set()
    assert 'href="/patients/new"' in response.text


def _patient_links(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'href="/patients/(\d+)"', html)}


ODD_QUERIES = ["%", "%%%", "_", "a_b", "100%", "[abc]", "*", "?", "'; --", "\\"]


def test_odd_characters_find_nobody_on_either_page_and_break_nothing(nurse_client, registry):
    for query in ODD_QUERIES:
        for path in ("/patients", "/patients/suggest"):
            response = nurse_client.get(path, params={"q": query})
            assert response.status_code == 200, (path, query)
            assert _patient_links(response.text) == set(), (path, query)


def test_odd_characters_in_a_name_are_found_literally(nurse_client, session):
    irish = make_patient(session, given_name_en="Sean", family_name_en="O'Brien")
    make_patient(session, given_name_en="Sean", family_name_en="Obrien")

    for path in ("/patients", "/patients/suggest"):
        response = nurse_client.get(path, params={"q": "o'brien"})
        assert _patient_links(response.text) == {irish.id}, path


# --- queries no person types --------------------------------------------------------------

@pytest.fixture
def maximal_name(session: Session) -> Patient:
    """A patient whose every name is as long as the record holds."""
    return make_patient(session, given_name_th="ก" * 100, family_name_th="ข" * 100,
                        given_name_en="a" * 100, family_name_en="b" * 100)


def _statements(engine):
    """Counts the SQL statements run while the block runs."""
    from sqlalchemy import event

    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("query", ["ก" * 10_000, "a" * 10_000, "ab " * 3_333,
                                   "ก" * 101, "a b c d e f g"])
def test_a_query_longer_than_any_name_is_refused_before_any_statement_runs(
    session, engine, maximal_name, query
):
    seen, stop = _statements(engine)
    try:
        result = search_patients(session, query=query)
    finally:
        stop()

    assert result.patients == []
    assert result.refused
    assert seen == []  # no work at all, let alone work that grows with the query


def test_a_query_at_the_limit_over_a_maximal_name_finds_it_with_bounded_memory(
    session, maximal_name
):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = {p.id for query in ("ก" * 100, "a" * 100, "ก" * 50 + " " + "ข" * 49)
             for p in search_patients(session, query=query).patients}
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before

    assert found == {maximal_name.id}
    assert grown_kb < 100 * 1024  # the report: past 20 GB with a few thousand characters


def test_the_search_page_and_suggestions_say_the_query_is_too_long(nurse_client,
                                                                  maximal_name):
    page = nurse_client.get("/patients", params={"q": "a" * 10_000})
    suggestions = nurse_client.get("/patients/suggest", params={"q": "ก" * 5_000})

    message = shown("Search with at most %(chars)s characters and %(words)s words.",
                    chars=100, words=6)
    assert page.status_code == 200 and message in page.text
    assert suggestions.status_code == 200 and message in suggestions.text


def test_a_suggestion_for_a_patient_without_a_phone_ends_without_a_stray_dot(nurse_client,
                                                                           session):
    make_patient(session, given_name_en="Phoneless", phone="")

    html = nurse_client.get("/patients/suggest", params={"q": "phoneless"}).text

    details = html.split('class="small muted">')[1].split("</span>")[0]
    assert details.startswith("HN ") and not details.rstrip().endswith("·")
    assert " ·  · " not in details
