"""The appointments desk: a day's list per clinic or clinician, booking, status changes
in place (htmx), and rescheduling that keeps the history."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from prm.audit import service as audit
from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember, list_users
from prm.care import appointments
from prm.care.labels import appointment_status_labels
from prm.db import SessionDep
from prm.errors import Conflict, PrmError, ValidationFailed
from prm.i18n import _, current_language
from prm.models.audit import AuditAction
from prm.models.care import ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus
from prm.models.types import utcnow
from prm.patients import service as patients
from prm.patients.identifiers import clean_hn
from prm.patients.search import search_patients
from prm.roles import Permission
from prm.web import htmx
from prm.web.templating import render

router = APIRouter(prefix="/appointments")
Desk = Annotated[StaffMember, require(Permission.appointments)]
DomainError = (Conflict, ValidationFailed)

# The order statuses are counted and shown in, as the day goes.
STATUS_ORDER = (AppointmentStatus.booked, AppointmentStatus.confirmed, AppointmentStatus.arrived,
                AppointmentStatus.fulfilled, AppointmentStatus.noshow,
                AppointmentStatus.cancelled)
RESCHEDULABLE = (*ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus.noshow)
CANCELLABLE = tuple(status for status, allowed in appointments.ALLOWED_TRANSITIONS.items()
                    if AppointmentStatus.cancelled in allowed)


def _parse_id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _local_datetime(day: str, clock: str, tz) -> datetime | None:
    """A date and a time typed in the hospital's zone, as an aware UTC datetime."""
    parsed_day = _parse_date(day)
    try:
        parsed_time = time.fromisoformat(clock.strip())
    except ValueError:
        return None
    if parsed_day is None:
        return None
    return datetime.combine(parsed_day, parsed_time, tzinfo=tz).astimezone(UTC)


def _today(tz) -> date:
    return utcnow().astimezone(tz).date()


def _safe_next(target: str) -> str:
    """Only back into the desk, so a crafted form cannot send staff elsewhere."""
    if not target.startswith("/appointments") or any(c in target for c in "\\\r\n\t"):
        return "/appointments"
    return target


@dataclass
class DayFilter:
    day: date
    clinic_id: int | None = None
    clinician_id: int | None = None

    @classmethod
    def parse(cls, day: str, clinic: str, clinician: str, tz) -> DayFilter:
        return cls(_parse_date(day) or _today(tz), _parse_id(clinic), _parse_id(clinician))

    @classmethod
    def from_url(cls, url: str, tz) -> DayFilter:
        query = parse_qs(urlsplit(url).query)
        return cls.parse(*(query.get(key, [""])[0] for key in ("day", "clinic", "clinician")),
                         tz)

    def url(self, shift_days: int = 0) -> str:
        params: dict[str, object] = {"day": (self.day + timedelta(days=shift_days)).isoformat()}
        if self.clinic_id:
            params["clinic"] = self.clinic_id
        if self.clinician_id:
            params["clinician"] = self.clinician_id
        return "/appointments?" + urlencode(params)


@dataclass
class AppointmentForm:
    """What staff typed into the booking or reschedule form, kept as typed."""

    patient_id: str = ""
    hn: str = ""
    clinic_id: str = ""
    clinician_id: str = ""
    date: str = ""
    time: str = ""
    minutes: str = "15"
    reason: str = ""

    @classmethod
    def from_form(cls, data) -> AppointmentForm:
        return cls(**{f.name: str(data.get(f.name, f.default)).strip() for f in fields(cls)})

    def starts_at(self, tz) -> datetime | None:
        return _local_datetime(self.date, self.time, tz)

    def minutes_value(self) -> int:
        return int(self.minutes) if self.minutes.isdigit() else 0


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
        "actions_for": status_actions, "reschedulable": RESCHEDULABLE,
        "cancellable": CANCELLABLE,
        "tz": request.app.state.settings.tz,
    }


def _clinician_options(session, clinic_id: int | None) -> list[tuple[str, str]]:
    return [(str(c.id), _name(c)) for c in appointments.clinicians(session, clinic_id=clinic_id)]


def status_actions(status: str) -> list[tuple[str, str]]:
    """The buttons a row offers: the allowed next statuses, cancel aside (it needs a reason)."""
    allowed = appointments.ALLOWED_TRANSITIONS.get(status, set())
    buttons = {AppointmentStatus.confirmed: _("Confirm"), AppointmentStatus.arrived: _("Check in"),
               AppointmentStatus.fulfilled: _("Seen"), AppointmentStatus.noshow: _("No-show")}
    if status == AppointmentStatus.proposed:  # from confirmed, "booked" only undoes a confirm
        buttons = {AppointmentStatus.booked: _("Book"), **buttons}
    return [(to, label) for to, label in buttons.items() if to in allowed]


