"""The appointments desk: the day (an overview of every clinic, one clinic's list a page
at a time), booking, status changes in place (htmx), and rescheduling that keeps the
history."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember, list_users
from prm.care import appointments, day, slots
from prm.care.forms import AppointmentForm, ClinicianQuery, DayFilter, SlotQuery, StatusForm
from prm.care.labels import appointment_status_labels, history_reason
from prm.db import SessionDep
from prm.errors import PrmError, ValidationFailed
from prm.i18n import _, current_language
from prm.models.care import ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus
from prm.models.types import utcnow
from prm.patients import service as patients
from prm.patients.identifiers import clean_hn
from prm.patients.search import search_patients
from prm.roles import Permission
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
from prm.web.templating import render

router = APIRouter(prefix="/appointments")
Desk = Annotated[StaffMember, require(Permission.appointments)]

# The order statuses are counted and shown in, as the day goes.
# Every status has its chip, so the chips add up to the day's total.
STATUS_ORDER = (AppointmentStatus.proposed, AppointmentStatus.booked,
                AppointmentStatus.confirmed, AppointmentStatus.arrived,
                AppointmentStatus.fulfilled, AppointmentStatus.noshow,
                AppointmentStatus.cancelled)
RESCHEDULABLE = (*ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus.noshow)
CANCELLABLE = tuple(status for status, allowed in appointments.ALLOWED_TRANSITIONS.items()
                    if AppointmentStatus.cancelled in allowed)
# The clinic a desk chose last, so a clerk who works one clinic's list all day gets it
# back from the menu link; "All clinics" forgets it.
LAST_CLINIC_COOKIE = "prm_desk_clinic"
LAST_CLINIC_DAYS = 30


def _tz(request: Request):
    return request.app.state.settings.tz


def _today(request: Request) -> date:
    return utcnow().astimezone(_tz(request)).date()


def _name(row) -> str:
    """A clinic's or clinician's name in the page's language, else the other one."""
    if current_language.get() == "th":
        return row.name_th or row.name_en
    return row.name_en or row.name_th


def _lookups(session, request) -> dict:
    clinics = appointments.clinics(session)
    clinicians = appointments.clinicians(session)
    return {
        "clinic_names": {c.id: _name(c) for c in clinics},
        "clinician_names": {c.id: _name(c) for c in clinicians},
        "clinic_options": [(str(c.id), _name(c)) for c in clinics],
        "status_labels": appointment_status_labels(),
        "history_reason": history_reason,
        "actions_for": lambda appointment: status_actions(appointment, tz=_tz(request)),
        "reschedulable": RESCHEDULABLE,
        "cancellable": CANCELLABLE,
        "tz": request.app.state.settings.tz,
    }


def _clinician_options(session, clinic_id: int | None) -> list[tuple[str, str]]:
    return [(str(c.id), _name(c)) for c in appointments.clinicians(session, clinic_id=clinic_id)]


def status_actions(appointment, *, tz) -> list[tuple[str, str]]:
    """The buttons a row offers: the next statuses allowed now (no check-in before the
    day, no no-show before the slot is over), cancel aside (it needs a reason)."""
    status = appointment.status
    allowed = appointments.allowed_changes(appointment, now=utcnow(), tz=tz)
    buttons = {AppointmentStatus.confirmed: _("Confirm"), AppointmentStatus.arrived: _("Check in"),
               AppointmentStatus.fulfilled: _("Seen"), AppointmentStatus.noshow: _("No-show")}
    if status == AppointmentStatus.proposed:  # from confirmed, "booked" only undoes a confirm
        buttons = {AppointmentStatus.booked: _("Book"), **buttons}
    return [(to, label) for to, label in buttons.items() if to in allowed]


# --- the day ------------------------------------------------------------------------------

def _day_filters(request: Request) -> DayFilter:
    query = dict(request.query_params)
    remembered = request.cookies.get(LAST_CLINIC_COOKIE)
    if "clinic" not in query and remembered:
        query["clinic"] = remembered
    return DayFilter.read(query, today=_today(request))


def _day_context(session, request, filters: DayFilter, **extra) -> dict:
    """The overview of every clinic, or the chosen clinic's list (a page of it)."""
    lookups = _lookups(session, request)
    clinic_ids = list(lookups["clinic_names"])
    if filters.clinic not in clinic_ids:
        filters.clinic = clinic_ids[0] if len(clinic_ids) == 1 else None
    options = _clinician_options(session, filters.clinic)
    if filters.clinician and str(filters.clinician) not in dict(options):
        filters.clinician = None  # left over from another clinic: show the whole clinic
    overview = listing = None
    if filters.clinic:
        listing = day.clinic_day(session, day=filters.day, tz=_tz(request),
                                 clinic_id=filters.clinic, clinician_id=filters.clinician,
                                 page=filters.page)
    else:
        overview = day.overview(session, day=filters.day, tz=_tz(request))
    return {
        "filters": filters, "overview": overview, "listing": listing,
        "next": filters.url(page=listing.page) if listing else filters.url(),
        "status_order": STATUS_ORDER, "today": _today(request),
        "clinician_options": options, **lookups, **extra,
    }


