"""Care records follow-up hangs on: clinics, clinicians, appointments, encounters,
medication orders and dispenses, lab results."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, text
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class Clinic(SQLModel, table=True):
    __tablename__ = "clinic"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    name_th: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    active: bool = Field(default=True)


class Clinician(SQLModel, table=True):
    __tablename__ = "clinician"

    id: int | None = Field(default=None, primary_key=True)
    name_th: str = Field(default="", max_length=200)
    name_en: str = Field(default="", max_length=200)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id", index=True)
    active: bool = Field(default=True)


class AppointmentStatus(StrEnum):
    proposed = "proposed"
    booked = "booked"
    confirmed = "confirmed"
    arrived = "arrived"
    fulfilled = "fulfilled"
    cancelled = "cancelled"
    noshow = "noshow"


# Statuses that hold a clinician's slot (and can still become a no-show).
ACTIVE_APPOINTMENT_STATUSES = (
    AppointmentStatus.proposed, AppointmentStatus.booked, AppointmentStatus.confirmed,
)
_SLOT_HOLDING = "status IN ('proposed', 'booked', 'confirmed', 'arrived', 'fulfilled')"


class Appointment(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_patient_start", "patient_id", "starts_at"),
        Index("ix_appointment_status_start", "status", "starts_at"),
        Index("ix_appointment_clinic_start", "clinic_id", "starts_at"),
        # The appointments day's overview: a day's range, counted by clinic and status
        # from the index alone.
        Index("ix_appointment_start_clinic_status", "starts_at", "clinic_id", "status"),
        # One patient per clinician per slot; cancelled and no-show slots are free again.
        Index("uq_appointment_clinician_slot", "clinician_id", "starts_at", unique=True,
              sqlite_where=text(_SLOT_HOLDING), postgresql_where=text(_SLOT_HOLDING)),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    clinic_id: int = Field(foreign_key="clinic.id")
    clinician_id: int | None = Field(default=None, foreign_key="clinician.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    minutes: int = Field(default=15)
    status: AppointmentStatus = Field(default=AppointmentStatus.booked, sa_type=String(12))
    reason: str = Field(default="", max_length=300)
    cancel_reason: str = Field(default="", max_length=300)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The discharge this appointment follows up, if it was given at discharge.
    follow_up_of_encounter_id: int | None = Field(default=None, foreign_key="encounter.id",
                                                  index=True)
    booked_via: str = Field(default="desk", max_length=20)
    created_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AppointmentChange(SQLModel, table=True):
    """History: every status change and reschedule, with who and why."""

    __tablename__ = "appointment_change"

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(foreign_key="appointment.id", index=True, ondelete="CASCADE")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    from_status: str = Field(default="", max_length=12)
    to_status: str = Field(max_length=12)
    from_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    to_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=300)
    actor_user_id: int | None = Field(default=None, foreign_key="staff_user.id")


class EncounterClass(StrEnum):
    outpatient = "outpatient"
    emergency = "emergency"
    inpatient = "inpatient"


class Encounter(SQLModel, table=True):
    __tablename__ = "encounter"
    __table_args__ = (
        Index("ix_encounter_patient_start", "patient_id", "started_at"),
        Index("ix_encounter_class_discharged", "encounter_class", "discharged_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    encounter_class: EncounterClass = Field(sa_type=String(12))
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id")
    started_at: datetime = Field(sa_type=UTCDateTime)
    discharged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    discharge_disposition: str = Field(default="", max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MedicationOrder(SQLModel, table=True):
    __tablename__ = "medication_order"
    __table_args__ = (Index("ix_medication_order_active_due", "active", "next_pickup_due"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    medication: str = Field(max_length=200)
    instructions: str = Field(default="", max_length=300)
    ordered_at: datetime = Field(sa_type=UTCDateTime)
    supply_days: int = Field(default=30)
    refills_remaining: int = Field(default=0)
    next_pickup_due: date | None = None
    active: bool = Field(default=True)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id")


class DispenseStatus(StrEnum):
    prepared = "prepared"
    handed_over = "handed_over"
    cancelled = "cancelled"


class MedicationDispense(SQLModel, table=True):
    __tablename__ = "medication_dispense"
    __table_args__ = (Index("ix_medication_dispense_order_status", "order_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="medication_order.id")
    patient_id: int = Field(foreign_key="patient.id", index=True)
    status: DispenseStatus = Field(sa_type=String(12))
    prepared_at: datetime = Field(sa_type=UTCDateTime)
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Interpretation(StrEnum):
    normal = "normal"
    high = "high"
    low = "low"
    critical_high = "critical_high"
    critical_low = "critical_low"
    abnormal = "abnormal"
    critical_abnormal = "critical_abnormal"


CRITICAL_INTERPRETATIONS = (
    Interpretation.critical_high, Interpretation.critical_low, Interpretation.critical_abnormal,
)


class LabResult(SQLModel, table=True):
    __tablename__ = "lab_result"
    __table_args__ = (
        Index("ix_lab_result_patient_released", "patient_id", "released_at"),
        Index("ix_lab_result_followup", "interpretation", "acknowledged_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    test_code: str = Field(default="", max_length=40)
    test_name: str = Field(max_length=200)
    value: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=40)
    reference_range: str = Field(default="", max_length=100)
    interpretation: Interpretation = Field(default=Interpretation.normal, sa_type=String(14))
    status: str = Field(default="final", max_length=12)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
