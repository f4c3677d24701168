"""Words staff see for care-record codes."""

from __future__ import annotations

from prm.care.appointments import HistoryReason
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


def discharge_disposition_labels() -> dict[str, str]:
    """Where a patient went from an admission or the ER, by the codes of FHIR's
    discharge-disposition system (and the demo's "transfer"); a hospital's own words,
    which arrive as text, are shown as they are."""
    return {
        "home": _("Went home"),
        "alt-home": _("Went to another home"),
        "other-hcf": _("Transferred to another facility"),
        "hosp": _("Went to hospice"),
        "long": _("Went to long-term care"),
        "aadvice": _("Left against advice"),
        "exp": _("Died"),
        "deceased": _("Died"),
        "psy": _("Transferred to a psychiatric hospital"),
        "rehab": _("Transferred to rehabilitation"),
        "snf": _("Transferred to a skilled nursing facility"),
        "transfer": _("Transferred to another hospital"),
        "oth": _("Other"),
    }


def history_reason(reason: str) -> str:
    """A reason in an appointment's history: the words for the ones the desk writes
    itself, a reason staff typed as they typed it."""
    return {
        HistoryReason.rescheduled: _("Moved to another time"),
        HistoryReason.no_check_in: _("Marked a no-show automatically: no check-in"),
    }.get(reason, reason)
