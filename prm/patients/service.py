"""Registering and changing patients; their payer coverage and segment; notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, bindparam, func
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from prm import timeline
from prm.audit import service as audit
from prm.audit.service import Actor
from prm.config import get_settings
from prm.errors import Conflict, NotFound, ValidationFailed
from prm.i18n import _, current_language
from prm.models.audit import AuditAction
from prm.models.care import ACTIVE_APPOINTMENT_STATUSES, Appointment, Clinic
from prm.models.contact import PatientNote
from prm.models.patient import Coverage, Patient
from prm.models.segment import FOREIGN_UNINSURED, SELF_PAY, Segment
from prm.models.types import utcnow
from prm.patients.forms import PatientForm
from prm.segments.derivation import (
    deciding_coverage,
    derive_segment,
    hospital_today,
    is_current,
    refresh_segments,
)
from prm.timeline import TimelineItem

# Fields whose change is worth naming on the timeline ("phone, SMS consent changed").
_TRACKED_FIELDS = (
    "hn", "national_id", "passport_no", "title_th", "given_name_th", "family_name_th",
    "title_en", "given_name_en", "family_name_en", "birth_date", "sex", "nationality",
    "phone_e164", "phone_alt_e164", "preferred_language", "preferred_channel",
)


def get_patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(_("No patient with that id."))
    return patient


def view_patient(session: Session, *, patient_id: int, actor: Actor) -> Patient:
    """Load a patient for display and write the audit row every record view needs."""
    patient = get_patient(session, patient_id)
    record_view(session, patient_id=patient.id, actor=actor)
    return patient


def record_view(session: Session, *, patient_id: int, actor: Actor) -> None:
    """The audit row every view of a patient's record needs (the caller commits)."""
    audit.record(session, actor=actor, action=AuditAction.view, entity_type="patient",
                 entity_id=patient_id, patient_id=patient_id)


def search_fields(values: dict) -> dict:
    """The derived columns name search reads, from the name fields."""
    names = [values.get(k) or "" for k in
             ("given_name_th", "family_name_th", "given_name_en", "family_name_en")]
    return {
        "given_name_en_lc": (values.get("given_name_en") or "").lower(),
        "family_name_en_lc": (values.get("family_name_en") or "").lower(),
        "name_search": " ".join(n.lower() for n in names if n),
    }


def create_patient(session: Session, *, form: PatientForm, actor: Actor) -> Patient:
    """Register a patient with their first payer coverage.

    Raises ValidationFailed (field errors on ``form.errors``) or Conflict (HN or national
    ID already registered); nothing is written in either case.
    """
    values = form.row_values()
    segment = _payer_segment(session, form)
    _raise_if_invalid(form)
    values["hn"] = values["hn"] or next_hn(session)
    _ensure_unique(session, values, patient_id=None, form=form)
    now = utcnow()
    patient = Patient(**values, **search_fields(values), segment_code=SELF_PAY,
                      created_at=now, updated_at=now)
    if form.sms_consent:
        patient.sms_consent = True
        patient.sms_consent_changed_at = now
        patient.sms_consent_source = "registration"
    session.add(patient)
    session.flush()
    if segment and segment.code not in (SELF_PAY, FOREIGN_UNINSURED):
        _add_coverage_row(session, patient, segment, form.payer_name, form.member_id,
                          form.referral_from)
    refresh_segment(session, patient=patient)
    timeline.record(session, patient=patient, kind="registered", actor=actor,
                    data={"hn": patient.hn, "segment": patient.segment_code})
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="patient",
                 entity_id=patient.id, patient_id=patient.id)
    return patient


