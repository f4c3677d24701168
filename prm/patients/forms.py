"""The patient registration/edit form (prm.forms): what staff typed, parsed and checked.

``PatientForm.from_form(data)`` never raises: field errors land on ``form.errors`` and
what was typed on ``form.typed``, so the form is shown again as it was. The services
(``create_patient``/``update_patient``) call ``validate(require_payer=...)`` for the
values of the Patient row and raise ValidationFailed when ``errors`` is not empty.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from prm.forms import Checkbox, Form, IsoDate, Text, column_limit
from prm.i18n import _
from prm.models.patient import Channel, Coverage, Patient, Sex
from prm.patients.identifiers import (
    clean_hn,
    clean_national_id,
    clean_passport,
    country_alpha2,
    is_plausible_name,
    national_id_is_valid,
    normalise_phone,
)

# Room for what staff type around the digits: "081-234-5678 ต่อ 12", "+95 9 ...".
PHONE_AS_TYPED = 30
NATIONAL_ID_AS_TYPED = 20  # 13 digits, with dashes or spaces as printed on the card
COUNTRY_AS_TYPED = 3  # ISO 3166 alpha-2 or alpha-3
EARLIEST_BIRTH_YEAR = 1900


def _limit(name: str, model: type = Patient):
    return Field("", max_length=column_limit(model, name))


class PatientForm(Form):
    hn: Text = _limit("hn")
    national_id: Text = Field("", max_length=NATIONAL_ID_AS_TYPED)
    passport_no: Text = _limit("passport_no")
    passport_country: Text = Field("", max_length=COUNTRY_AS_TYPED)
    title_th: Text = _limit("title_th")
    given_name_th: Text = _limit("given_name_th")
    family_name_th: Text = _limit("family_name_th")
    title_en: Text = _limit("title_en")
    given_name_en: Text = _limit("given_name_en")
    family_name_en: Text = _limit("family_name_en")
    birth_date: IsoDate = None
    sex: Sex = Sex.unknown
    nationality: Text = Field("TH", max_length=COUNTRY_AS_TYPED)
    phone: Text = Field("", max_length=PHONE_AS_TYPED)
    phone_alt: Text = Field("", max_length=PHONE_AS_TYPED)
    preferred_language: Text = _limit("preferred_language")
    preferred_channel: Channel = Channel.sms
    sms_consent: Checkbox = False
    segment_code: Text = _limit("segment_code")
    payer_name: Text = _limit("payer_name", Coverage)
    member_id: Text = _limit("member_id", Coverage)
    referral_from: Text = _limit("referral_from", Coverage)

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value: str) -> str:
        value = clean_national_id(value)
        if value and not national_id_is_valid(value):
            raise ValueError(_("Not a valid Thai national ID: it must be 13 digits with a "
                               "correct check digit."))
        return value

    @field_validator("title_th", "given_name_th", "family_name_th", "title_en",
                     "given_name_en", "family_name_en")
    @classmethod
    def _name(cls, value: str) -> str:
        if value and not is_plausible_name(value):
            raise ValueError(_("A name has letters, spaces, dots, hyphens and apostrophes "
                               "only."))
        return value

    @field_validator("passport_country", "nationality")
    @classmethod
    def _country(cls, value: str) -> str:
        if not value:
            return value
        code = country_alpha2(value)
        if code is None:
            raise ValueError(_("Not a country code: use two letters, e.g. TH, MM, LA, KH."))
        return code

    @field_validator("phone", "phone_alt")
    @classmethod
    def _phone(cls, value: str) -> str:
        """The number in E.164 (+66812345678); the form shows it again as typed."""
        if not value:
            return value
        number = normalise_phone(value)
        if number is None:
            raise ValueError(_("Not a valid phone number."))
        return number

    def check(self) -> None:
        if not (self.given_name_th or self.given_name_en):
            self.add_error("given_name_th", _("Enter a first name in Thai or English."))
        if not (self.family_name_th or self.family_name_en):
            self.add_error("family_name_th", _("Enter a family name in Thai or English."))
        if (self.nationality or "TH") != "TH" and not (self.passport_no or self.national_id):
            self.add_error("passport_no", _("A foreign patient needs a passport number."))
        if self.birth_date and (self.birth_date > date.today()
                                or self.birth_date.year < EARLIEST_BIRTH_YEAR):
            self.add_error("birth_date", _("The birth date is not plausible."))
        if self.sms_consent and not self.phone:
            self.add_error("phone", _("SMS consent needs a mobile number."))

    def row_values(self) -> dict:
        """The values for the Patient row."""
        return {
            "hn": clean_hn(self.hn),
            "national_id": self.national_id or None,
            "passport_no": clean_passport(self.passport_no) or None,
            "passport_country": self.passport_country or None,
            "title_th": self.title_th, "given_name_th": self.given_name_th,
            "family_name_th": self.family_name_th, "title_en": self.title_en,
            "given_name_en": self.given_name_en, "family_name_en": self.family_name_en,
            "nationality": self.nationality or "TH",
            "birth_date": self.birth_date,
            "sex": self.sex,
            "preferred_channel": self.preferred_channel,
            "preferred_language": self.preferred_language or "th",
            "phone_e164": self.phone or None,
            "phone_alt_e164": self.phone_alt or None,
        }

    @classmethod
    def from_patient(cls, patient: Patient) -> PatientForm:
        """The edit form as staff will see it (phones in national format)."""
        from prm.formatting import format_phone

        shown = {
            "hn": patient.hn, "national_id": patient.national_id or "",
            "passport_no": patient.passport_no or "",
            "passport_country": patient.passport_country or "",
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else "",
            "phone": format_phone(patient.phone_e164),
            "phone_alt": format_phone(patient.phone_alt_e164),
            "sms_consent": "on" if patient.sms_consent else "",
            **{name: str(getattr(patient, name) or "") for name in (
                "title_th", "given_name_th", "family_name_th", "title_en", "given_name_en",
                "family_name_en", "sex", "nationality", "preferred_language",
                "preferred_channel", "segment_code")},
        }
        form = cls.parse(shown)
        form.errors.clear()  # the edit page opens clean; a save says what needs fixing
        return form


class NewPatientForm(PatientForm):
    """Registration: the same fields, and how the patient pays must be chosen (an edit
    leaves the coverages to the coverage panel)."""

    def check(self) -> None:
        super().check()
        if not self.segment_code:
            self.add_error("segment_code", _("Choose how the patient pays."))
