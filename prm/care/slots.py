"""The slot picker: a clinician's free times on a day, by the one clash rule of
``prm.care.appointments`` (booking and rescheduling refuse what this does not offer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from prm.care.appointments import clashes, clinicians, held_times
from prm.forms import at_local

# The grid the slot picker offers times on (besides the moment each booking ends).
SLOT_STEP = timedelta(minutes=15)
# How far ahead the slot picker looks for the next day with a free time.
NEXT_FREE_DAY_WITHIN = 14


@dataclass(frozen=True)
class SlotOffer:
    """What the booking form offers for a clinician's day: the free start times (UTC, in
    order), and when there are none, the next day that has some (None: none soon)."""

    day: date
    starts: list[datetime]
    next_free_day: date | None = None


def _opening(day: date, hours: tuple[time, time], tz: ZoneInfo) -> tuple[datetime, datetime]:
    opens, closes = hours
    return at_local(day, opens, tz), at_local(day, closes, tz)


def _free_starts(day: date, *, minutes: int, held: list[tuple[datetime, datetime]],
                 hours: tuple[time, time], tz: ZoneInfo, now: datetime) -> list[datetime]:
    """The day's candidate times (the grid, and the end of each booking so no gap is
    lost) that are not past, end by closing time and clash with nothing held."""
    opens, closes = _opening(day, hours, tz)
    grid = {opens + SLOT_STEP * n for n in range((closes - opens) // SLOT_STEP + 1)}
    after_bookings = {end for _start, end in held if opens < end < closes}
    length = timedelta(minutes=minutes)
    return sorted(start for start in grid | after_bookings
                  if start >= now and start + length <= closes
                  and not clashes(start, minutes, held))


def free_slots(session: Session, *, clinician_id: int, day: date, minutes: int,
               hours: tuple[time, time], tz: ZoneInfo, now: datetime,
               moving: int | None = None) -> list[datetime]:
    """The times on ``day`` (in ``tz``, within the opening ``hours``) at which a booking of
    ``minutes`` with the clinician would not clash, as UTC datetimes in order. Times
    already past ``now`` are not offered. One query for the day's bookings. ``moving``:
    the appointment being rescheduled, whose own time does not block it (as in
    ``reschedule``'s clash check)."""
    opens, closes = _opening(day, hours, tz)
    held = held_times(session, clinician_id=clinician_id, starts=opens, ends=closes,
                       exclude_id=moving)
    return _free_starts(day, minutes=minutes, held=held, hours=hours, tz=tz, now=now)


def next_free_day(session: Session, *, clinician_id: int, after: date, minutes: int,
                  hours: tuple[time, time], tz: ZoneInfo, now: datetime,
                  moving: int | None = None) -> date | None:
    """The first day after ``after`` (within NEXT_FREE_DAY_WITHIN days) on which the
    clinician has a free time, or None. One query for the whole span."""
    days = [after + timedelta(days=n) for n in range(1, NEXT_FREE_DAY_WITHIN + 1)]
    held = held_times(session, clinician_id=clinician_id, starts=_opening(days[0], hours, tz)[0],
                       ends=_opening(days[-1], hours, tz)[1], exclude_id=moving)
    return next((day for day in days
                 if _free_starts(day, minutes=minutes, held=held, hours=hours, tz=tz, now=now)),
                None)


def offer_slots(session: Session, *, clinic_id: int | None, clinician_id: int | None,
                day: date, minutes: int, hours: tuple[time, time], tz: ZoneInfo,
                now: datetime, moving: int | None = None) -> SlotOffer | None:
    """The slot picker's answer: the day's free times, or the next day that has some.

    None until an active clinician of the clinic is chosen: only a clinician's bookings
    clash (a booking without one holds nobody's time), so a clinic alone has no slots."""
    if not clinic_id or clinician_id not in {
            clinician.id for clinician in clinicians(session, clinic_id=clinic_id)}:
        return None
    starts = free_slots(session, clinician_id=clinician_id, day=day, minutes=minutes,
                        hours=hours, tz=tz, now=now, moving=moving)
    if starts:
        return SlotOffer(day=day, starts=starts)
    return SlotOffer(day=day, starts=[], next_free_day=next_free_day(
        session, clinician_id=clinician_id, after=day, minutes=minutes, hours=hours, tz=tz,
        now=now, moving=moving))
