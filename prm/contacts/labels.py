"""Words staff see for contact channels, reasons and outcomes (translated when asked)."""

from __future__ import annotations

from prm.i18n import _
from prm.models.contact import ContactChannel, ContactOutcome, ContactReason


def channel_labels() -> dict[str, str]:
    return {
        ContactChannel.phone_in: _("Phone call in"),
        ContactChannel.phone_out: _("Phone call out"),
        ContactChannel.walk_in: _("Walk-in"),
        ContactChannel.line: _("LINE message"),
        ContactChannel.other: _("Other"),
    }


def reason_labels() -> dict[str, str]:
    return {
        ContactReason.appointment: _("Appointment"),
        ContactReason.result_question: _("Question about results"),
        ContactReason.disease_information: _("Disease information"),
        ContactReason.medication: _("Medicines"),
        ContactReason.billing: _("Payment / rights"),
        ContactReason.complaint: _("Complaint"),
        ContactReason.follow_up: _("Follow-up"),
        ContactReason.other: _("Other"),
    }


def outcome_labels() -> dict[str, str]:
    return {
        ContactOutcome.answered: _("Question answered"),
        ContactOutcome.reached: _("Reached the patient"),
        ContactOutcome.no_answer: _("No answer"),
        ContactOutcome.wrong_number: _("Wrong number"),
        ContactOutcome.appointment_booked: _("Appointment booked"),
        ContactOutcome.call_back_later: _("Call back later"),
        ContactOutcome.referred: _("Referred to another unit"),
        ContactOutcome.other: _("Other"),
    }
