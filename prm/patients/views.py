"""Patient registry pages: search, register and edit. The 360° page is
``prm.patient_page``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.errors import PrmError
from prm.i18n import current_language
from prm.models.patient import Channel, Sex
from prm.patients import service
from prm.patients.forms import NewPatientForm, PatientForm
from prm.patients.identifiers import country_choices
from prm.patients.search import SearchPlace, find_patients
from prm.roles import Permission
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
from prm.web.templating import render

router = APIRouter(prefix="/patients")
Viewer = Annotated[StaffMember, require(Permission.patient_view)]
Editor = Annotated[StaffMember, require(Permission.patient_edit)]


@router.get("")
def patient_search(request: Request, session: SessionDep, user: Viewer, q: str = "",
                   open: int = 0):
    result = find_patients(session, query=q, limit=50, place=SearchPlace.page,
                           actor=actor_for(request, user))
    context = {"result": result, "q": q, "segment_names": service.segment_names(session)}
    session.commit()
    if open and len(result.patients) == 1:
        return htmx.redirect(request, f"/patients/{result.patients[0].id}")
    template = "patients/_results.html" if htmx.is_htmx(request) else "patients/search.html"
    return render(request, template, context)


@router.get("/suggest")
def patient_suggest(request: Request, session: SessionDep, user: Viewer, q: str = ""):
    """The top bar's drop-down as staff type."""
    result = find_patients(session, query=q, limit=8, place=SearchPlace.suggestions,
                           actor=actor_for(request, user))
    session.commit()
    return render(request, "patients/_suggest.html", {"result": result, "q": q})


def _form_context(session, form: PatientForm, **extra) -> dict:
    return {"form": form, "segment_options": list(service.segment_names(session).items()),
            "countries": country_choices(current_language.get()),
            "sexes": list(Sex), "channels": list(Channel), **extra}


@router.get("/new")
def new_patient(request: Request, session: SessionDep, user: Editor):
    return render(request, "patients/form.html", _form_context(session, PatientForm()))


@router.post("")
def create_patient(request: Request, session: SessionDep, user: Editor, posted: Posted):
    return submit(
        request, session, NewPatientForm, posted,
        save=lambda form: service.create_patient(session, form=form,
                                                 actor=actor_for(request, user)),
        show=lambda form, error: render(request, "patients/form.html",
                                        _form_context(session, form, error=error.message)),
        done=lambda form, patient: f"/patients/{patient.id}")


@router.get("/{patient_id}/edit")
def edit_patient(request: Request, session: SessionDep, user: Editor, patient_id: RowId):
    patient = service.view_patient(session, patient_id=patient_id,
                                   actor=actor_for(request, user))
    session.commit()
    return render(request, "patients/form.html",
                  _form_context(session, PatientForm.from_patient(patient), patient=patient))


@router.post("/{patient_id}")
def update_patient(request: Request, session: SessionDep, user: Editor, patient_id: RowId,
                   posted: Posted):
    patient = service.get_patient(session, patient_id)
    actor = actor_for(request, user)

    def show(form: PatientForm, error: PrmError):
        service.record_view(session, patient_id=patient_id, actor=actor)
        return render(request, "patients/form.html", _form_context(
            session, form, patient=patient, error=error.message))

    return submit(
        request, session, PatientForm, posted,
        save=lambda form: service.update_patient(session, patient=patient, form=form,
                                                 actor=actor),
        show=show,
        done=lambda form, patient: f"/patients/{patient.id}")