def update_patient(
    session: Session, *, patient: Patient, form: PatientForm, actor: Actor
) -> Patient:
    """Apply an edit. Raises ValidationFailed or Conflict; nothing is written then."""
    values = form.row_values()
    values["hn"] = values["hn"] or patient.hn
    _raise_if_invalid(form)
    _ensure_unique(session, values, patient_id=patient.id, form=form)
    changed = [name for name in _TRACKED_FIELDS if getattr(patient, name) != values[name]]
    for name, value in {**values, **search_fields(values)}.items():
        setattr(patient, name, value)
    if form.sms_consent != patient.sms_consent:
        _apply_consent(session, patient, form.sms_consent, "staff edit", actor)
        changed.append("sms_consent")
    if not changed:
        return patient
    patient.updated_at = utcnow()
    session.add(patient)
    session.flush()
    refresh_segment(session, patient=patient)
    timeline.record(session, patient=patient, kind="edited", actor=actor,
                    data={"fields": changed})
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="patient",
                 entity_id=patient.id, patient_id=patient.id, detail=",".join(changed))
    return patient


def _raise_if_invalid(form: PatientForm) -> None:
    if form.errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=form.errors)


def _ensure_unique(session: Session, values: dict, *, patient_id: int | None, form) -> None:
    for name, message in (("hn", _("This HN belongs to another patient.")),
                          ("national_id", _("This national ID is already registered."))):
        if not values.get(name):
            continue
        other = session.exec(
            select(Patient.id).where(getattr(Patient, name) == values[name])
        ).first()
        if other is not None and other != patient_id:
            form.errors[name] = message
            raise Conflict(message, field_errors=form.errors)


def next_hn(session: Session, today: date | None = None) -> str:
    """Next HN in the hospital's pattern: two-digit Buddhist-era year + six-digit number."""
    today = today or hospital_today(get_settings().tz)
    prefix = f"{(today.year + 543) % 100:02d}"
    highest = session.exec(
        select(func.max(Patient.hn)).where(col(Patient.hn).like(f"{prefix}______"))
    ).one()
    number = int(highest[2:]) + 1 if highest else 1
    return f"{prefix}{number:06d}"


def _payer_segment(session: Session, form: PatientForm) -> Segment:
    segment = session.get(Segment, form.segment_code) if form.segment_code else None
    if form.segment_code and (segment is None or not segment.active):
        form.errors["segment_code"] = _("Choose one of the options.")
    if segment and segment.code == "social_security_referral" and not form.referral_from:
        form.errors["referral_from"] = _(
            "A social-security referral needs the referring hospital (referral letter)."
        )
    return segment or Segment(code=SELF_PAY, name_th="", name_en="")


def _add_coverage_row(session, patient, segment, payer_name, member_id, referral_from,
                      valid_from=None, valid_to=None) -> Coverage:
    coverage = Coverage(
        patient_id=patient.id, segment_code=segment.code, payer_name=payer_name,
        member_id=member_id, referral_from=referral_from, valid_from=valid_from,
        valid_to=valid_to,
    )
    session.add(coverage)
    session.flush()
    return coverage


def add_coverage(
    session: Session, *, patient: Patient, segment_code: str, payer_name: str = "",
    member_id: str = "", referral_from: str = "", valid_from: date | None = None,
    valid_to: date | None = None, actor: Actor,
) -> Coverage:
    """Add a payer entitlement and re-derive the segment. Raises ValidationFailed."""
    form = PatientForm(segment_code=segment_code, referral_from=referral_from)
    segment = _payer_segment(session, form)
    if valid_from and valid_to and valid_to < valid_from:
        form.errors["valid_to"] = _("The end date is before the start date.")
    _raise_if_invalid(form)
    coverage = _add_coverage_row(session, patient, segment, payer_name, member_id,
                                 referral_from, valid_from, valid_to)
    before = patient.segment_code
    refresh_segment(session, patient=patient)
    timeline.record(session, patient=patient, kind="coverage_added", actor=actor,
                    data={"segment": segment.code, "segment_names": _names(segment),
                          "before": before, "after": patient.segment_code},
                    ref_type="coverage", ref_id=coverage.id)
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="coverage",
                 entity_id=coverage.id, patient_id=patient.id)
    return coverage


