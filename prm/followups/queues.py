"""What is in each follow-up queue: the rows of a page, most urgent first, and how many
items wait in each queue (the tabs and the top bar's badge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, literal, or_, tuple_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.errors import NotFound
from prm.followups import causes
from prm.i18n import _, current_language
from prm.models.audit import AuditAction
from prm.models.care import Clinic
from prm.models.patient import Patient
from prm.models.staff import User
from prm.models.worklist import FollowUpRule, ItemStatus, WorklistAttempt, WorklistItem

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

    @property
    def narrowed(self) -> int:
        """How many of the clinic, segment and priority filters are set."""
        return sum(1 for value in (self.clinic_id, self.segment, self.priority) if value)


@dataclass
class LastAttempt:
    outcome: str
    at: datetime
    by: str


@dataclass
class WorklistRow:
    item: WorklistItem
    patient: Patient
    claimed_by: str
    clinic: str
    cause: str = ""  # staff-facing only (prm.followups.causes)
    attempts: int = 0
    last_attempt: LastAttempt | None = None
    back_at: datetime | None = None  # held back (no answer, call back later) until then


def _visible_parts(now: datetime) -> list:
    """Open items, and snoozed ones whose snooze has run out — as two conditions, each
    answered from an index in queue order (an OR of the two would make the database
    read and sort every open item). A snooze is also how an item is held back after no
    answer (prm.followups.service)."""
    return [WorklistItem.status == ItemStatus.open,
            and_(WorklistItem.status == ItemStatus.snoozed,
                 WorklistItem.snoozed_until <= now)]


def due_now(now: datetime):
    """What the queues show and staff may claim from them: the one rule, for one row."""
    return or_(*_visible_parts(now))


def back_at(item: WorklistItem, now: datetime) -> datetime | None:
    """When a held-back (snoozed) item comes back on the lists; None when it is there."""
    if item.status == ItemStatus.snoozed and item.snoozed_until and item.snoozed_until > now:
        return item.snoozed_until
    return None


def _end_of_today(now: datetime, tz: ZoneInfo) -> datetime:
    local_day = now.astimezone(tz).date()
    return datetime.combine(local_day + timedelta(days=1), time.min, tzinfo=tz)


def _queue_filter(queue: str, end_of_today):
    """What a queue holds: "today" everything due before tomorrow (``end_of_today``, a
    datetime or a bound parameter), each rule's queue its items."""
    if queue == TODAY:
        return WorklistItem.due_at < end_of_today
    return WorklistItem.rule == queue


def queue_counts(session: Session, *, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    """Visible items per queue (each rule's and the combined "today"), counted up to
    ``COUNT_LIMIT + 1``: a count above ``COUNT_LIMIT`` means "more than that". One
    statement: a count per queue and visible part."""
    result = dict.fromkeys(QUEUES, 0)
    for queue, count in session.execute(_counts_statement(), {
            "now": now, "end_of_today": _end_of_today(now, tz)}):
        result[queue] = min(result[queue] + count, COUNT_LIMIT + 1)
    return result


@cache
def _counts_statement():
    # Built once with the time as parameters: every page's badge runs it, and building
    # its fourteen parts cost more CPU than running them.
    now, end_of_today = bindparam("now"), bindparam("end_of_today")
    return union_all(*(_count_up_to_limit(queue, visible, end_of_today)
                       for queue in QUEUES for visible in _visible_parts(now)))


def _count_up_to_limit(queue: str, visible, end_of_today):
    # In queue order, so the database walks the queue's index and stops at the limit
    # (unordered, PostgreSQL may scan the table from its start to find the first rows).
    first = (select(WorklistItem.id).where(visible, _queue_filter(queue, end_of_today))
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
    return _rows(session, rows[:limit], now, tz)


def _rows(session: Session, rows: list, now: datetime, tz: ZoneInfo) -> list[WorklistRow]:
    thai = current_language.get() == "th"
    texts = causes.describe(session, items=[row[0] for row in rows], tz=tz)
    return [WorklistRow(item, patient, full_name or username or "",
                        (clinic_th if thai else clinic_en) or "", texts.get(item.id, ""),
                        attempts or 0,
                        LastAttempt(outcome, at, caller or caller_login or "") if at else None,
                        back_at(item, now))
            for (item, patient, full_name, username, clinic_th, clinic_en, attempts, outcome,
                 at, caller, caller_login) in rows]


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


@cache
def _row_query():
    """An item with what its row shows: the patient, who holds it, the clinic, how many
    calls were made and the last one (outcome, when, by whom), in the one statement.
    Built once: a statement is immutable (each ``where`` makes a new one), and building
    its aliases and subqueries cost more CPU per page than running it."""
    last = aliased(WorklistAttempt)
    caller = aliased(User)
    attempts = (select(func.count()).select_from(WorklistAttempt)
                .where(WorklistAttempt.item_id == WorklistItem.id)
                .correlate(WorklistItem).scalar_subquery())
    last_id = (select(WorklistAttempt.id).where(WorklistAttempt.item_id == WorklistItem.id)
               .order_by(col(WorklistAttempt.attempted_at).desc(),
                         col(WorklistAttempt.id).desc())
               .limit(1).correlate(WorklistItem).scalar_subquery())
    return (
        select(WorklistItem, Patient, User.full_name, User.username, Clinic.name_th,
               Clinic.name_en, attempts, last.outcome, last.attempted_at, caller.full_name,
               caller.username)
        .join(Patient, Patient.id == WorklistItem.patient_id)
        .join(User, User.id == WorklistItem.claimed_by_user_id, isouter=True)
        .join(Clinic, Clinic.id == WorklistItem.clinic_id, isouter=True)
        .join(last, last.id == last_id, isouter=True)
        .join(caller, caller.id == last.staff_user_id, isouter=True)
    )


def _list_query(filters: WorklistFilter, visible, now: datetime, tz: ZoneInfo):
    query = _row_query().where(visible, _queue_filter(filters.queue, _end_of_today(now, tz)))
    return _filtered(query, filters).order_by(*QUEUE_ORDER)


def _filtered(query, filters: WorklistFilter):
    if filters.clinic_id:
        query = query.where(WorklistItem.clinic_id == filters.clinic_id)
    if filters.segment:
        query = query.where(WorklistItem.segment_code == filters.segment)
    if filters.priority:
        query = query.where(WorklistItem.priority == filters.priority)
    return query


def row_for(session: Session, *, item: WorklistItem, now: datetime, tz: ZoneInfo
            ) -> WorklistRow:
    """One item as its list row shows it (whether or not a queue would list it now)."""
    session.flush()
    row = session.exec(_row_query().where(WorklistItem.id == item.id)).one()
    return _rows(session, [row], now, tz)[0]


def held_back(session: Session, *, filters: WorklistFilter, now: datetime, tz: ZoneInfo
              ) -> tuple[int, datetime | None]:
    """Items of the queue (as filtered) off the lists for now, and when the first comes
    back: an empty queue with items waiting is not "nothing to do"."""
    query = _filtered(
        select(func.count(), func.min(WorklistItem.snoozed_until)).where(
            WorklistItem.status == ItemStatus.snoozed, WorklistItem.snoozed_until > now,
            _queue_filter(filters.queue, _end_of_today(now, tz))), filters)
    waiting, first = session.execute(query).one()
    return waiting, first
