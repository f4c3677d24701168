"""The appointments day as a desk works it: how the day stands in every clinic (counts by
status, one GROUP BY on an index), and one clinic's rows, a page at a time.

A whole hospital's day is thousands of rows nobody reads at once; a clerk works one
clinic's list, and the overview tells them where to look.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from prm.models.care import Appointment
from prm.models.patient import Patient

PAGE_SIZE = 100


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end (aware) of a calendar day in the hospital's zone."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def overview(session: Session, *, day: date, tz: ZoneInfo) -> dict[int, Counter]:
    """Clinic id → its appointments on ``day`` counted by status (clinics with none are
    left out)."""
    start, end = day_bounds(day, tz)
    rows = session.exec(
        select(Appointment.clinic_id, Appointment.status, func.count())
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .group_by(Appointment.clinic_id, Appointment.status)
    ).all()
    by_clinic: dict[int, Counter] = {}
    for clinic_id, status, count in rows:
        by_clinic.setdefault(clinic_id, Counter())[status] = count
    return by_clinic


@dataclass(frozen=True)
class ClinicDay:
    """One page of a clinic's day, and how the whole list stands."""

    rows: list[tuple[Appointment, Patient]]
    counts: Counter  # by status, over every page
    page: int
    pages: int
    per_page: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def first_number(self) -> int:
        """The position of the page's first row in the whole list (1-based)."""
        return (self.page - 1) * self.per_page + 1


def clinic_day(session: Session, *, day: date, tz: ZoneInfo, clinic_id: int,
               clinician_id: int | None = None, page: int = 1,
               per_page: int = PAGE_SIZE) -> ClinicDay:
    """A clinic's appointments on ``day`` (optionally one clinician's), in time order, page
    ``page`` of them; a page past the end shows the last one."""
    start, end = day_bounds(day, tz)
    where = [Appointment.starts_at >= start, Appointment.starts_at < end,
             Appointment.clinic_id == clinic_id]
    if clinician_id:
        where.append(Appointment.clinician_id == clinician_id)
    counts = Counter(dict(session.exec(
        select(Appointment.status, func.count()).where(*where).group_by(Appointment.status)
    ).all()))
    pages = max(1, -(-sum(counts.values()) // per_page))
    page = min(max(page, 1), pages)
    rows = session.exec(
        select(Appointment, Patient).join(Patient, Patient.id == Appointment.patient_id)
        .where(*where)
        .order_by(col(Appointment.starts_at), col(Appointment.clinician_id), col(Appointment.id))
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    return ClinicDay(rows=[tuple(row) for row in rows], counts=counts, page=page, pages=pages,
                     per_page=per_page)
