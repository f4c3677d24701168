"""The patient page says one thing: the badge and the coverage panel both come from the
payer segment rule; a name is a heading whatever its script; counts read as words."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import select

from prm.models.patient import Coverage
from prm.web.middleware import LANGUAGE_COOKIE
from tests.factories import make_patient, shown

FOREIGN = {"nationality": "MM", "national_id": "", "passport_no": "MB123456",
           "passport_country": "MM", "preferred_language": "en"}
FOREIGN_UNINSURED = "ผู้ป่วยชาวต่างชาติที่ไม่มีหลักประกันสุขภาพ"
SELF_PAY = "ผู้ป่วยจ่ายเงินเอง"


def _badge(page: str) -> str:
    return re.search(r'<span class="badge seg-[a-z]+"[^>]*>([^<]*)</span>', page).group(1)


def _no_coverage_line(page: str) -> str:
    match = re.search(r'<p class="muted small coverage-none">([^<]*)</p>', page)
    return match.group(1) if match else ""


def test_a_foreign_uninsured_patient_reads_foreign_uninsured_in_badge_and_panel(
        nurse_client, session):
    patient = make_patient(session, segment_code="foreign_uninsured", **FOREIGN)

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert _badge(page) == FOREIGN_UNINSURED
    assert _no_coverage_line(page) == shown(
        "No coverage on file, so the segment is: %(segment)s.", segment=FOREIGN_UNINSURED)


def test_a_thai_patient_without_coverage_is_self_pay_in_both(nurse_client, session):
    patient = make_patient(session, segment_code="self_pay")

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert _badge(page) == SELF_PAY
    assert _no_coverage_line(page) == shown(
        "No coverage on file, so the segment is: %(segment)s.", segment=SELF_PAY)


def test_a_coverage_that_ran_out_gives_no_segment_in_badge_or_panel(nurse_client, session):
    # Stored as life insurance when it was valid; the rule reads it again today.
    patient = make_patient(session, segment_code="life_insurance", **FOREIGN)
    coverage = session.exec(select(Coverage).where(Coverage.patient_id == patient.id)).one()
    coverage.valid_to = date.today() - timedelta(days=30)
    session.add(coverage)
    session.commit()

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert _badge(page) == FOREIGN_UNINSURED
    assert _no_coverage_line(page) == shown(
        "No coverage is valid today, so the segment is: %(segment)s.",
        segment=FOREIGN_UNINSURED)
    assert shown("not valid today") in page
    assert "coverage-decides" not in page


def test_the_coverage_that_gives_the_segment_is_marked(nurse_client, session):
    patient = make_patient(session, segment_code="universal_coverage")

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert _badge(page) == "ผู้ป่วยบัตรประกันสุขภาพถ้วนหน้า (บัตรทอง)"
    assert page.count("coverage-decides") == 1
    assert _no_coverage_line(page) == ""


def test_an_english_only_name_is_the_heading(nurse_client, session):
    patient = make_patient(session, given_name_th="", family_name_th="", title_en="Mr",
                           given_name_en="John", family_name_en="Carter", **FOREIGN)

    page = nurse_client.get(f"/patients/{patient.id}").text
    results = nurse_client.get("/patients", params={"q": "carter"}).text

    assert re.search(r"<h1>\s*Mr John Carter\s*</h1>", page)
    assert '<div class="en">' not in page
    assert re.search(r'<a href="/patients/\d+">\s*Mr John Carter\s*</a>\s*</?td|'
                     r'<a href="/patients/\d+">\s*Mr John Carter\s*</a>\s*\n', results)
    assert '<div class="small muted">Mr John Carter</div>' not in results


def test_a_thai_name_stays_the_heading_with_the_english_one_beside_it(nurse_client, session):
    patient = make_patient(session, given_name_th="สุดา", family_name_th="แสงทอง",
                           given_name_en="Suda", family_name_en="Saengthong")

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert re.search(r"<h1>\s*สุดา แสงทอง\s*</h1>", page)
    assert '<div class="en">Suda Saengthong</div>' in page


def test_an_age_of_one_reads_one_year(nurse_client, session):
    nurse_client.cookies.set(LANGUAGE_COOKIE, "en")
    toddler = make_patient(session, birth_date=(date.today() - timedelta(days=500)).isoformat())

    page = nurse_client.get(f"/patients/{toddler.id}").text

    assert "1 year ·" in page
    assert "1 years" not in page


def test_a_foreign_patients_nationality_and_consent_read_as_words(nurse_client, session):
    patient = make_patient(session, segment_code="foreign_uninsured", **FOREIGN)

    page = nurse_client.get(f"/patients/{patient.id}").text

    assert f'{shown("Nationality")}: พม่า</span>' in page  # not the code "MM"
    assert f'({shown("at registration")})' in page  # how SMS consent was given
