"""The appointments desk's forms (prm.forms): the day's filter, booking and rescheduling,
and a status change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field

from prm.forms import ClockTime, Form, IsoDate, OptionalId, PageNumber, Text, at_local, column_limit
from prm.models.care import Appointment, AppointmentStatus
from prm.models.patient import Patient

DESK = "/appointments"
# An appointment's length, as the booking form and the slot picker read it.
BookingMinutes = Annotated[int, Field(ge=5, le=480, multiple_of=5)]
# A "next" longer than this is no page of ours.
NEXT_LIMIT = 500


class DayFilter(Form):
    """Which day, clinic, clinician and page of the day's list (the query string).

    ``clinic`` empty means "the overview of every clinic"; the links this filter writes
    always say which, so the desk's remembered clinic only answers a bare /appointments.
    """

    day: IsoDate = None
    clinic: OptionalId = None
    clinician: OptionalId = None
    page: PageNumber = 1

    @classmethod
    def read(cls, query: Mapping[str, Any], *, today: date) -> DayFilter:
        """A filter that cannot be read falls back to today, every clinic, page one."""
        filters = cls.parse(query)
        filters.day = filters.day or today
        return filters

    @classmethod
    def from_url(cls, url: str, *, today: date) -> DayFilter:
        query = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
        return cls.read(query, today=today)

    def url(self, shift_days: int = 0, *, page: int = 1, clinic: int | None | str = "same"
            ) -> str:
        """The day list's URL, ``shift_days`` later, on ``page``, for ``clinic`` (None:
        the overview)."""
        clinic_id = self.clinic if clinic == "same" else clinic
        params: dict[str, object] = {"day": (self.day + timedelta(days=shift_days)).isoformat(),
                                     "clinic": clinic_id or ""}
        if clinic_id and self.clinician and clinic == "same":
            params["clinician"] = self.clinician
        if page > 1:
            params["page"] = page
        return f"{DESK}?{urlencode(params)}"


class AppointmentForm(Form):
    """The booking form, and the reschedule form (its date, time, clinician and reason)."""

    patient_id: OptionalId = None
    hn: Text = Field("", max_length=column_limit(Patient, "hn"))
    clinic_id: OptionalId = None
    clinician_id: OptionalId = None
    date: IsoDate = None
    time: ClockTime = None
    minutes: BookingMinutes = 15
    reason: Text = Field("", max_length=column_limit(Appointment, "reason"))

    def starts_at(self, tz: ZoneInfo) -> datetime | None:
        """The date and time typed, in the hospital's zone; None until both are given."""
        if self.date is None or self.time is None:
            return None
        return at_local(self.date, self.time, tz)


class SlotQuery(Form):
    """What the slot picker reads from the booking form (the query string): the clinic,
    clinician, date and length chosen, and the time already in the time field (to mark
    it). Parsed by the same field types as the booking form, so the date reads alike."""

    clinic_id: OptionalId = None
    clinician_id: OptionalId = None
    date: IsoDate = None
    minutes: BookingMinutes = 15
    time: ClockTime = None
    # The appointment the reschedule form moves: its own time is free to it.
    moving: OptionalId = None


class StatusForm(Form):
    """A button in a row or on the appointment page: the next status, a reason (needed to
    cancel) and the page to go back to."""

    to_status: AppointmentStatus | None = None
    cancel_reason: Text = Field("", max_length=column_limit(Appointment, "cancel_reason"))
    next: Text = Field(DESK, max_length=NEXT_LIMIT)

    def back_to(self) -> str:
        """Only back into the desk, so a crafted form cannot send staff elsewhere."""
        target = self.next
        if not target.startswith(DESK) or any(c in target for c in "\\\r\n\t"):
            return DESK
        return target


class ClinicianQuery(Form):
    """Which clinic's clinicians to offer when a clinic <select> changes: the booking form
    names its fields clinic_id/clinician_id, the day filter clinic/clinician."""

    clinic_id: OptionalId = None
    clinic: OptionalId = None
    clinician_id: Text = Field("", max_length=20)
    clinician: Text = Field("", max_length=20)
