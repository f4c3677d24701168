"""The follow-up rules: who needs a call today.

Each rule is two set-based statements, never a per-row Python loop:
- *find*: INSERT … SELECT the causes that need a call and have no item yet (one item per
  cause, ever: ``cause_key`` is unique, so re-running creates nothing new);
- *resolve*: UPDATE open items whose cause went away (a dispense was collected, a result
  acknowledged, a no-show rebooked) to closed.
Thresholds and the payer segments each rule serves come from ``rule_setting``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from prm.care.appointments import mark_overdue_no_shows
from prm.models.care import (
    ACTIVE_APPOINTMENT_STATUSES,
    CRITICAL_INTERPRETATIONS,
    Appointment,
    AppointmentStatus,
    DispenseStatus,
    Encounter,
    EncounterClass,
    Interpretation,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)
from prm.models.patient import Patient
from prm.models.types import UTCDateTime, utcnow
from prm.models.worklist import FollowUpRule, ItemStatus, Priority, RuleSetting, WorklistItem

OPEN_STATUSES = (ItemStatus.open, ItemStatus.snoozed)
BANGKOK = ZoneInfo("Asia/Bangkok")
LOOKBACK = {  # causes older than this are history, not today's work
    "lab": timedelta(days=90), "pickup": timedelta(days=60), "no_show": timedelta(days=30),
    "discharge_call": timedelta(days=14), "discharge_appointment": timedelta(days=30),
}
LAPSED_MIN_VISITS = 3
LAPSED_INTERVAL_DAYS = (14, 365)  # usual intervals outside this are not a pattern
LAPSED_GIVE_UP_DAYS = 730
FINAL_LAB_STATUSES = ("final", "amended", "corrected")


@dataclass
class RuleRun:
    created: int = 0
    closed: int = 0
    seconds: float = 0.0
    marked_no_shows: int = 0


@dataclass(frozen=True)
class Context:
    session: Session
    now: datetime
    setting: RuleSetting
    tz: ZoneInfo = BANGKOK

    @property
    def today(self) -> date:
        """The hospital's calendar day (pickup dates are local dates, not UTC ones)."""
        return self.now.astimezone(self.tz).date()


def _key(prefix: str, *parts) -> ColumnElement[str]:
    expression = literal(prefix, String)
    for part in parts:
        expression = expression + literal(":", String) + cast(part, String)
    return expression


def _insert_items(ctx: Context, query) -> int:
    """INSERT … SELECT, skipping causes that already have an item (also under a race)."""
    columns = ["rule", "cause_key", "cause_id", "patient_id", "segment_code", "clinic_id",
               "priority", "due_at", "status", "created_at"]
    dialect = ctx.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(WorklistItem)
    statement = (insert.from_select(columns, query).on_conflict_do_nothing()
                 .execution_options(preserve_rowcount=True))
    return ctx.session.execute(statement).rowcount or 0


def _new_item_columns(ctx: Context, rule, key, cause_id, priority, due_at, clinic_id=None):
    """The SELECT list matching _insert_items' columns, for a query joined to Patient."""
    return [
        literal(rule.value, String), key, cast(cause_id, Integer), Patient.id,
        Patient.segment_code, clinic_id if clinic_id is not None else literal(None, Integer),
        priority if not isinstance(priority, Priority) else literal(priority.value, String),
        due_at, literal(ItemStatus.open.value, String), literal(ctx.now, UTCDateTime()),
    ]


def _patient_filter(ctx: Context) -> ColumnElement[bool]:
    condition = Patient.deceased == False  # noqa: E712
    if ctx.setting.segments:
        condition = and_(condition, col(Patient.segment_code).in_(ctx.setting.segments))
    return condition


def _no_item(key) -> ColumnElement[bool]:
    return not_(exists().where(WorklistItem.cause_key == key))


def _close(ctx: Context, rule: FollowUpRule, resolved: ColumnElement[bool]) -> int:
    statement = (
        update(WorklistItem)
        .where(WorklistItem.rule == rule, col(WorklistItem.status).in_(OPEN_STATUSES), resolved)
        .values(status=ItemStatus.closed, closed_at=ctx.now, close_reason="resolved",
                claimed_by_user_id=None)
        .execution_options(synchronize_session=False)
    )
    return ctx.session.execute(statement).rowcount or 0


