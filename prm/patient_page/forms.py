"""The 360° page's quick-action forms (prm.forms): log a contact, add a note, SMS
consent, add a coverage. They read and check what was typed; the services keep the
rules (which channels exist, that a note is not empty, a valid scheme)."""

from __future__ import annotations

from pydantic import Field

from prm.contacts.service import Booking
from prm.forms import Form, IsoDate, LocalDateTime, OptionalId, Text, column_limit
from prm.models.contact import ContactLog, ContactOutcome, PatientNote
from prm.models.patient import Coverage, Patient


class ContactForm(Form):
    """A call or message logged from the page; may book the appointment agreed on."""

    channel: Text = Field("", max_length=column_limit(ContactLog, "channel"))
    reason: Text = Field("", max_length=column_limit(ContactLog, "reason"))
    outcome: Text = Field("", max_length=column_limit(ContactLog, "outcome"))
    note: Text = Field("", max_length=column_limit(ContactLog, "note"))
    clinic_id: OptionalId = None
    starts_at: LocalDateTime = None

    def booking(self) -> Booking | None:
        """The appointment booked during the call, when the outcome says one was."""
        if self.outcome != ContactOutcome.appointment_booked:
            return None
        return Booking(clinic_id=self.clinic_id, starts_at=self.starts_at)


class NoteForm(Form):
    text: Text = Field("", max_length=column_limit(PatientNote, "text"))


class ConsentForm(Form):
    consent: Text = Field("", max_length=3)  # "yes" or "no"
    source: Text = Field("", max_length=column_limit(Patient, "sms_consent_source"))

    @property
    def given(self) -> bool:
        return self.consent == "yes"


class CoverageForm(Form):
    segment_code: Text = Field("", max_length=column_limit(Coverage, "segment_code"))
    payer_name: Text = Field("", max_length=column_limit(Coverage, "payer_name"))
    member_id: Text = Field("", max_length=column_limit(Coverage, "member_id"))
    referral_from: Text = Field("", max_length=column_limit(Coverage, "referral_from"))
    valid_from: IsoDate = None
    valid_to: IsoDate = None