# --- the day ------------------------------------------------------------------------------

def _day_context(session, request, filters: DayFilter, **extra) -> dict:
    options = _clinician_options(session, filters.clinic_id)
    if filters.clinician_id and str(filters.clinician_id) not in dict(options):
        filters.clinician_id = None  # left over from another clinic: show the whole clinic
    rows = appointments.day_list(session, day=filters.day, tz=request.app.state.settings.tz,
                                 clinic_id=filters.clinic_id, clinician_id=filters.clinician_id)
    return {
        "filters": filters, "rows": rows, "next": filters.url(),
        "counts": Counter(appointment.status for appointment, _patient in rows),
        "status_order": STATUS_ORDER, "today": _today(request.app.state.settings.tz),
        "clinician_options": options, **_lookups(session, request), **extra,
    }


@router.get("")
def day_view(request: Request, session: SessionDep, user: Desk, day: str = "",
             clinic: str = "", clinician: str = ""):
    filters = DayFilter.parse(day, clinic, clinician, request.app.state.settings.tz)
    context = _day_context(session, request, filters)
    audit.record(session, actor=actor_for(request, user), action=AuditAction.search,
                 entity_type="appointment",
                 detail=f"day {filters.day.isoformat()}: {len(context['rows'])} rows")
    session.commit()
    if htmx.is_htmx(request):
        return render(request, "appointments/_day.html", context)
    return render(request, "appointments/day.html", context)


@router.get("/clinicians")
def clinician_options(request: Request, session: SessionDep, user: Desk, clinic_id: str = "",
                      clinician_id: str = "", clinic: str = "", clinician: str = ""):
    """The clinician <option>s for a clinic, when a clinic select changes (the booking form
    names its fields clinic_id/clinician_id, the day filter clinic/clinician)."""
    return render(request, "appointments/_clinician_options.html", {
        "options": _clinician_options(session, _parse_id(clinic_id or clinic)),
        "value": clinician_id or clinician})


# --- booking ------------------------------------------------------------------------------

def _form_context(session, request, form: AppointmentForm, error: PrmError | None = None
                  ) -> dict:
    patient_id = _parse_id(form.patient_id)
    errors = dict(error.field_errors) if error else {}
    if "starts_at" in errors:  # the service names the slot; the form shows it by the time
        errors["time"] = errors.pop("starts_at")
    return {
        "form": form, "errors": errors, "error": error,
        "patient": patients.get_patient(session, patient_id) if patient_id else None,
        "clinician_options": _clinician_options(session, _parse_id(form.clinic_id)),
        **_lookups(session, request),
    }


@router.get("/new")
def new_appointment(request: Request, session: SessionDep, user: Desk, patient_id: str = "",
                    clinic: str = "", day: str = ""):
    tz = request.app.state.settings.tz
    form = AppointmentForm(patient_id=str(_parse_id(patient_id) or ""), clinic_id=clinic,
                           date=(_parse_date(day) or _today(tz)).isoformat())
    return render(request, "appointments/form.html", _form_context(session, request, form))


def _booking_patient(session, form: AppointmentForm):
    """The patient chosen on the page, or the one whose HN was typed (exact match only)."""
    patient_id = _parse_id(form.patient_id)
    if patient_id:
        return patients.get_patient(session, patient_id)
    hn = clean_hn(form.hn)
    found = [p for p in search_patients(session, query=hn, limit=5).patients if p.hn == hn]
    if not found:
        message = _("No patient has this HN.") if hn else _("Enter the patient's HN.")
        raise ValidationFailed(message, field_errors={"hn": message})
    form.patient_id = str(found[0].id)
    return found[0]


@router.post("")
async def book(request: Request, session: SessionDep, user: Desk):
    form = AppointmentForm.from_form(await request.form())
    return await run_in_threadpool(_book, request, session, user, form)


def _book(request: Request, session, user: StaffMember, form: AppointmentForm):
    try:
        patient = _booking_patient(session, form)
        appointment = appointments.book(
            session, patient=patient, clinic_id=_parse_id(form.clinic_id),
            clinician_id=_parse_id(form.clinician_id),
            starts_at=form.starts_at(request.app.state.settings.tz),
            minutes=form.minutes_value(), reason=form.reason, actor=actor_for(request, user))
    except DomainError as error:
        session.rollback()
        return render(request, "appointments/form.html",
                      _form_context(session, request, form, error), status=error.status)
    session.commit()
    return htmx.redirect(request, f"/patients/{appointment.patient_id}")