# ---- abnormal lab results -------------------------------------------------------------

def abnormal_lab(ctx: Context) -> RuleRun:
    """Final abnormal results nobody acknowledged, ``threshold`` days after release."""
    key = _key("lab_result", LabResult.id)
    priority = case(
        (col(LabResult.interpretation).in_(CRITICAL_INTERPRETATIONS), Priority.critical.value),
        else_=Priority.high.value)
    query = (
        select(*_new_item_columns(ctx, FollowUpRule.abnormal_lab, key, LabResult.id, priority,
                                  LabResult.released_at))
        .join(Patient, Patient.id == LabResult.patient_id)
        .where(LabResult.interpretation != Interpretation.normal,
               col(LabResult.acknowledged_at).is_(None),
               col(LabResult.status).in_(FINAL_LAB_STATUSES),
               LabResult.released_at <= ctx.now - timedelta(days=ctx.setting.threshold),
               LabResult.released_at >= ctx.now - LOOKBACK["lab"],
               _patient_filter(ctx), _no_item(key))
    )
    created = _insert_items(ctx, query)
    closed = _close(ctx, FollowUpRule.abnormal_lab, exists().where(
        LabResult.id == WorklistItem.cause_id, col(LabResult.acknowledged_at).is_not(None)))
    return RuleRun(created, closed)


# ---- missed medication pickup ---------------------------------------------------------

def missed_pickup(ctx: Context) -> RuleRun:
    """An order's next pickup passed by N days, or a prepared dispense left N days.

    Collecting moves the order's next pickup date on, so an item whose key no longer
    matches the order's current due date has been resolved.
    """
    days = ctx.setting.threshold
    today = ctx.today
    order_key = _key("medication_order", MedicationOrder.id, MedicationOrder.next_pickup_due)
    orders = (
        select(*_new_item_columns(ctx, FollowUpRule.missed_pickup, order_key, MedicationOrder.id,
                                  Priority.normal, literal(ctx.now, UTCDateTime()),
                                  MedicationOrder.clinic_id))
        .join(Patient, Patient.id == MedicationOrder.patient_id)
        .where(MedicationOrder.active == True,  # noqa: E712
               MedicationOrder.next_pickup_due <= today - timedelta(days=days),
               MedicationOrder.next_pickup_due >= today - LOOKBACK["pickup"],
               _patient_filter(ctx), _no_item(order_key))
    )
    dispense_key = _key("medication_dispense", MedicationDispense.id)
    dispenses = (
        select(*_new_item_columns(ctx, FollowUpRule.missed_pickup, dispense_key,
                                  MedicationDispense.id, Priority.normal,
                                  MedicationDispense.prepared_at))
        .join(Patient, Patient.id == MedicationDispense.patient_id)
        .where(MedicationDispense.status == DispenseStatus.prepared,
               MedicationDispense.prepared_at <= ctx.now - timedelta(days=days),
               MedicationDispense.prepared_at >= ctx.now - LOOKBACK["pickup"],
               _patient_filter(ctx), _no_item(dispense_key))
    )
    created = _insert_items(ctx, orders)
    created += _insert_items(ctx, dispenses)
    order_still_due = exists().where(
        MedicationOrder.id == WorklistItem.cause_id, MedicationOrder.active == True,  # noqa: E712
        order_key == WorklistItem.cause_key)
    dispense_still_waiting = exists().where(
        MedicationDispense.id == WorklistItem.cause_id,
        MedicationDispense.status == DispenseStatus.prepared,
        dispense_key == WorklistItem.cause_key)
    closed = _close(ctx, FollowUpRule.missed_pickup,
                    not_(or_(order_still_due, dispense_still_waiting)))
    return RuleRun(created, closed)


# ---- no-shows -------------------------------------------------------------------------

