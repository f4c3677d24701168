"""Registering and editing patients, their payer coverage and segment, and SMS consent."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlmodel import Session, func, select

from prm.errors import ValidationFailed
from prm.formatting import format_phone
from prm.models.audit import AuditAction, AuditEvent
from prm.models.patient import Coverage, Patient
from prm.models.segment import Segment
from prm.models.timeline import TimelineEntry
from prm.patients import service
from tests.factories import TEST_ACTOR, make_patient, shown, valid_national_id

BAD_NATIONAL_ID = "1234567890123"  # the check digit should be 1


def registration(**overrides) -> dict[str, str]:
    """The registration form as a nurse fills it in."""
    return {
        "given_name_th": "สมหญิง", "family_name_th": "รักษ์ไทย", "given_name_en": "Somying",
        "family_name_en": "Rakthai", "birth_date": "1975-02-14", "sex": "female",
        "nationality": "TH", "phone": "081 234 5678", "preferred_language": "th",
        "preferred_channel": "sms", "segment_code": "universal_coverage", **overrides,
    }


def _count(session: Session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def _kinds(session: Session, patient: Patient) -> list[str]:
    session.expire_all()
    return list(session.exec(select(TimelineEntry.kind).where(
        TimelineEntry.patient_id == patient.id).order_by(TimelineEntry.id)))


def _registered(response, session: Session) -> Patient:
    assert response.status_code == 303, response.text
    patient_id = int(response.headers["location"].rsplit("/", 1)[1])
    session.expire_all()
    return session.get(Patient, patient_id)


# --- registration ----------------------------------------------------------------------

def test_it_registers_a_patient_with_a_timeline_entry_and_an_audit_row(nurse_client, session):
    patient = _registered(nurse_client.post("/patients", data=registration()), session)

    assert patient.given_name_th == "สมหญิง"
    assert patient.segment_code == "universal_coverage"
    assert _kinds(session, patient) == ["registered"]
    created = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.create, AuditEvent.patient_id == patient.id)).one()
    assert created.username.startswith("nurse")


def test_it_re_renders_the_form_when_the_national_id_is_bad_and_saves_nothing(
    nurse_client, session
):
    before = _count(session, Patient)

    response = nurse_client.post("/patients", data=registration(national_id=BAD_NATIONAL_ID))

    assert response.status_code == 422
    assert shown("Not a valid Thai national ID: it must be 13 digits with a correct check "
                 "digit.") in response.text
    assert 'id="e-national_id"' in response.text  # the error sits beside its field
    assert f'value="{BAD_NATIONAL_ID}"' in response.text  # what was typed is kept
    assert 'value="สมหญิง"' in response.text
    assert 'value="081 234 5678"' in response.text
    assert _count(session, Patient) == before
    assert _count(session, Coverage) == 0


def test_it_accepts_a_national_id_typed_with_dashes(nurse_client, session):
    national_id = valid_national_id()
    dashed = f"{national_id[0]}-{national_id[1:5]}-{national_id[5:10]}-{national_id[10:12]}-" \
             f"{national_id[12]}"

    patient = _registered(nurse_client.post("/patients", data=registration(
        national_id=dashed)), session)

    assert patient.national_id == national_id


@pytest.mark.parametrize("too_long", ["ก" * 101, "a" * 20_000])
def test_it_refuses_a_name_longer_than_the_record_holds_and_keeps_it_whole(
    nurse_client, session, too_long
):
    response = nurse_client.post("/patients", data=registration(given_name_th=too_long))

    assert response.status_code == 422
    error = response.text.split('id="e-given_name_th"')[1].split("</div>")[0]
    assert shown("At most %(n)s characters.", n=100) in error
    assert f'value="{too_long}"' in response.text  # never cut, shown again as typed
    assert _count(session, Patient) == 0


def test_a_million_character_name_is_refused_before_it_is_read(nurse_client, session):
    """The report: a million characters were stored as a given name."""
    response = nurse_client.post("/patients", data=registration(given_name_th="a" * 1_000_000))

    assert response.status_code == 413
    assert _count(session, Patient) == 0


def test_it_reads_a_three_letter_country_code_and_refuses_one_that_is_none(
    nurse_client, session
):
    refused = nurse_client.post("/patients", data=registration(nationality="XX"))
    patient = _registered(nurse_client.post("/patients", data=registration(
        nationality="mmr", passport_no="MB123456", passport_country="MMR",
        segment_code="foreign_uninsured")), session)

    assert refused.status_code == 422
    assert 'id="e-nationality"' in refused.text
    assert (patient.nationality, patient.passport_country) == ("MM", "MM")


def test_china_is_china_never_switzerland(nurse_client, session):
    """The report: "CHN" typed into a two-character box was saved as "CH"."""
    patient = _registered(nurse_client.post("/patients", data=registration(
        nationality="CHN", passport_no="E12345678", passport_country="CN",
        segment_code="foreign_uninsured")), session)

    assert (patient.nationality, patient.passport_country) == ("CN", "CN")


def test_countries_are_chosen_from_every_iso_country_named_in_the_staffs_language(
    nurse_client
):
    page = nurse_client.get("/patients/new").text

    nationality = page.split('name="nationality"')[1].split("</select>")[0]
    assert nationality.count("<option") == 249
    assert '<option value="TH" selected>' + shown("Thailand", "th") in nationality or (
        '<option value="TH" selected>ไทย' in nationality)
    assert '<option value="CN" >จีน</option>' in nationality
    assert 'maxlength="2"' not in page


@pytest.mark.parametrize("name", ["<script>", "Som<b>chai", "R2D2", "=cmd|' /C calc'!A0",
                                  "สมชาย😀"])
def test_a_name_no_person_has_is_refused_beside_its_field(nurse_client, session, name):
    response = nurse_client.post("/patients", data=registration(given_name_en=name))

    assert response.status_code == 422
    error = response.text.split('id="e-given_name_en"')[1].split("</div>")[0]
    assert shown("A name has letters, spaces, dots, hyphens and apostrophes only.") in error
    assert _count(session, Patient) == 0


@pytest.mark.parametrize(("field", "name"), [
    ("given_name_en", "O'Brien-Smith Jr."), ("given_name_en", "Saint-Exupéry"),
    ("given_name_en", "Nguyễn Thị Minh"), ("given_name_th", "ณัฐพงศ์"),
])
def test_names_of_real_people_are_accepted(nurse_client, session, field, name):
    patient = _registered(nurse_client.post("/patients", data=registration(**{field: name})),
                          session)

    assert getattr(patient, field) == name


def test_it_reads_a_birth_date_typed_in_the_buddhist_era(nurse_client, session):
    patient = _registered(nurse_client.post("/patients",
                                            data=registration(birth_date="14/02/2518")),
                          session)

    assert patient.birth_date == date(1975, 2, 14)


def test_it_refuses_a_birth_date_that_is_no_date(nurse_client, session):
    response = nurse_client.post("/patients", data=registration(birth_date="31/02/2518"))

    assert response.status_code == 422
    assert 'id="e-birth_date"' in response.text
    assert 'value="31/02/2518"' in response.text
    assert _count(session, Patient) == 0


def test_it_refuses_a_national_id_that_is_already_registered(nurse_client, session):
    existing = make_patient(session)
    before = _count(session, Patient)

    response = nurse_client.post("/patients", data=registration(
        national_id=existing.national_id))

    assert response.status_code == 409
    assert shown("This national ID is already registered.") in response.text
    assert 'id="e-national_id"' in response.text
    assert _count(session, Patient) == before


def test_it_refuses_an_hn_that_belongs_to_another_patient(nurse_client, session):
    existing = make_patient(session, hn="HN000123")

    response = nurse_client.post("/patients", data=registration(hn="hn000123"))

    assert response.status_code == 409
    assert shown("This HN belongs to another patient.") in response.text
    assert 'id="e-hn"' in response.text
    assert _count(session, Patient) == 1
    assert existing.hn == "HN000123"


def test_it_assigns_the_next_hn_when_none_is_typed(nurse_client, session):
    first = _registered(nurse_client.post("/patients", data=registration()), session)
    second = _registered(nurse_client.post("/patients", data=registration(
        given_name_th="สมศักดิ์")), session)

    assert len(first.hn) == 8 and first.hn.isdigit()
    assert int(second.hn) == int(first.hn) + 1


def test_the_hn_starts_with_the_buddhist_era_year(session):
    make_patient(session, hn="69000041")
    make_patient(session, hn="68999999")  # last year's numbers do not count

    assert service.next_hn(session, today=date(2026, 3, 1)) == "69000042"
    assert service.next_hn(session, today=date(2027, 1, 1)) == "70000001"


def test_it_stores_phone_numbers_in_e164_and_shows_them_nationally(nurse_client, session):
    patient = _registered(nurse_client.post("/patients", data=registration(
        phone="081-234-5678", phone_alt="02 123 4567")), session)

    assert patient.phone_e164 == "+66812345678"
    assert patient.phone_alt_e164 == "+6621234567"
    page = nurse_client.get(f"/patients/{patient.id}").text
    assert "081 234 5678" in page


def test_it_refuses_a_phone_number_that_is_not_one(nurse_client, session):
    response = nurse_client.post("/patients", data=registration(phone="08123"))

    assert response.status_code == 422
    assert shown("Not a valid phone number.") in response.text
    assert _count(session, Patient) == 0


def test_it_asks_a_foreign_patient_for_a_passport(nurse_client, session):
    response = nurse_client.post("/patients", data=registration(
        nationality="MM", segment_code="foreign_uninsured", national_id=""))

    assert response.status_code == 422
    assert shown("A foreign patient needs a passport number.") in response.text
    assert 'id="e-passport_no"' in response.text
    assert _count(session, Patient) == 0


def test_a_foreign_patient_with_a_passport_and_no_coverage_is_foreign_uninsured(
    nurse_client, session
):
    patient = _registered(nurse_client.post("/patients", data=registration(
        nationality="mm", segment_code="foreign_uninsured", passport_no="mb 123456",
        passport_country="MM")), session)

    assert patient.passport_no == "MB123456"
    assert patient.nationality == "MM"
    assert patient.segment_code == "foreign_uninsured"
    assert _count(session, Coverage) == 0


def test_it_refuses_sms_consent_without_a_phone_at_registration(nurse_client, session):
    response = nurse_client.post("/patients", data=registration(phone="", sms_consent="on"))

    assert response.status_code == 422
    assert shown("SMS consent needs a mobile number.") in response.text
    assert _count(session, Patient) == 0


def test_it_records_sms_consent_given_at_registration(nurse_client, session):
    patient = _registered(nurse_client.post("/patients", data=registration(
        sms_consent="on")), session)

    assert patient.sms_consent is True
    assert patient.sms_consent_source == "registration"
    assert patient.sms_consent_changed_at is not None


def test_it_refuses_a_social_security_referral_without_the_referring_hospital(
    nurse_client, session
):
    response = nurse_client.post("/patients", data=registration(
        segment_code="social_security_referral"))

    assert response.status_code == 422
    assert 'id="e-referral_from"' in response.text
    assert _count(session, Patient) == 0


def test_it_asks_how_the_patient_pays(nurse_client, session):
    response = nurse_client.post("/patients", data=registration(segment_code=""))

    assert response.status_code == 422
    assert shown("Choose how the patient pays.") in response.text


# --- segment derivation ----------------------------------------------------------------

def test_expired_future_and_ended_coverage_is_ignored(session):
    patient = make_patient(session, segment_code="self_pay")
    today = date(2026, 6, 1)
    for fields in ({"valid_to": today - timedelta(days=1)},
                   {"valid_from": today + timedelta(days=30)},
                   {"active": False}):
        session.add(Coverage(patient_id=patient.id, segment_code="social_security", **fields))
    session.add(Coverage(patient_id=patient.id, segment_code="life_insurance",
                         valid_from=today - timedelta(days=30), valid_to=today))
    session.flush()

    assert service.refresh_segment(session, patient=patient, today=today) == "life_insurance"
    later = today + timedelta(days=1)
    assert service.refresh_segment(session, patient=patient, today=later) == "self_pay"


def test_a_foreigner_whose_coverage_lapsed_becomes_foreign_uninsured(session):
    patient = make_patient(session, nationality="KH", national_id="", passport_no="K1234567",
                           segment_code="life_insurance")
    assert patient.segment_code == "life_insurance"
    coverage = session.exec(select(Coverage).where(Coverage.patient_id == patient.id)).one()
    coverage.valid_to = date(2026, 1, 31)
    session.add(coverage)

    segment = service.refresh_segment(session, patient=patient, today=date(2026, 2, 1))

    assert segment == "foreign_uninsured"


def test_a_social_security_referral_needs_a_referral_letter(session):
    patient = make_patient(session)

    with pytest.raises(ValidationFailed) as refused:
        service.add_coverage(session, patient=patient, segment_code="social_security_referral",
                             actor=TEST_ACTOR)
    assert "referral_from" in refused.value.field_errors

    service.add_coverage(session, patient=patient, segment_code="social_security_referral",
                         referral_from="Siriraj Hospital", actor=TEST_ACTOR)
    assert patient.segment_code == "social_security_referral"


def test_it_refuses_coverage_that_ends_before_it_starts(session):
    patient = make_patient(session)

    with pytest.raises(ValidationFailed) as refused:
        service.add_coverage(session, patient=patient, segment_code="life_insurance",
                             valid_from=date(2026, 5, 1), valid_to=date(2026, 4, 1),
                             actor=TEST_ACTOR)

    assert "valid_to" in refused.value.field_errors


def test_it_refuses_an_unknown_segment(session):
    patient = make_patient(session)

    with pytest.raises(ValidationFailed):
        service.add_coverage(session, patient=patient, segment_code="platinum",
                             actor=TEST_ACTOR)


# --- coverage through the patient page -------------------------------------------------

def _badge(session: Session, code: str) -> str:
    segment = session.get(Segment, code)
    return f'class="badge seg-{segment.colour}"'


def test_adding_and_ending_coverage_updates_the_badge_the_timeline_and_the_audit(
    nurse_client, session
):
    patient = make_patient(session, segment_code="universal_coverage")
    assert _badge(session, "universal_coverage") in nurse_client.get(
        f"/patients/{patient.id}").text

    added = nurse_client.post(f"/patients/{patient.id}/coverages", data={
        "segment_code": "social_security", "payer_name": "สำนักงานประกันสังคม",
        "member_id": "SSO-1"})

    assert added.status_code == 303
    page = nurse_client.get(f"/patients/{patient.id}").text
    assert _badge(session, "social_security") in page
    assert session.get(Segment, "social_security").name_th in page
    coverage = session.exec(select(Coverage).where(
        Coverage.patient_id == patient.id, Coverage.segment_code == "social_security")).one()

    ended = nurse_client.post(f"/patients/{patient.id}/coverages/{coverage.id}/end")

    assert ended.status_code == 303
    assert _badge(session, "universal_coverage") in nurse_client.get(
        f"/patients/{patient.id}").text
    session.expire_all()
    assert session.get(Patient, patient.id).segment_code == "universal_coverage"
    assert _kinds(session, patient)[-2:] == ["coverage_added", "coverage_ended"]
    audited = session.exec(select(AuditEvent.detail).where(
        AuditEvent.entity_type == "coverage", AuditEvent.entity_id == str(coverage.id))).all()
    assert sorted(audited) == ["", "ended"]


def test_a_bad_coverage_form_shows_the_error_and_keeps_what_was_typed(nurse_client, session):
    patient = make_patient(session)

    response = nurse_client.post(f"/patients/{patient.id}/coverages", data={
        "segment_code": "social_security_referral", "payer_name": "SSO Lampang"})

    assert response.status_code == 422
    assert 'id="e-referral_from"' in response.text
    assert 'value="SSO Lampang"' in response.text
    assert _count(session, Coverage) == 1  # the registration's own


def test_it_refuses_to_end_another_patients_coverage(nurse_client, session):
    patient = make_patient(session)
    other = make_patient(session)
    foreign = session.exec(select(Coverage).where(Coverage.patient_id == other.id)).one()

    response = nurse_client.post(f"/patients/{patient.id}/coverages/{foreign.id}/end")

    assert response.status_code == 404
    session.refresh(foreign)
    assert foreign.active


# --- SMS consent -----------------------------------------------------------------------

def test_it_records_when_and_how_consent_was_given_and_withdrawn(nurse_client, session):
    patient = make_patient(session, sms_consent=False)
    assert patient.sms_consent_changed_at is None

    given = nurse_client.post(f"/patients/{patient.id}/consent",
                              data={"consent": "yes", "source": "signed form"})

    assert given.status_code == 303
    session.refresh(patient)
    assert patient.sms_consent is True
    assert patient.sms_consent_source == "signed form"
    given_at = patient.sms_consent_changed_at
    assert given_at is not None

    withdrawn = nurse_client.post(f"/patients/{patient.id}/consent",
                                  data={"consent": "no", "source": "phone call"})

    assert withdrawn.status_code == 303
    session.refresh(patient)
    assert patient.sms_consent is False
    assert patient.sms_consent_source == "phone call"
    assert patient.sms_consent_changed_at >= given_at
    entries = session.exec(select(TimelineEntry).where(
        TimelineEntry.patient_id == patient.id, TimelineEntry.kind == "consent")
        .order_by(TimelineEntry.id)).all()
    assert [e.data for e in entries] == [{"consent": True, "source": "signed form"},
                                        {"consent": False, "source": "phone call"}]
    assert "phone call" in nurse_client.get(f"/patients/{patient.id}").text
    audited = session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.patient_id == patient.id, AuditEvent.detail == "sms_consent")).one()
    assert audited == 2


def test_it_refuses_sms_consent_for_a_patient_without_a_phone(nurse_client, session):
    patient = make_patient(session, phone="", sms_consent=False)

    response = nurse_client.post(f"/patients/{patient.id}/consent",
                                 data={"consent": "yes", "source": "signed form"})

    assert response.status_code == 422
    assert shown("SMS consent needs a mobile number.") in response.text
    session.refresh(patient)
    assert patient.sms_consent is False
    assert "consent" not in _kinds(session, patient)


# --- the edit form ---------------------------------------------------------------------

class _FormFields(HTMLParser):
    """The fields a browser would submit from the form posting to ``action``."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif not self.inside:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select = a["name"]
            self.fields.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _edit_form(client, patient: Patient) -> dict[str, str]:
    page = client.get(f"/patients/{patient.id}/edit")
    assert page.status_code == 200
    parser = _FormFields(f"/patients/{patient.id}")
    parser.feed(page.text)
    return parser.fields