def _remember_clinic(request: Request, response: Response, clinic_id: int | None) -> None:
    if "clinic" not in request.query_params:
        return
    if clinic_id:
        response.set_cookie(LAST_CLINIC_COOKIE, str(clinic_id), path="/appointments",
                            max_age=LAST_CLINIC_DAYS * 86400, httponly=True, samesite="lax")
    else:
        response.delete_cookie(LAST_CLINIC_COOKIE, path="/appointments")


def _audit_day(session, filters: DayFilter, listing, actor) -> None:
    if listing:  # the overview counts appointments and names nobody
        appointments.record_day_shown(
            session, day=filters.day, clinic_id=filters.clinic, page=listing.page,
            patient_ids=[patient.id for _appointment, patient in listing.rows], actor=actor)


@router.get("")
def day_view(request: Request, session: SessionDep, user: Desk):
    filters = _day_filters(request)
    context = _day_context(session, request, filters)
    _audit_day(session, filters, context["listing"], actor_for(request, user))
    session.commit()
    template = "appointments/_day.html" if htmx.is_htmx(request) else "appointments/day.html"
    response = render(request, template, context)
    _remember_clinic(request, response, filters.clinic)
    return response


@router.get("/clinicians")
def clinician_options(request: Request, session: SessionDep, user: Desk):
    """The clinician <option>s for the clinic a <select> changed to."""
    query = ClinicianQuery.parse(request.query_params)
    return render(request, "appointments/_clinician_options.html", {
        "options": _clinician_options(session, query.clinic_id or query.clinic),
        "value": query.clinician_id or query.clinician})


@router.get("/slots")
def free_slots(request: Request, session: SessionDep, user: Desk):
    """The booking form's slot picker (htmx): the chosen clinician's free times on the
    chosen day as buttons, or the next day that has some. Times only, no patient's data,
    so nothing is audited."""
    query = SlotQuery.parse(request.query_params)
    offer = None
    if query.date:
        offer = slots.offer_slots(
            session, clinic_id=query.clinic_id, clinician_id=query.clinician_id,
            day=query.date, minutes=query.minutes, moving=query.moving,
            hours=request.app.state.settings.clinic_day, tz=_tz(request), now=utcnow())
    return render(request, "appointments/_slots.html", {
        "query": query, "offer": offer, "tz": _tz(request), "today": _today(request),
        "next_day_text": offer and offer.next_free_day
        and SlotQuery(date=offer.next_free_day).typed["date"]})


# --- booking ------------------------------------------------------------------------------

def _form_context(session, request, form: AppointmentForm, error: PrmError | None = None
                  ) -> dict:
    errors = dict(form.errors)
    if "starts_at" in errors:  # the service names the slot; the form shows it by the time
        errors["time"] = errors.pop("starts_at")
    return {
        "form": form, "errors": errors, "error": error,
        "patient": patients.get_patient(session, form.patient_id) if form.patient_id else None,
        "clinician_options": _clinician_options(session, form.clinic_id),
        **_lookups(session, request),
    }


@router.get("/new")
def new_appointment(request: Request, session: SessionDep, user: Desk):
    query = request.query_params
    form = AppointmentForm.parse({"patient_id": query.get("patient_id", ""),
                                  "clinic_id": query.get("clinic", ""),
                                  "date": query.get("day") or _today(request).isoformat()})
    context = _form_context(session, request, form)
    if context["patient"]:
        appointments.record_booking_form(session, patient=context["patient"],
                                         actor=actor_for(request, user))
        session.commit()
    return render(request, "appointments/form.html", context)


def _booking_patient(session, form: AppointmentForm):
    """The patient chosen on the page, or the one whose HN was typed (exact match only)."""
    if form.patient_id:
        return patients.get_patient(session, form.patient_id)
    hn = clean_hn(form.hn)
    found = [p for p in search_patients(session, query=hn, limit=5).patients if p.hn == hn]
    if not found:
        message = _("No patient has this HN.") if hn else _("Enter the patient's HN.")
        raise ValidationFailed(message, field_errors={"hn": message})
    form.patient_id = found[0].id
    return found[0]