def end_coverage(session: Session, *, patient: Patient, coverage_id: int, actor: Actor) -> None:
    coverage = session.get(Coverage, coverage_id)
    if coverage is None or coverage.patient_id != patient.id:
        raise NotFound(_("No such coverage for this patient."))
    coverage.active = False
    session.add(coverage)
    session.flush()
    before = patient.segment_code
    refresh_segment(session, patient=patient)
    timeline.record(session, patient=patient, kind="coverage_ended", actor=actor,
                    data={"segment": coverage.segment_code,
                          "segment_names": _names(session.get(Segment, coverage.segment_code)),
                          "before": before, "after": patient.segment_code},
                    ref_type="coverage", ref_id=coverage.id)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="coverage",
                 entity_id=coverage.id, patient_id=patient.id, detail="ended")


def _names(segment: Segment | None) -> dict[str, str]:
    return {"th": segment.name_th, "en": segment.name_en} if segment else {}


def coverages(session: Session, *, patient: Patient) -> list[Coverage]:
    return list(session.exec(
        select(Coverage).where(Coverage.patient_id == patient.id)
        .order_by(col(Coverage.active).desc(), col(Coverage.created_at).desc())
    ))


def refresh_segment(session: Session, *, patient: Patient, today: date | None = None) -> str:
    """Re-derive the patient's segment (prm.segments.derivation) on the hospital's date."""
    today = today or hospital_today(get_settings().tz)
    segment = refresh_segments(session, [patient.id], today=today)[patient.id]
    # The row is already updated; the object learns the value without writing it again.
    set_committed_value(patient, "segment_code", segment)
    return segment


def set_sms_consent(
    session: Session, *, patient: Patient, consent: bool, source: str, actor: Actor
) -> None:
    if consent and not patient.phone_e164:
        raise ValidationFailed(_("SMS consent needs a mobile number."),
                               field_errors={"phone": _("SMS consent needs a mobile number.")})
    if consent == patient.sms_consent:
        return
    _apply_consent(session, patient, consent, source, actor)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="patient",
                 entity_id=patient.id, patient_id=patient.id, detail="sms_consent")


def _apply_consent(session, patient: Patient, consent: bool, source: str, actor: Actor) -> None:
    patient.sms_consent = consent
    patient.sms_consent_changed_at = utcnow()
    patient.sms_consent_source = source
    session.add(patient)
    session.flush()
    timeline.record(session, patient=patient, kind="consent", actor=actor,
                    data={"consent": consent, "source": source})


def add_note(session: Session, *, patient: Patient, text: str, actor: Actor) -> PatientNote:
    text = text.strip()
    if not text:
        raise ValidationFailed(_("The note is empty."), field_errors={"text": _("Required.")})
    if len(text) > 4000:
        raise ValidationFailed(_("Notes are limited to 4000 characters."),
                               field_errors={"text": _("Too long.")})
    note = PatientNote(patient_id=patient.id, text=text, author_user_id=actor.user_id)
    session.add(note)
    session.flush()
    timeline.record(session, patient=patient, kind="note", actor=actor, body=text,
                    ref_type="note", ref_id=note.id)
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="note",
                 entity_id=note.id, patient_id=patient.id)
    return note


def segments(session: Session, *, active_only: bool = True) -> list[Segment]:
    query = select(Segment).order_by(Segment.rank)
    if active_only:
        query = query.where(Segment.active == True)  # noqa: E712
    return list(session.exec(query))


_SEGMENT_ROWS = select(
    Segment.code, Segment.name_th, Segment.name_en, Segment.description, Segment.rank,
    Segment.colour, Segment.active,
).order_by(Segment.rank)


def segment_names(session: Session) -> dict[str, str]:
    """Active segments in rank order, code → name in the current language."""
    return names_of(session.connection().execute(_SEGMENT_ROWS))


def names_of(segments) -> dict[str, str]:
    """Of segment rows (rank order): the active ones, code → name in the current language."""
    thai = current_language.get() == "th"
    return {s.code: s.name_th if thai else s.name_en for s in segments if s.active}


# --- The 360° page -------------------------------------------------------------------
# Everything it shows, read as plain rows by statements built once: on every view of
# every patient, building statements and loading ORM objects cost more than the reading.

