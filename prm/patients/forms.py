"""The patient registration/edit form: parse what staff typed, collect field errors.

Parsing never raises: it returns the cleaned values and a dict of field errors, so the
form can be shown again with everything the user typed and the error beside its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from prm.i18n import _
from prm.models.patient import Channel, Sex
from prm.patients.identifiers import (
    clean_hn,
    clean_national_id,
    clean_passport,
    national_id_is_valid,
    normalise_phone,
)


@dataclass
class PatientForm:
    hn: str = ""
    national_id: str = ""
    passport_no: str = ""
    passport_country: str = ""
    title_th: str = ""
    given_name_th: str = ""
    family_name_th: str = ""
    title_en: str = ""
    given_name_en: str = ""
    family_name_en: str = ""
    birth_date: str = ""
    sex: str = Sex.unknown
    nationality: str = "TH"
    phone: str = ""
    phone_alt: str = ""
    preferred_language: str = "th"
    preferred_channel: str = Channel.sms
    sms_consent: bool = False
    segment_code: str = ""
    payer_name: str = ""
    member_id: str = ""
    referral_from: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, data) -> PatientForm:
        form = cls()
        for f in fields(cls):
            if f.name in ("errors", "sms_consent"):
                continue
            setattr(form, f.name, str(data.get(f.name, getattr(form, f.name)) or "").strip())
        form.sms_consent = data.get("sms_consent") in ("on", "true", "1", "yes")
        return form

    def validate(self, *, require_payer: bool) -> dict:
        """Returns the cleaned values for the Patient model; fills ``self.errors``."""
        errors = self.errors
        values: dict = {}
        values["hn"] = clean_hn(self.hn)
        values["national_id"] = self._national_id()
        values["passport_no"] = clean_passport(self.passport_no) or None
        values["passport_country"] = self.passport_country.upper()[:2] or None
        for name in ("title_th", "given_name_th", "family_name_th", "title_en",
                     "given_name_en", "family_name_en"):
            values[name] = getattr(self, name)
        if not (self.given_name_th or self.given_name_en):
            errors["given_name_th"] = _("Enter a first name in Thai or English.")
        if not (self.family_name_th or self.family_name_en):
            errors["family_name_th"] = _("Enter a family name in Thai or English.")
        values["nationality"] = (self.nationality or "TH").upper()[:2]
        if values["nationality"] != "TH" and not values["passport_no"] and not values[
            "national_id"
        ]:
            errors["passport_no"] = _("A foreign patient needs a passport number.")
        values["birth_date"] = self._birth_date()
        values["sex"] = self._choice("sex", Sex)
        values["preferred_channel"] = self._choice("preferred_channel", Channel)
        values["preferred_language"] = self.preferred_language or "th"
        values["phone_e164"] = self._phone("phone")
        values["phone_alt_e164"] = self._phone("phone_alt")
        if self.sms_consent and not values["phone_e164"] and "phone" not in errors:
            errors["phone"] = _("SMS consent needs a mobile number.")
        if require_payer and not self.segment_code:
            errors["segment_code"] = _("Choose how the patient pays.")
        return values

    def _national_id(self) -> str | None:
        value = clean_national_id(self.national_id)
        if not value:
            return None
        if not national_id_is_valid(value):
            self.errors["national_id"] = _(
                "Not a valid Thai national ID: it must be 13 digits with a correct check digit."
            )
        return value

    def _birth_date(self) -> date | None:
        if not self.birth_date:
            return None
        try:
            value = date.fromisoformat(self.birth_date)
        except ValueError:
            self.errors["birth_date"] = _("Use the date picker or YYYY-MM-DD (Christian era).")
            return None
        if value > date.today() or value.year < 1900:
            self.errors["birth_date"] = _("The birth date is not plausible.")
        return value

    def _phone(self, name: str) -> str | None:
        raw = getattr(self, name)
        if not raw:
            return None
        value = normalise_phone(raw)
        if value is None:
            self.errors[name] = _("Not a valid phone number.")
        return value

    def _choice(self, name: str, enum):
        value = getattr(self, name)
        if value not in enum.__members__:
            self.errors[name] = _("Choose one of the options.")
            return next(iter(enum))
        return enum(value)

    @classmethod
    def from_patient(cls, patient) -> PatientForm:
        from prm.formatting import format_phone

        return cls(
            hn=patient.hn, national_id=patient.national_id or "",
            passport_no=patient.passport_no or "", passport_country=patient.passport_country or "",
            title_th=patient.title_th, given_name_th=patient.given_name_th,
            family_name_th=patient.family_name_th, title_en=patient.title_en,
            given_name_en=patient.given_name_en, family_name_en=patient.family_name_en,
            birth_date=patient.birth_date.isoformat() if patient.birth_date else "",
            sex=patient.sex, nationality=patient.nationality,
            phone=format_phone(patient.phone_e164), phone_alt=format_phone(patient.phone_alt_e164),
            preferred_language=patient.preferred_language,
            preferred_channel=patient.preferred_channel, sms_consent=patient.sms_consent,
            segment_code=patient.segment_code,
        )