def no_show(ctx: Context) -> RuleRun:
    """Mark unattended slots as no-shows (threshold = hours of grace), then queue a call
    to rebook each; a missed discharge follow-up comes first."""
    marked = mark_overdue_no_shows(ctx.session, grace_hours=ctx.setting.threshold,
                                   now=ctx.now)
    key = _key("appointment", Appointment.id)
    priority = case((col(Appointment.follow_up_of_encounter_id).is_not(None),
                     Priority.high.value), else_=Priority.normal.value)
    query = (
        select(*_new_item_columns(ctx, FollowUpRule.no_show, key, Appointment.id, priority,
                                  Appointment.starts_at, Appointment.clinic_id))
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.status == AppointmentStatus.noshow,
               Appointment.starts_at >= ctx.now - LOOKBACK["no_show"],
               _patient_filter(ctx), _no_item(key))
    )
    created = _insert_items(ctx, query)
    missed = Appointment.__table__.alias("missed")
    later = Appointment.__table__.alias("later")
    rebooked_or_came = exists().where(
        missed.c.id == WorklistItem.cause_id,
        or_(missed.c.status != AppointmentStatus.noshow, exists().where(
            later.c.patient_id == missed.c.patient_id,
            later.c.starts_at > missed.c.starts_at,
            later.c.status.in_([*ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus.arrived,
                                AppointmentStatus.fulfilled]))))
    closed = _close(ctx, FollowUpRule.no_show, rebooked_or_came)
    return RuleRun(created, closed, marked_no_shows=marked)


# ---- discharge follow-up --------------------------------------------------------------

def _discharged(ctx: Context, older_than: timedelta, lookback: timedelta):
    return and_(Encounter.encounter_class == EncounterClass.inpatient,
                Encounter.discharged_at <= ctx.now - older_than,
                Encounter.discharged_at >= ctx.now - lookback,
                not_(func.lower(Encounter.discharge_disposition).in_(["deceased", "expired"])))


def discharge_call(ctx: Context) -> RuleRun:
    """A call 48–72 h after an inpatient discharge (threshold = hours after discharge)."""
    key = _key("discharge_call", Encounter.id)
    query = (
        select(*_new_item_columns(ctx, FollowUpRule.discharge_call, key, Encounter.id,
                                  Priority.high, Encounter.discharged_at, Encounter.clinic_id))
        .join(Patient, Patient.id == Encounter.patient_id)
        .where(_discharged(ctx, timedelta(hours=ctx.setting.threshold),
                           LOOKBACK["discharge_call"]),
               _patient_filter(ctx), _no_item(key))
    )
    return RuleRun(_insert_items(ctx, query), 0)


def _follow_up_booked(encounter_id) -> ColumnElement[bool]:
    return exists().where(Appointment.follow_up_of_encounter_id == encounter_id,
                          Appointment.status != AppointmentStatus.cancelled)


def discharge_appointment(ctx: Context) -> RuleRun:
    """Discharged N days ago and no follow-up appointment was given (or it was cancelled)."""
    key = _key("discharge_appointment", Encounter.id)
    query = (
        select(*_new_item_columns(ctx, FollowUpRule.discharge_appointment, key, Encounter.id,
                                  Priority.normal, Encounter.discharged_at,
                                  Encounter.clinic_id))
        .join(Patient, Patient.id == Encounter.patient_id)
        .where(_discharged(ctx, timedelta(days=ctx.setting.threshold),
                           LOOKBACK["discharge_appointment"]),
               not_(_follow_up_booked(Encounter.id)), _patient_filter(ctx), _no_item(key))
    )
    created = _insert_items(ctx, query)
    closed = _close(ctx, FollowUpRule.discharge_appointment,
                    _follow_up_booked(WorklistItem.cause_id))
    return RuleRun(created, closed)


# ---- lapsed return --------------------------------------------------------------------