def test_saving_the_edit_form_unchanged_changes_nothing(nurse_client, session):
    patient = make_patient(session, title_th="นาย", title_en="Mr", phone_alt="02 123 4567")
    fields = _edit_form(nurse_client, patient)
    assert fields["national_id"] == patient.national_id
    assert fields["phone"] == format_phone(patient.phone_e164)  # shown nationally
    assert fields["phone"].startswith("0")
    assert fields["sms_consent"] == "on"

    response = nurse_client.post(f"/patients/{patient.id}", data=fields)

    assert response.status_code == 303
    assert _kinds(session, patient) == ["registered"]


def test_an_edit_is_saved_named_on_the_timeline_and_audited(nurse_client, session):
    patient = make_patient(session)
    fields = _edit_form(nurse_client, patient)

    response = nurse_client.post(f"/patients/{patient.id}", data={
        **fields, "phone": "089 999 8888", "family_name_en": "Jaidee-Srisuk"})

    assert response.status_code == 303
    session.refresh(patient)
    assert patient.phone_e164 == "+66899998888"
    assert patient.family_name_en == "Jaidee-Srisuk"
    edited = session.exec(select(TimelineEntry).where(
        TimelineEntry.patient_id == patient.id, TimelineEntry.kind == "edited")).one()
    assert sorted(edited.data["fields"]) == ["family_name_en", "phone_e164"]
    audit = session.exec(select(AuditEvent).where(
        AuditEvent.patient_id == patient.id, AuditEvent.action == AuditAction.update)).one()
    assert sorted(audit.detail.split(",")) == ["family_name_en", "phone_e164"]
    assert "089 999 8888" in nurse_client.get(f"/patients/{patient.id}/edit").text


