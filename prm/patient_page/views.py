"""The 360° patient page (``/patients/{id}``): the record, its timeline and the side
panel's quick actions (log a contact, add a note, consent, coverage).

A package of its own because the page brings features together: it reads patients,
care and contacts, while care and contacts read patients. Registering, editing and
searching patients stay in ``prm.patients``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.datastructures import FormData

from prm import timeline
from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.care.labels import appointment_status_labels
from prm.contacts import labels as contact_labels
from prm.contacts import service as contacts
from prm.db import SessionDep
from prm.errors import PrmError
from prm.forms import Form
from prm.i18n import current_language
from prm.patient_page.forms import ConsentForm, ContactForm, CoverageForm, NoteForm
from prm.patients import service
from prm.patients.identifiers import country_name
from prm.patients.service import Overview
from prm.patients.timeline_kinds import consent_source
from prm.roles import Permission
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
from prm.web.templating import render

router = APIRouter(prefix="/patients")
Viewer = Annotated[StaffMember, require(Permission.patient_view)]
Editor = Annotated[StaffMember, require(Permission.patient_edit)]
Caller = Annotated[StaffMember, require(Permission.contact_log)]
# Timeline entries per page: enough for a screen; "older entries" fetches the next page.
TIMELINE_PAGE = 25


@router.get("/{patient_id}")
def patient_page(request: Request, session: SessionDep, user: Viewer, patient_id: RowId,
                 group: str = ""):
    page = service.overview(session, patient_id=patient_id, group=group,
                            timeline_limit=TIMELINE_PAGE)
    # Audited and committed before any of the page leaves the server.
    service.record_view(session, patient_id=patient_id, actor=actor_for(request, user))
    session.commit()
    return render(request, "patients/detail.html", _detail_context(page, group))


def _detail_context(page: Overview, group: str = "", action_error: PrmError | None = None,
                    action_form: Form | None = None) -> dict:
    thai = current_language.get() == "th"
    return {
        "patient": page.patient,
        "patient_id": page.patient.id,
        "sms_consent": page.patient.sms_consent,
        "segment": page.segment,
        "deciding_coverage_id": page.deciding_coverage_id,
        "current_coverage_ids": page.current_coverage_ids,
        "coverages": page.coverages,
        "segment_names": page.segment_names,
        "segment_options": list(page.segment_names.items()),
        "timeline": page.timeline,
        "timeline_page": TIMELINE_PAGE,
        "timeline_groups": timeline.GROUPS,
        "group": group,
        "nationality": country_name(page.patient.nationality, current_language.get()),
        "consent_source": consent_source(page.patient.sms_consent_source or ""),
        **_form_labels(current_language.get()),
        "note_limit": NoteForm.max_length("text"),
        "contact_note_limit": ContactForm.max_length("note"),
        "upcoming": page.upcoming,
        "clinics": {clinic.id: clinic for clinic in page.clinics},
        "clinic_options": [(str(c.id), c.name_th if thai else c.name_en)
                           for c in page.clinics],
        # A failed quick action: the message, the fields in error, what was typed.
        "action_error": action_error,
        "err": action_form.errors if action_form else {},
        "typed": action_form.typed if action_form else {},
    }


@cache
def _form_labels(language: str) -> dict[str, dict[str, str]]:
    # Fixed texts in one language (the current one, which the label functions read):
    # worked out once per language rather than on every page view.
    return {"channel_labels": contact_labels.channel_labels(),
            "reason_labels": contact_labels.reason_labels(),
            "outcome_labels": contact_labels.outcome_labels(),
            "appointment_status_labels": appointment_status_labels()}


@router.get("/{patient_id}/timeline")
def patient_timeline(request: Request, session: SessionDep, user: Viewer, patient_id: RowId,
                     group: str = "", before: str = ""):
    patient = service.get_patient(session, patient_id)
    rows = timeline.entries(session, patient=patient, group=group, before=_parse_cursor(before),
                            limit=TIMELINE_PAGE)
    service.record_view(session, patient_id=patient.id, actor=actor_for(request, user))
    session.commit()
    return render(request, "patients/_timeline.html",
                  {"patient": patient, "timeline": rows, "group": group,
                   "timeline_page": TIMELINE_PAGE,
                   "timeline_groups": timeline.GROUPS})


def _parse_cursor(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _quick_action(request: Request, session, user: StaffMember, patient_id: int,
                  form_class: type[Form], posted: FormData, save):
    """Run a side-panel action through ``submit``: back to the page when it is done, or
    the page again with the action's panel open, its errors and what was typed."""
    patient = service.get_patient(session, patient_id)
    actor = actor_for(request, user)

    def show(form: Form, error: PrmError):
        page = service.overview(session, patient_id=patient_id, timeline_limit=TIMELINE_PAGE)
        service.record_view(session, patient_id=patient_id, actor=actor)
        return render(request, "patients/detail.html",
                      _detail_context(page, action_error=error, action_form=form))

    return submit(request, session, form_class, posted,
                  save=lambda form: save(patient, form, actor), show=show,
                  done=lambda form, _result: f"/patients/{patient_id}")


@router.post("/{patient_id}/contacts")
def log_contact(request: Request, session: SessionDep, user: Caller, patient_id: RowId,
                posted: Posted):
    def save(patient, form: ContactForm, actor):
        return contacts.log_contact(session, patient=patient, channel=form.channel,
                                    reason=form.reason, outcome=form.outcome, note=form.note,
                                    actor=actor, booking=form.booking())

    return _quick_action(request, session, user, patient_id, ContactForm, posted, save)


@router.post("/{patient_id}/notes")
def add_note(request: Request, session: SessionDep, user: Caller, patient_id: RowId,
             posted: Posted):
    def save(patient, form: NoteForm, actor):
        return service.add_note(session, patient=patient, text=form.text, actor=actor)

    return _quick_action(request, session, user, patient_id, NoteForm, posted, save)


@router.post("/{patient_id}/consent")
def set_consent(request: Request, session: SessionDep, user: Editor, patient_id: RowId,
                posted: Posted):
    def save(patient, form: ConsentForm, actor):
        return service.set_sms_consent(session, patient=patient, consent=form.given,
                                       source=form.source or "staff", actor=actor)

    return _quick_action(request, session, user, patient_id, ConsentForm, posted, save)


@router.post("/{patient_id}/coverages")
def add_coverage(request: Request, session: SessionDep, user: Editor, patient_id: RowId,
                 posted: Posted):
    def save(patient, form: CoverageForm, actor):
        return service.add_coverage(
            session, patient=patient, segment_code=form.segment_code,
            payer_name=form.payer_name, member_id=form.member_id,
            referral_from=form.referral_from, valid_from=form.valid_from,
            valid_to=form.valid_to, actor=actor)

    return _quick_action(request, session, user, patient_id, CoverageForm, posted, save)


@router.post("/{patient_id}/coverages/{coverage_id}/end")
def end_coverage(request: Request, session: SessionDep, user: Editor, patient_id: RowId,
                 coverage_id: RowId):
    patient = service.get_patient(session, patient_id)
    service.end_coverage(session, patient=patient, coverage_id=coverage_id,
                         actor=actor_for(request, user))
    session.commit()
    return htmx.redirect(request, f"/patients/{patient_id}")
