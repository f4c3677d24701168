"""Words staff see for care-record codes."""

from __future__ import annotations

from prm.i18n import _
from prm.models.care import AppointmentStatus, DispenseStatus, EncounterClass, Interpretation


def appointment_status_labels() -> dict[str, str]:
    return {
        AppointmentStatus.proposed: _("Proposed"),
        AppointmentStatus.booked: _("Booked"),
        AppointmentStatus.confirmed: _("Confirmed"),
        AppointmentStatus.arrived: _("Checked in"),
        AppointmentStatus.fulfilled: _("Seen"),
        AppointmentStatus.cancelled: _("Cancelled"),
        AppointmentStatus.noshow: _("No-show"),
    }


def encounter_class_labels() -> dict[str, str]:
    return {
        EncounterClass.outpatient: _("Outpatient visit"),
        EncounterClass.emergency: _("Emergency visit"),
        EncounterClass.inpatient: _("Admission"),
    }


def interpretation_labels() -> dict[str, str]:
    return {
        Interpretation.normal: _("Normal"),
        Interpretation.high: _("High"),
        Interpretation.low: _("Low"),
        Interpretation.critical_high: _("Critically high"),
        Interpretation.critical_low: _("Critically low"),
        Interpretation.abnormal: _("Abnormal"),
        Interpretation.critical_abnormal: _("Critically abnormal"),
    }


def dispense_status_labels() -> dict[str, str]:
    return {
        DispenseStatus.prepared: _("Ready for pickup"),
        DispenseStatus.handed_over: _("Collected"),
        DispenseStatus.cancelled: _("Cancelled"),
    }