_PATIENT = select(Patient.__table__).where(Patient.__table__.c.id == bindparam("patient_id"))
_COVERAGES = (
    select(Coverage.id, Coverage.segment_code, Coverage.payer_name, Coverage.member_id,
           Coverage.referral_from, Coverage.valid_from, Coverage.valid_to, Coverage.active,
           Coverage.source)
    .where(Coverage.patient_id == bindparam("patient_id"))
    .order_by(col(Coverage.active).desc(), col(Coverage.created_at).desc())
)
# At most this many next appointments in the side panel.
UPCOMING_LIMIT = 5
_UPCOMING = (
    select(Appointment.id, Appointment.starts_at, Appointment.clinic_id, Appointment.status)
    .where(Appointment.patient_id == bindparam("patient_id"),
           Appointment.starts_at >= bindparam("now"),
           col(Appointment.status).in_(ACTIVE_APPOINTMENT_STATUSES))
    .order_by(col(Appointment.starts_at)).limit(UPCOMING_LIMIT)
)
_ACTIVE_CLINICS = (select(Clinic.id, Clinic.name_th, Clinic.name_en)
                   .where(Clinic.active == True)  # noqa: E712
                   .order_by(Clinic.name_en))


@dataclass
class Overview:
    """The 360° page's reading of one patient: rows to show, nothing to change."""

    patient: Row
    # The segment the rule gives today (prm.segments.derivation), even when it is inactive
    # now, and the coverage it comes from (None: from the nationality, no current one).
    segment: Row | None
    deciding_coverage_id: int | None
    current_coverage_ids: frozenset[int]
    segment_names: dict[str, str]  # active ones, rank order, current language
    coverages: list[Row]  # active first, newest first
    upcoming: list[Row]  # next booked appointments, soonest first
    clinics: list[Row]  # active, by English name
    timeline: list[TimelineItem]


def overview(session: Session, *, patient_id: int, group: str = "",
             timeline_limit: int = 25) -> Overview:
    """Raises NotFound. The caller records the view (``record_view``)."""
    params = {**timeline.params(patient_id, group=group, limit=timeline_limit),
              "now": utcnow()}
    found = {name: session.execute(query, params).all() for name, query in {
        "patient": _PATIENT, "segments": _SEGMENT_ROWS, "coverages": _COVERAGES,
        "upcoming": _UPCOMING, "clinics": _ACTIVE_CLINICS, **timeline.queries(group),
    }.items()}
    return _overview_of(found, timeline_limit)


def _overview_of(found: dict[str, list], timeline_limit: int) -> Overview:
    if not found["patient"]:
        raise NotFound(_("No patient with that id."))
    patient, coverages = found["patient"][0], found["coverages"]
    # The badge and the coverage panel both say what the rule says today, whatever the
    # stored segment was when it was last refreshed.
    ranks, today = {s.code: s.rank for s in found["segments"]}, hospital_today(get_settings().tz)
    code = derive_segment(coverages, nationality=patient.nationality, ranks=ranks, today=today)
    deciding = deciding_coverage(coverages, ranks=ranks, today=today)
    return Overview(
        patient=patient,
        segment=next((s for s in found["segments"] if s.code == code), None),
        deciding_coverage_id=deciding.id if deciding else None,
        current_coverage_ids=frozenset(c.id for c in coverages if is_current(c, today)),
        segment_names=names_of(found["segments"]), coverages=coverages,
        upcoming=found["upcoming"], clinics=found["clinics"],
        timeline=timeline.merge(found, timeline_limit),
    )


def recently_viewed(session: Session, *, actor: Actor, limit: int = 10) -> list[Patient]:
    """The patients this user opened most recently, newest first (from the audit log);
    a list of patients on screen, so audited too (the caller commits)."""
    ids = audit.recently_viewed_patient_ids(session, user_id=actor.user_id, limit=limit)
    found = {p.id: p for p in session.exec(select(Patient).where(col(Patient.id).in_(ids)))}
    patients = [found[i] for i in ids if i in found]
    if patients:
        audit.record_shown(session, actor=actor, action=AuditAction.listing,
                           entity_type="recent_patients", patient_ids=[p.id for p in patients])
    return patients