def _days(session: Session, column) -> ColumnElement[float]:
    """A timestamp as a number of days, in each database's own arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        # date_part gives a float; EXTRACT gives numeric, several times slower to add up.
        return func.date_part("epoch", column) / 86400.0
    return func.julianday(column)


def lapsed_return(ctx: Context) -> RuleRun:
    """Patients whose usual interval between visits has passed by more than the threshold
    per cent, with no appointment ahead (a survival view of returning, simplified to
    each patient's own mean interval)."""
    now_days = _days(ctx.session, literal(ctx.now, UTCDateTime()))
    # Aggregate raw timestamps, convert once per patient, not once per visit.
    per_patient = (
        select(Encounter.patient_id.label("patient_id"), func.count().label("n"),
               func.min(Encounter.started_at).label("first_at"),
               func.max(Encounter.started_at).label("last_at"))
        .where(Encounter.started_at >= ctx.now - timedelta(days=3 * 365))
        .group_by(Encounter.patient_id)
        .having(func.count() >= LAPSED_MIN_VISITS)
        .subquery()
    )
    visits = select(
        per_patient.c.patient_id, per_patient.c.n, per_patient.c.last_at,
        _days(ctx.session, per_patient.c.first_at).label("first"),
        _days(ctx.session, per_patient.c.last_at).label("last"),
    ).subquery()
    interval = (visits.c.last - visits.c.first) / (visits.c.n - 1)
    tolerance = 1 + ctx.setting.threshold / 100.0
    key = _key("lapsed", visits.c.patient_id, cast(func.floor(visits.c.last), Integer))
    future = exists().where(Appointment.patient_id == visits.c.patient_id,
                            Appointment.starts_at >= ctx.now,
                            col(Appointment.status).in_(ACTIVE_APPOINTMENT_STATUSES))
    # Due from when the rule noticed (it runs every few minutes), not from the last visit
    # months ago: the row names that visit (prm.followups.causes).
    query = (
        select(*_new_item_columns(ctx, FollowUpRule.lapsed_return, key, visits.c.patient_id,
                                  Priority.low, literal(ctx.now, UTCDateTime())))
        .select_from(visits).join(Patient, Patient.id == visits.c.patient_id)
        .where(interval.between(*LAPSED_INTERVAL_DAYS),
               now_days - visits.c.last > interval * tolerance,
               now_days - visits.c.last < LAPSED_GIVE_UP_DAYS,
               not_(future), _patient_filter(ctx), _no_item(key))
    )
    created = _insert_items(ctx, query)
    came_back = or_(
        exists().where(Encounter.patient_id == WorklistItem.patient_id,
                       Encounter.started_at > WorklistItem.created_at),
        exists().where(Appointment.patient_id == WorklistItem.patient_id,
                       Appointment.starts_at >= ctx.now,
                       col(Appointment.status).in_(ACTIVE_APPOINTMENT_STATUSES)))
    closed = _close(ctx, FollowUpRule.lapsed_return, came_back)
    return RuleRun(created, closed)


RULES: dict[FollowUpRule, Callable[[Context], RuleRun]] = {
    FollowUpRule.abnormal_lab: abnormal_lab,
    FollowUpRule.missed_pickup: missed_pickup,
    FollowUpRule.no_show: no_show,
    FollowUpRule.discharge_call: discharge_call,
    FollowUpRule.discharge_appointment: discharge_appointment,
    FollowUpRule.lapsed_return: lapsed_return,
}


def run_rules(session: Session, *, now: datetime | None = None,
              only: list[FollowUpRule] | None = None, tz: ZoneInfo = BANGKOK
              ) -> dict[str, RuleRun]:
    """Run every enabled rule (or ``only`` these). Flushes; the caller commits."""
    now = now or utcnow()
    settings = {s.rule: s for s in session.execute(select(RuleSetting)).scalars()}
    results = {}
    for rule, run in RULES.items():
        setting = settings.get(rule.value)
        if (only and rule not in only) or setting is None or not setting.enabled:
            continue
        started = time.perf_counter()
        outcome = run(Context(session, now, setting, tz))
        outcome.seconds = time.perf_counter() - started
        results[rule.value] = outcome
    session.flush()
    _refresh_statistics(session, sum(r.created + r.closed for r in results.values()))
    return results


# Past this many changed items PostgreSQL's planner statistics are stale enough to pick a
# full sort for the worklist pages (100 ms instead of 2 ms) until autovacuum catches up.
ANALYZE_AFTER_CHANGES = 1000


def _refresh_statistics(session: Session, changed: int) -> None:
    if changed >= ANALYZE_AFTER_CHANGES and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE worklist_item"))