@router.post("")
def book(request: Request, session: SessionDep, user: Desk, posted: Posted):
    def save(form: AppointmentForm):
        return appointments.book(
            session, patient=_booking_patient(session, form), clinic_id=form.clinic_id,
            clinician_id=form.clinician_id, starts_at=form.starts_at(_tz(request)),
            minutes=form.minutes, reason=form.reason, actor=actor_for(request, user))

    def show(form: AppointmentForm, error: PrmError):
        context = _form_context(session, request, form, error)
        if context["patient"]:
            appointments.record_booking_form(session, patient=context["patient"],
                                             actor=actor_for(request, user))
        return render(request, "appointments/form.html", context)

    return submit(
        request, session, AppointmentForm, posted, save=save, show=show,
        done=lambda form, appointment: f"/patients/{appointment.patient_id}")


# --- one appointment ----------------------------------------------------------------------

def _detail_context(session, request, appointment, form: AppointmentForm | None = None,
                    error: PrmError | None = None) -> dict:
    if form is None:
        local = appointment.starts_at.astimezone(_tz(request))
        form = AppointmentForm(date=local.date(), time=local.time(),
                               clinician_id=appointment.clinician_id)
    context = _form_context(session, request, form, error)
    context.update({
        "appointment": appointment,
        "patient": patients.get_patient(session, appointment.patient_id),
        "history": appointments.history(session, appointment=appointment),
        "user_names": {u.id: u.full_name or u.username for u in list_users(session)},
        "clinician_options": _clinician_options(session, appointment.clinic_id),
        "next": f"/appointments/{appointment.id}",
    })
    return context


@router.get("/{appointment_id}")
def appointment_page(request: Request, session: SessionDep, user: Desk, appointment_id: RowId):
    appointment = appointments.open_appointment(session, appointment_id,
                                                actor=actor_for(request, user))
    session.commit()
    return render(request, "appointments/detail.html",
                  _detail_context(session, request, appointment))


@router.post("/{appointment_id}/reschedule")
def reschedule(request: Request, session: SessionDep, user: Desk, appointment_id: RowId,
               posted: Posted):
    def save(form: AppointmentForm):
        return appointments.reschedule(
            session, appointment=appointments.get_appointment(session, appointment_id),
            starts_at=form.starts_at(_tz(request)), clinician_id=form.clinician_id,
            reason=form.reason, actor=actor_for(request, user))

    def show(form: AppointmentForm, error: PrmError):
        appointment = appointments.open_appointment(session, appointment_id,
                                                    actor=actor_for(request, user))
        return render(request, "appointments/detail.html",
                      _detail_context(session, request, appointment, form, error))

    return submit(request, session, AppointmentForm, posted, save=save, show=show,
                  done=lambda form, appointment: f"/appointments/{appointment.id}")


# --- status changes -----------------------------------------------------------------------

@router.post("/{appointment_id}/status")
def change_status(request: Request, session: SessionDep, user: Desk, appointment_id: RowId,
                  posted: Posted):
    def save(form: StatusForm):
        return appointments.change_status(
            session, appointment=appointments.get_appointment(session, appointment_id),
            to_status=form.to_status or "", reason=form.cancel_reason, tz=_tz(request),
            actor=actor_for(request, user))

    def done(form: StatusForm, appointment):
        if htmx.is_htmx(request):
            return render(request, "appointments/_row.html",
                          _row_context(session, request, appointment, form.back_to()))
        return form.back_to()

    return submit(
        request, session, StatusForm, posted, save=save, done=done,
        show=lambda form, error: _status_refused(request, session, appointment_id, form,
                                                 error, actor=actor_for(request, user)))


def _row_context(session, request, appointment, target: str, **extra) -> dict:
    return {"appointment": appointment, "next": target, **_lookups(session, request),
            "patient": patients.get_patient(session, appointment.patient_id), **extra}


def _status_refused(request: Request, session, appointment_id: int, form: StatusForm,
                    error: PrmError, *, actor):
    """The row with the refusal in it (htmx), else the page the change came from; the
    cancel reason as typed goes back into its box. Audited as what it shows again."""
    appointment = appointments.open_appointment(session, appointment_id, actor=actor)
    target, typed = form.back_to(), form.typed["cancel_reason"]
    if htmx.is_htmx(request):
        return render(request, "appointments/_row.html", _row_context(
            session, request, appointment, target, error=error, cancel_typed=typed))
    if urlsplit(target).path == f"/appointments/{appointment_id}":
        return render(request, "appointments/detail.html", {
            **_detail_context(session, request, appointment), "status_error": error,
            "cancel_typed": typed})
    filters = DayFilter.from_url(target, today=_today(request))
    context = _day_context(session, request, filters, error=error)
    _audit_day(session, filters, context["listing"], actor)
    return render(request, "appointments/day.html", context)