def test_a_bad_edit_re_renders_with_the_error_and_saves_nothing(nurse_client, session):
    patient = make_patient(session)
    fields = _edit_form(nurse_client, patient)

    response = nurse_client.post(f"/patients/{patient.id}", data={
        **fields, "national_id": BAD_NATIONAL_ID, "given_name_en": "Changed"})

    assert response.status_code == 422
    assert f'value="{BAD_NATIONAL_ID}"' in response.text
    assert 'value="Changed"' in response.text
    session.refresh(patient)
    assert patient.given_name_en == "Somchai"
    assert _kinds(session, patient) == ["registered"]


def test_an_edit_cannot_take_another_patients_national_id(nurse_client, session):
    patient = make_patient(session)
    other = make_patient(session)
    fields = _edit_form(nurse_client, patient)

    response = nurse_client.post(f"/patients/{patient.id}", data={
        **fields, "national_id": other.national_id})

    assert response.status_code == 409
    session.refresh(patient)
    assert patient.national_id != other.national_id


def test_an_unknown_patient_is_a_404(nurse_client):
    assert nurse_client.get("/patients/999999").status_code == 404


def test_the_start_page_lists_the_patients_this_user_opened_last(nurse_client, session):
    first, second = make_patient(session), make_patient(session)
    nurse_client.get(f"/patients/{first.id}")
    nurse_client.get(f"/patients/{second.id}")

    page = nurse_client.get("/").text

    assert page.index(f"/patients/{second.id}") < page.index(f"/patients/{first.id}")


def test_a_coverage_with_a_date_that_is_not_one_shows_the_page_again_with_what_was_typed(
    nurse_client, session
):
    patient = make_patient(session, segment_code="universal_coverage")
    long_member_id = "M" * (Coverage.model_fields["member_id"].metadata[0].max_length + 1)

    refused = nurse_client.post(f"/patients/{patient.id}/coverages", data={
        "segment_code": "life_insurance", "payer_name": "AIA", "valid_from": "31/02/2569",
        "member_id": long_member_id})

    assert refused.status_code == 422
    assert 'id="e-valid_from"' in refused.text
    assert 'value="31/02/2569"' in refused.text and f'value="{long_member_id}"' in refused.text
    assert session.exec(select(func.count()).select_from(Coverage).where(
        Coverage.patient_id == patient.id, Coverage.segment_code == "life_insurance")).one() == 0
