"""What is in each follow-up queue: the rows of a page, most urgent first, and how many
items wait in each queue (the tabs and the top bar's badge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal, tuple_, union_all
from sqlmodel import Session, col, select

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.errors import NotFound
from prm.i18n import _, current_language
from prm.models.audit import AuditAction
from prm.models.care import Clinic
from prm.models.patient import Patient
from prm.models.staff import User
from prm.models.worklist import FollowUpRule, ItemStatus, WorklistItem

TODAY = "today"
QUEUES = [TODAY] + [rule.value for rule in FollowUpRule]
# A queue's tab, and the top bar's badge on every page, tell staff how much is waiting;
# past a few hundred the exact number changes nothing they do. Counting stops after
# COUNT_LIMIT, so a count costs the same whatever the backlog (the 200,000-patient demo's
# 138,000 open items took 25-45 ms to count exactly, on every page). Reports count exactly.
COUNT_LIMIT = 999
# Most urgent first, then the oldest cause; the id makes the order total, so a page can
# continue after its last item.
QUEUE_ORDER = (col(WorklistItem.priority), col(WorklistItem.due_at), col(WorklistItem.id))
# Rows per page of a queue; "Show the next" continues after the last one.
PAGE_SIZE = 25


@dataclass
class WorklistFilter:
    queue: str = TODAY
    clinic_id: int | None = None
    segment: str = ""
    priority: str = ""
    after_id: int | None = None  # the last item already shown: list what comes after it


@dataclass
class WorklistRow:
    item: WorklistItem
    patient: Patient
    claimed_by: str
    clinic: str


def _visible_parts(now: datetime) -> list:
    """Open items, and snoozed ones whose snooze has run out — as two conditions, each
    answered from an index in queue order (an OR of the two would make the database
    read and sort every open item)."""
    return [WorklistItem.status == ItemStatus.open,
            and_(WorklistItem.status == ItemStatus.snoozed,
                 WorklistItem.snoozed_until <= now)]


def _end_of_today(now: datetime, tz: ZoneInfo) -> datetime:
    local_day = now.astimezone(tz).date()
    return datetime.combine(local_day + timedelta(days=1), time.min, tzinfo=tz)


def _queue_filter(queue: str, now: datetime, tz: ZoneInfo):
    if queue == TODAY:
        return WorklistItem.due_at < _end_of_today(now, tz)
    return WorklistItem.rule == queue


def queue_counts(session: Session, *, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    """Visible items per queue (each rule's and the combined "today"), counted up to
    ``COUNT_LIMIT + 1``: a count above ``COUNT_LIMIT`` means "more than that". One
    statement: a count per queue and visible part."""
    result = dict.fromkeys(QUEUES, 0)
    for queue, count in session.execute(union_all(*(
            _count_up_to_limit(queue, visible, now, tz)
            for queue in QUEUES for visible in _visible_parts(now)))):
        result[queue] = min(result[queue] + count, COUNT_LIMIT + 1)
    return result


def _count_up_to_limit(queue: str, visible, now: datetime, tz: ZoneInfo):
    # In queue order, so the database walks the queue's index and stops at the limit
    # (unordered, PostgreSQL may scan the table from its start to find the first rows).
    first = (select(WorklistItem.id).where(visible, _queue_filter(queue, now, tz))
             .order_by(*QUEUE_ORDER[:2])
             .limit(COUNT_LIMIT + 1).subquery())
    return select(literal(queue).label("queue"), func.count()).select_from(first)


def list_items(session: Session, *, filters: WorklistFilter, now: datetime, tz: ZoneInfo,
               limit: int | None = None) -> list[WorklistRow]:
    """The queue's items, most urgent first (priority, then oldest cause), a page at a
    time: ``filters.after_id`` continues after that item, wherever it is now."""
    limit = limit or PAGE_SIZE
    rows = []
    after = _queue_position(session, filters.after_id)
    for visible in _visible_parts(now):
        query = _list_query(filters, visible, now, tz)
        if after is not None:
            query = query.where(tuple_(*QUEUE_ORDER) > after)
        rows += session.exec(query.limit(limit)).all()
    rows.sort(key=lambda row: (row[0].priority, row[0].due_at, row[0].id))
    thai = current_language.get() == "th"
    return [WorklistRow(item, patient, full_name or username or "",
                        (clinic_th if thai else clinic_en) or "")
            for item, patient, full_name, username, clinic_th, clinic_en in rows[:limit]]


def show_items(session: Session, *, filters: WorklistFilter, now: datetime, tz: ZoneInfo,
               actor: Actor) -> list[WorklistRow]:
    """``list_items`` for staff to see: the rows name patients with their phone and why
    they need a call, so the patients shown are audited (an empty page writes nothing).
    The caller commits."""
    rows = list_items(session, filters=filters, now=now, tz=tz)
    if rows:
        audit.record_shown(session, actor=actor, action=AuditAction.listing,
                           entity_type="worklist", queue=filters.queue,
                           patient_ids=[row.patient.id for row in rows])
    return rows


def _queue_position(session: Session, item_id: int | None) -> tuple | None:
    if item_id is None:
        return None
    item = session.get(WorklistItem, item_id)
    if item is None:
        raise NotFound(_("That worklist item no longer exists."))
    return tuple_(item.priority, item.due_at, item.id)


def _list_query(filters: WorklistFilter, visible, now: datetime, tz: ZoneInfo):
    query = (
        select(WorklistItem, Patient, User.full_name, User.username, Clinic.name_th,
               Clinic.name_en)
        .join(Patient, Patient.id == WorklistItem.patient_id)
        .join(User, User.id == WorklistItem.claimed_by_user_id, isouter=True)
        .join(Clinic, Clinic.id == WorklistItem.clinic_id, isouter=True)
        .where(visible, _queue_filter(filters.queue, now, tz))
    )
    if filters.clinic_id:
        query = query.where(WorklistItem.clinic_id == filters.clinic_id)
    if filters.segment:
        query = query.where(WorklistItem.segment_code == filters.segment)
    if filters.priority:
        query = query.where(WorklistItem.priority == filters.priority)
    return query.order_by(*QUEUE_ORDER)


def row_for(session: Session, *, item: WorklistItem) -> WorklistRow:
    """One item as its list row shows it: the patient and who has claimed it."""
    claimer = session.get(User, item.claimed_by_user_id) if item.claimed_by_user_id else None
    return WorklistRow(item, session.get(Patient, item.patient_id),
                       (claimer.full_name or claimer.username) if claimer else "", "")