# --- one appointment ----------------------------------------------------------------------

def _detail_context(session, request, appointment, form: AppointmentForm | None = None,
                    error: PrmError | None = None) -> dict:
    tz = request.app.state.settings.tz
    if form is None:
        local = appointment.starts_at.astimezone(tz)
        form = AppointmentForm(date=local.date().isoformat(), time=local.strftime("%H:%M"),
                               clinician_id=str(appointment.clinician_id or ""))
    context = _form_context(session, request, form, error)
    context.update({
        "appointment": appointment, "patient": patients.get_patient(session,
                                                                     appointment.patient_id),
        "history": appointments.history(session, appointment=appointment),
        "user_names": {u.id: u.full_name or u.username for u in list_users(session)},
        "clinician_options": _clinician_options(session, appointment.clinic_id),
        "next": f"/appointments/{appointment.id}",
    })
    return context


@router.get("/{appointment_id}")
def appointment_page(request: Request, session: SessionDep, user: Desk, appointment_id: int):
    appointment = appointments.get_appointment(session, appointment_id)
    audit.record(session, actor=actor_for(request, user), action=AuditAction.view,
                 entity_type="appointment", entity_id=appointment.id,
                 patient_id=appointment.patient_id)
    session.commit()
    return render(request, "appointments/detail.html",
                  _detail_context(session, request, appointment))


@router.post("/{appointment_id}/reschedule")
async def reschedule(request: Request, session: SessionDep, user: Desk, appointment_id: int):
    form = AppointmentForm.from_form(await request.form())
    return await run_in_threadpool(_reschedule, request, session, user, appointment_id, form)


def _reschedule(request: Request, session, user: StaffMember, appointment_id: int,
                form: AppointmentForm):
    appointment = appointments.get_appointment(session, appointment_id)
    try:
        appointments.reschedule(
            session, appointment=appointment,
            starts_at=form.starts_at(request.app.state.settings.tz),
            clinician_id=_parse_id(form.clinician_id), reason=form.reason,
            actor=actor_for(request, user))
    except DomainError as error:
        session.rollback()
        appointment = appointments.get_appointment(session, appointment_id)
        return render(request, "appointments/detail.html",
                      _detail_context(session, request, appointment, form, error),
                      status=error.status)
    session.commit()
    return htmx.redirect(request, f"/appointments/{appointment_id}")


# --- status changes -----------------------------------------------------------------------

@router.post("/{appointment_id}/status")
async def change_status(request: Request, session: SessionDep, user: Desk, appointment_id: int):
    data = await request.form()
    values = {key: str(data.get(key, "")) for key in ("to_status", "reason", "next")}
    return await run_in_threadpool(_change_status, request, session, user, appointment_id,
                                   values)


def _change_status(request: Request, session, user: StaffMember, appointment_id: int, values: dict):
    appointment = appointments.get_appointment(session, appointment_id)
    target = _safe_next(values["next"])
    try:
        appointments.change_status(session, appointment=appointment,
                                   to_status=values["to_status"], reason=values["reason"],
                                   actor=actor_for(request, user))
    except DomainError as error:
        session.rollback()
        return _status_refused(request, session, appointment_id, target, error)
    session.commit()
    if htmx.is_htmx(request):
        return render(request, "appointments/_row.html",
                      _row_context(session, request, appointment, target))
    return htmx.redirect(request, target)


def _row_context(session, request, appointment, target: str, **extra) -> dict:
    return {"appointment": appointment, "next": target, **_lookups(session, request),
            "patient": patients.get_patient(session, appointment.patient_id), **extra}


def _status_refused(request: Request, session, appointment_id: int, target: str,
                    error: PrmError):
    """The row with the refusal in it (htmx), else the page the change came from."""
    appointment = appointments.get_appointment(session, appointment_id)
    if htmx.is_htmx(request):
        return render(request, "appointments/_row.html",
                      _row_context(session, request, appointment, target, error=error),
                      status=error.status)
    if urlsplit(target).path == f"/appointments/{appointment_id}":
        return render(request, "appointments/detail.html",
                      {**_detail_context(session, request, appointment), "status_error": error},
                      status=error.status)
    filters = DayFilter.from_url(target, request.app.state.settings.tz)
    return render(request, "appointments/day.html",
                  _day_context(session, request, filters, error=error), status=error.status)
