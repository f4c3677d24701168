"""The plain records ``fhir_adapter`` hands to :func:`prm.ingest.ingest`.

They carry PRM vocabulary (our statuses, E.164 phones, UTC datetimes) and source keys,
never FHIR model objects: ``prm`` does not import ``fhir.resources``. A reference to
another source record is written ``"Type/id"`` (e.g. ``"Patient/123"``) on the same
server; the ingest resolves it, whatever order the records arrive in.

Records are small frozen dataclasses so they pickle cheaply between the import's
worker processes and the process that writes to the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class SourceKey:
    """Where a record came from: (server, resource type, resource id) plus its version.

    ``server`` is a short stable name of the FHIR server (or of a file import's
    source). A record with an older ``version_id``/``last_updated`` than the one stored
    never overwrites the stored one.
    """

    server: str
    resource_type: str
    resource_id: str
    version_id: str | None = None
    last_updated: datetime | None = None

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


@dataclass(frozen=True, slots=True)
class PatientRecord:
    key: SourceKey
    hn: str | None = None
    national_id: str | None = None
    passport_no: str | None = None
    passport_country: str | None = None
    title_th: str = ""
    given_name_th: str = ""
    family_name_th: str = ""
    title_en: str = ""
    given_name_en: str = ""
    family_name_en: str = ""
    birth_date: date | None = None
    sex: str = "unknown"  # female | male | other | unknown
    nationality: str | None = None  # ISO 3166 alpha-2, when the source says
    phones_e164: tuple[str, ...] = ()
    preferred_language: str | None = None  # "th", "en", …
    deceased: bool = False
    deceased_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CoverageRecord:
    """A payer entitlement as the source describes it; the segment is decided in PRM by
    the admin-editable segment mapping rules, from these codes.

    ``codes`` are ``"system|code"`` strings from the coverage type and class, and
    ``payor_identifiers`` ``"system|value"`` strings; ``origin`` says whether it came
    from a Coverage or was inferred from a claim (``"coverage"``, ``"claim"``, ``"eob"``):
    inferred ones only count when the patient has no Coverage.
    """

    key: SourceKey
    patient_ref: str
    active: bool = True
    codes: tuple[str, ...] = ()
    payor_identifiers: tuple[str, ...] = ()
    payor_name: str = ""
    member_id: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    origin: str = "coverage"


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    key: SourceKey
    name: str = ""
    identifiers: tuple[str, ...] = ()  # "system|value"


@dataclass(frozen=True, slots=True)
class PractitionerRecord:
    key: SourceKey
    name_en: str = ""
    name_th: str = ""


@dataclass(frozen=True, slots=True)
class ClinicRef:
    """The service an appointment or visit belongs to, as a code and a display name."""

    code: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class AppointmentRecord:
    key: SourceKey
    patient_ref: str
    starts_at: datetime
    minutes: int = 15
    status: str = "booked"  # PRM AppointmentStatus values
    practitioner_ref: str | None = None
    clinic: ClinicRef | None = None
    organization_ref: str | None = None  # where it takes place, when the source says
    reason: str = ""
    cancel_reason: str = ""


@dataclass(frozen=True, slots=True)
class EncounterRecord:
    key: SourceKey
    patient_ref: str
    encounter_class: str  # outpatient | emergency | inpatient
    started_at: datetime
    ended_at: datetime | None = None
    discharge_disposition: str = ""
    finished: bool = True  # status finished (vs planned/in-progress/cancelled)
    cancelled: bool = False
    clinic: ClinicRef | None = None
    organization_ref: str | None = None  # serviceProvider


@dataclass(frozen=True, slots=True)
class MedicationOrderRecord:
    key: SourceKey
    patient_ref: str
    medication: str
    ordered_at: datetime
    active: bool = True
    instructions: str = ""
    supply_days: int | None = None  # expected supply duration, in days
    refills: int = 0
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class MedicationDispenseRecord:
    key: SourceKey
    patient_ref: str
    status: str  # prepared | handed_over | cancelled
    order_ref: str | None = None
    prepared_at: datetime | None = None
    handed_over_at: datetime | None = None
    days_supply: int | None = None


@dataclass(frozen=True, slots=True)
class LabResultRecord:
    key: SourceKey
    patient_ref: str
    test_name: str
    test_code: str = ""
    value: str = ""
    unit: str = ""
    reference_range: str = ""
    interpretation: str = "normal"  # PRM Interpretation values
    status: str = "final"  # final | amended | corrected | preliminary | …
    effective_at: datetime | None = None
    released_at: datetime | None = None  # Observation.issued when final


@dataclass(frozen=True, slots=True)
class LabReportRecord:
    """A released report: its final status and issue time release the results it lists."""

    key: SourceKey
    patient_ref: str
    status: str
    issued_at: datetime | None = None
    result_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeletedRecord:
    """The source deleted this resource (HTTP 410, a bulk ``deleted`` entry)."""

    key: SourceKey


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """Something that could not be read or mapped, kept with its raw text and the error
    in words so nothing is silently dropped; ``origin`` says where it was found (file and
    line, or URL)."""

    server: str
    origin: str
    error: str
    raw: str
    resource_type: str = ""
    resource_id: str = ""


IngestRecord = (
    PatientRecord | CoverageRecord | OrganizationRecord | PractitionerRecord
    | AppointmentRecord | EncounterRecord | MedicationOrderRecord
    | MedicationDispenseRecord | LabResultRecord | LabReportRecord | DeletedRecord
)

# The order records are written in, so references usually resolve on arrival.
RECORD_ORDER: tuple[type, ...] = (
    OrganizationRecord, PractitionerRecord, PatientRecord, CoverageRecord, EncounterRecord,
    AppointmentRecord, MedicationOrderRecord, MedicationDispenseRecord, LabResultRecord,
    LabReportRecord, DeletedRecord,
)


@dataclass(slots=True)
class TypeCounts:
    read: int = 0
    imported: int = 0
    unchanged: int = 0
    quarantined: int = 0
    skipped: int = 0
    waiting: int = 0  # kept until a referenced record arrives
    # Records parked by an earlier run, written now that what they refer to arrived
    # (not part of this run's input, so outside the read = … sum).
    linked: int = 0


@dataclass(slots=True)
class IngestSummary:
    by_type: dict[str, TypeCounts] = field(default_factory=dict)

    def counts(self, resource_type: str) -> TypeCounts:
        return self.by_type.setdefault(resource_type, TypeCounts())
