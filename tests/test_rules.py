"""The follow-up rules: who lands on which worklist, when, and when they leave it.

Every rule runs with an explicit ``now``. It is the real clock (to the second) where a
test books through the appointments desk, which refuses slots in the past, and a fixed
instant where only the rules and queues are involved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, func, select

from prm.care import appointments as appointment_desk
from prm.care import day as appointment_day
from prm.care import records
from prm.db import is_postgres
from prm.followups import queues
from prm.followups.queues import WorklistFilter
from prm.followups.rules import RULES, run_rules
from prm.models.care import (
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    DispenseStatus,
    Interpretation,
)
from prm.models.types import utcnow
from prm.models.worklist import FollowUpRule, ItemStatus, Priority, RuleSetting, WorklistItem
from tests.care_factories import (
    collect,
    make_appointment,
    make_clinic,
    make_discharge,
    make_dispense,
    make_encounter,
    make_lab_result,
    make_medication_order,
    make_worklist_item,
    reset_rule_settings,
)
from tests.factories import TEST_ACTOR, make_patient

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture(autouse=True)
def rule_defaults(session):
    """The migration's rule settings (see care_factories.reset_rule_settings)."""
    if is_postgres(session):
        reset_rule_settings(session)


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


def run(session: Session, now: datetime, *only: FollowUpRule):
    results = run_rules(session, now=now, only=list(only) or None)
    session.commit()
    return results


def items(session: Session, rule: FollowUpRule | None = None, **where) -> list[WorklistItem]:
    query = select(WorklistItem).order_by(col(WorklistItem.id))
    if rule is not None:
        query = query.where(WorklistItem.rule == rule)
    for name, value in where.items():
        query = query.where(getattr(WorklistItem, name) == value)
    session.expire_all()
    return list(session.exec(query))


def only_item(session: Session, rule: FollowUpRule, **where) -> WorklistItem:
    found = items(session, rule, **where)
    assert len(found) == 1, found
    return found[0]


def tune(session: Session, rule: FollowUpRule, **values) -> None:
    setting = session.get(RuleSetting, rule.value)
    for name, value in values.items():
        setattr(setting, name, value)
    session.add(setting)
    session.commit()


# ---- settings: defaults, segments, on/off ---------------------------------------------

def test_migration_seeds_every_rule_enabled_for_every_segment(session):
    # On SQLite this reads the migrated template as it is; PostgreSQL is reset to it.
    settings = {s.rule: s for s in session.exec(select(RuleSetting))}

    # Every rule that scans the records has its settings (items made by replies do not).
    assert set(settings) == {rule.value for rule in RULES}
    assert all(s.enabled and s.segments == [] for s in settings.values())
    assert settings["discharge_call"].threshold == 48
    assert settings["lapsed_return"].threshold == 50


def test_a_rule_serves_only_the_segments_it_is_set_to(session, now):
    tune(session, FollowUpRule.abnormal_lab, segments=["social_security"])
    gold_card = make_patient(session, segment_code="universal_coverage")
    social_security = make_patient(session, segment_code="social_security")
    make_lab_result(session, patient=gold_card, released_at=now - timedelta(hours=1))
    make_lab_result(session, patient=social_security, released_at=now - timedelta(hours=1))

    run(session, now, FollowUpRule.abnormal_lab)

    item = only_item(session, FollowUpRule.abnormal_lab)
    assert item.patient_id == social_security.id
    assert item.segment_code == "social_security"


def test_a_disabled_rule_creates_nothing(session, now):
    tune(session, FollowUpRule.abnormal_lab, enabled=False)
    patient = make_patient(session)
    make_lab_result(session, patient=patient, interpretation=Interpretation.critical_high,
                    released_at=now - timedelta(hours=1))

    results = run(session, now)

    assert "abnormal_lab" not in results
    assert items(session) == []


def test_running_every_rule_twice_creates_nothing_new(session, now):
    patient = make_patient(session)
    make_lab_result(session, patient=patient, released_at=now - timedelta(hours=1))
    make_medication_order(session, patient=patient, next_pickup_due=now.date() - timedelta(5),
                          ordered_at=now - timedelta(days=35))
    make_dispense(session, order=make_medication_order(session, patient=patient,
                                                       ordered_at=now),
                  prepared_at=now - timedelta(days=5))
    make_appointment(session, patient=make_patient(session), starts_at=now - timedelta(hours=5))
    make_discharge(session, patient=make_patient(session), discharged_at=now - timedelta(hours=50))
    _regular_visitor(session, now, visits=4, last_days_ago=60)

    first = run(session, now)
    created = len(items(session))
    second = run(session, now)

    assert {rule: r.created for rule, r in first.items() if r.created} == {
        "abnormal_lab": 1, "missed_pickup": 2, "no_show": 1, "discharge_call": 1,
        "discharge_appointment": 1, "lapsed_return": 1}
    assert created == 7
    assert all(r.created == 0 and r.closed == 0 for r in second.values())
    assert len(items(session)) == created


# ---- abnormal lab results --------------------------------------------------------------

def test_abnormal_results_are_queued_critical_first(session, now):
    high = make_patient(session)
    critical = make_patient(session)
    make_lab_result(session, patient=high, interpretation=Interpretation.high,
                    released_at=now - timedelta(hours=3))
    make_lab_result(session, patient=critical, interpretation=Interpretation.critical_low,
                    released_at=now - timedelta(hours=1), test_name="Potassium")

    run(session, now, FollowUpRule.abnormal_lab)

    assert only_item(session, FollowUpRule.abnormal_lab, patient_id=high.id).priority == \
        Priority.high
    assert only_item(session, FollowUpRule.abnormal_lab, patient_id=critical.id).priority == \
        Priority.critical
    rows = queues.list_items(session, filters=WorklistFilter(), now=now, tz=BANGKOK)
    assert [row.patient.id for row in rows] == [critical.id, high.id]


def test_normal_and_preliminary_results_are_not_queued(session, now):
    patient = make_patient(session)
    make_lab_result(session, patient=patient, interpretation=Interpretation.normal,
                    released_at=now - timedelta(hours=1))
    make_lab_result(session, patient=patient, interpretation=Interpretation.critical_high,
                    status="preliminary", released_at=now - timedelta(hours=1))

    run(session, now, FollowUpRule.abnormal_lab)

    assert items(session, FollowUpRule.abnormal_lab) == []


def test_abnormal_result_waits_the_threshold_days_after_release(session, now):
    tune(session, FollowUpRule.abnormal_lab, threshold=2)
    patient = make_patient(session)
    fresh = make_lab_result(session, patient=patient, released_at=now - timedelta(days=1))
    due = make_lab_result(session, patient=patient, released_at=now - timedelta(days=3))

    run(session, now, FollowUpRule.abnormal_lab)

    assert only_item(session, FollowUpRule.abnormal_lab).cause_id == due.id
    run(session, now + timedelta(days=1, minutes=1), FollowUpRule.abnormal_lab)
    assert {i.cause_id for i in items(session, FollowUpRule.abnormal_lab)} == {due.id, fresh.id}


def test_acknowledging_a_result_closes_its_item(session, now):
    patient = make_patient(session)
    result = make_lab_result(session, patient=patient, released_at=now - timedelta(hours=2))
    run(session, now, FollowUpRule.abnormal_lab)

    records.acknowledge_lab(session, result=result, actor=TEST_ACTOR)
    session.commit()
    outcome = run(session, now + timedelta(minutes=5), FollowUpRule.abnormal_lab)

    assert outcome["abnormal_lab"].closed == 1
    item = only_item(session, FollowUpRule.abnormal_lab)
    assert (item.status, item.close_reason) == (ItemStatus.closed, "resolved")


# ---- missed medicine pickup ------------------------------------------------------------

def test_an_order_overdue_by_the_threshold_days_is_queued(session, now):
    overdue = make_patient(session)
    nearly = make_patient(session)
    today = now.astimezone(ZoneInfo("Asia/Bangkok")).date()  # the hospital's day
    make_medication_order(session, patient=overdue, next_pickup_due=today - timedelta(days=3),
                          ordered_at=now - timedelta(days=33))
    make_medication_order(session, patient=nearly, next_pickup_due=today - timedelta(days=2),
                          ordered_at=now - timedelta(days=32))

    run(session, now, FollowUpRule.missed_pickup)

    assert only_item(session, FollowUpRule.missed_pickup).patient_id == overdue.id
    tune(session, FollowUpRule.missed_pickup, threshold=1)
    run(session, now, FollowUpRule.missed_pickup)
    assert {i.patient_id for i in items(session)} == {overdue.id, nearly.id}


def test_collecting_the_medicines_closes_the_overdue_order_item(session, now):
    patient = make_patient(session)
    order = make_medication_order(session, patient=patient, ordered_at=now - timedelta(days=35),
                                  next_pickup_due=now.date() - timedelta(days=5))
    run(session, now, FollowUpRule.missed_pickup)
    assert only_item(session, FollowUpRule.missed_pickup).status == ItemStatus.open

    dispense = make_dispense(session, order=order, prepared_at=now - timedelta(hours=1))
    collect(session, dispense, at=now)
    run(session, now + timedelta(minutes=1), FollowUpRule.missed_pickup)

    item = only_item(session, FollowUpRule.missed_pickup)
    assert (item.status, item.close_reason) == (ItemStatus.closed, "resolved")


def test_a_prepared_dispense_left_uncollected_is_queued_until_collected(session, now):
    patient = make_patient(session)
    order = make_medication_order(session, patient=patient, ordered_at=now)
    waiting = make_dispense(session, order=order, prepared_at=now - timedelta(days=4))
    make_dispense(session, order=make_medication_order(session, patient=patient, ordered_at=now),
                  prepared_at=now - timedelta(days=1))
    make_dispense(session, order=make_medication_order(session, patient=patient, ordered_at=now),
                  prepared_at=now - timedelta(days=9), status=DispenseStatus.cancelled)

    run(session, now, FollowUpRule.missed_pickup)
    item = only_item(session, FollowUpRule.missed_pickup)
    assert item.cause_key == f"medication_dispense:{waiting.id}"

    collect(session, waiting, at=now)
    run(session, now + timedelta(minutes=1), FollowUpRule.missed_pickup)

    assert only_item(session, FollowUpRule.missed_pickup).status == ItemStatus.closed


# ---- no-shows -------------------------------------------------------------------------

def test_an_unattended_slot_becomes_a_no_show_with_history_and_an_item(session, now):
    patient = make_patient(session)
    clinic = make_clinic(session)
    missed = make_appointment(session, patient=patient, clinic=clinic,
                              starts_at=now - timedelta(hours=3))
    in_grace = make_appointment(session, patient=make_patient(session),
                                starts_at=now - timedelta(hours=1))

    results = run(session, now, FollowUpRule.no_show)

    session.refresh(missed)
    session.refresh(in_grace)
    assert results["no_show"].marked_no_shows == 1
    assert missed.status == AppointmentStatus.noshow
    assert in_grace.status == AppointmentStatus.booked
    change = session.exec(select(AppointmentChange).where(
        AppointmentChange.appointment_id == missed.id)).one()
    assert (change.from_status, change.to_status) == ("booked", "noshow")
    assert change.changed_at == now
    item = only_item(session, FollowUpRule.no_show)
    assert (item.patient_id, item.cause_id, item.clinic_id) == (patient.id, missed.id, clinic.id)
    assert item.priority == Priority.normal


def test_an_unattended_slot_awaiting_confirmation_becomes_a_no_show_with_the_others(
        session, now):
    proposed = make_appointment(session, patient=make_patient(session),
                                starts_at=now - timedelta(hours=3),
                                status=AppointmentStatus.proposed)

    run(session, now, FollowUpRule.no_show)

    session.refresh(proposed)
    assert proposed.status == AppointmentStatus.noshow
    change = session.exec(select(AppointmentChange).where(
        AppointmentChange.appointment_id == proposed.id)).one()
    assert (change.from_status, change.to_status) == ("proposed", "noshow")


def test_the_no_show_grace_hours_come_from_the_rule_setting(session, now):
    tune(session, FollowUpRule.no_show, threshold=6)
    appointment = make_appointment(session, patient=make_patient(session),
                                   starts_at=now - timedelta(hours=3))

    run(session, now, FollowUpRule.no_show)

    session.refresh(appointment)
    assert appointment.status == AppointmentStatus.booked
    assert items(session) == []


def test_cancelled_and_attended_appointments_are_not_no_shows(session, now):
    cancelled = make_appointment(session, patient=make_patient(session),
                                 starts_at=now - timedelta(hours=5),
                                 status=AppointmentStatus.cancelled, cancel_reason="sick")
    arrived = make_appointment(session, patient=make_patient(session),
                               starts_at=now - timedelta(hours=5),
                               status=AppointmentStatus.arrived,
                               checked_in_at=now - timedelta(hours=5))

    run(session, now, FollowUpRule.no_show)

    session.refresh(cancelled)
    session.refresh(arrived)
    assert (cancelled.status, arrived.status) == (AppointmentStatus.cancelled,
                                                  AppointmentStatus.arrived)
    assert items(session, FollowUpRule.no_show) == []
    assert session.exec(select(func.count()).select_from(AppointmentChange)).one() == 0


def test_rebooking_closes_the_no_show_item(session, now):
    patient = make_patient(session)
    clinic = make_clinic(session)
    make_appointment(session, patient=patient, clinic=clinic, starts_at=now - timedelta(hours=4))
    run(session, now, FollowUpRule.no_show)
    assert only_item(session, FollowUpRule.no_show).status == ItemStatus.open

    appointment_desk.book(session, patient=patient, clinic_id=clinic.id,
                          starts_at=now + timedelta(days=7), actor=TEST_ACTOR)
    session.commit()
    run(session, now + timedelta(minutes=1), FollowUpRule.no_show)

    item = only_item(session, FollowUpRule.no_show)
    assert (item.status, item.close_reason) == (ItemStatus.closed, "resolved")


def test_a_missed_discharge_follow_up_is_high_priority(session, now):
    patient = make_patient(session)
    stay = make_discharge(session, patient=patient, discharged_at=now - timedelta(days=10))
    make_appointment(session, patient=patient, starts_at=now - timedelta(hours=3),
                     follow_up_of_encounter_id=stay.id)

    run(session, now, FollowUpRule.no_show)

    assert only_item(session, FollowUpRule.no_show).priority == Priority.high


# ---- discharge follow-up ---------------------------------------------------------------

def test_a_call_is_queued_48_hours_after_an_inpatient_discharge(session, now):
    due = make_patient(session)
    too_soon = make_patient(session)
    died = make_patient(session)
    make_discharge(session, patient=due, discharged_at=now - timedelta(hours=50))
    make_discharge(session, patient=too_soon, discharged_at=now - timedelta(hours=30))
    make_discharge(session, patient=died, discharged_at=now - timedelta(hours=50),
                   discharge_disposition="Deceased")

    run(session, now, FollowUpRule.discharge_call)

    item = only_item(session, FollowUpRule.discharge_call)
    assert (item.patient_id, item.priority) == (due.id, Priority.high)
    tune(session, FollowUpRule.discharge_call, threshold=24)
    run(session, now, FollowUpRule.discharge_call)
    assert {i.patient_id for i in items(session, FollowUpRule.discharge_call)} == {
        due.id, too_soon.id}


def test_a_discharge_without_follow_up_appointment_is_queued_until_one_is_booked(session, now):
    patient = make_patient(session)
    clinic = make_clinic(session)
    stay = make_discharge(session, patient=patient, discharged_at=now - timedelta(days=2))
    given = make_patient(session)
    given_stay = make_discharge(session, patient=given, discharged_at=now - timedelta(days=2))
    make_appointment(session, patient=given, clinic=clinic, starts_at=now + timedelta(days=5),
                     follow_up_of_encounter_id=given_stay.id)

    run(session, now, FollowUpRule.discharge_appointment)
    item = only_item(session, FollowUpRule.discharge_appointment)
    assert (item.patient_id, item.cause_id) == (patient.id, stay.id)

    appointment_desk.book(session, patient=patient, clinic_id=clinic.id,
                          starts_at=now + timedelta(days=5), actor=TEST_ACTOR,
                          follow_up_of_encounter_id=stay.id)
    session.commit()
    run(session, now + timedelta(minutes=1), FollowUpRule.discharge_appointment)

    assert only_item(session, FollowUpRule.discharge_appointment).status == ItemStatus.closed


# ---- lapsed returns --------------------------------------------------------------------

def _regular_visitor(session, now, *, visits: int, last_days_ago: int, every: int = 30):
    patient = make_patient(session)
    for n in range(visits):
        make_encounter(session, patient=patient,
                       started_at=now - timedelta(days=last_days_ago + every * n))
    return patient


def test_a_regular_patient_overdue_by_half_their_interval_is_queued(session, now):
    lapsed = _regular_visitor(session, now, visits=4, last_days_ago=60)
    _regular_visitor(session, now, visits=4, last_days_ago=40)  # 40 < 30 × 1.5: not yet

    run(session, now, FollowUpRule.lapsed_return)

    item = only_item(session, FollowUpRule.lapsed_return)
    assert (item.patient_id, item.priority) == (lapsed.id, Priority.low)


def test_a_patient_with_an_appointment_ahead_has_not_lapsed(session, now):
    patient = _regular_visitor(session, now, visits=4, last_days_ago=60)
    make_appointment(session, patient=patient, starts_at=now + timedelta(days=3))

    run(session, now, FollowUpRule.lapsed_return)

    assert items(session, FollowUpRule.lapsed_return) == []


def test_two_visits_are_not_a_pattern(session, now):
    _regular_visitor(session, now, visits=2, last_days_ago=60)

    run(session, now, FollowUpRule.lapsed_return)

    assert items(session, FollowUpRule.lapsed_return) == []


# ---- the hospital's day ----------------------------------------------------------------

def _bangkok(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK).astimezone(UTC)


def test_the_today_queue_ends_at_midnight_in_bangkok(session):
    day = date(2025, 3, 10)
    patient = make_patient(session)
    tonight = make_worklist_item(session, patient=patient, due_at=_bangkok(day, 23, 59))
    after_midnight = make_worklist_item(session, patient=patient,
                                        due_at=_bangkok(day + timedelta(days=1), 0, 1))
    evening = _bangkok(day, 23, 30)
    assert evening == datetime(2025, 3, 10, 16, 30, tzinfo=UTC)

    def today_ids(now):
        rows = queues.list_items(session, filters=WorklistFilter(), now=now, tz=BANGKOK)
        return [row.item.id for row in rows]

    assert today_ids(evening) == [tonight.id]
    assert queues.queue_counts(session, now=evening, tz=BANGKOK)["today"] == 1
    past_midnight = _bangkok(day + timedelta(days=1), 0, 5)
    assert today_ids(past_midnight) == [tonight.id, after_midnight.id]
    assert queues.queue_counts(session, now=past_midnight, tz=BANGKOK)["today"] == 2


def test_an_appointment_at_half_past_midnight_belongs_to_the_next_bangkok_day(session):
    day = date(2025, 3, 10)
    patient = make_patient(session)
    clinic = make_clinic(session)
    late = make_appointment(session, patient=patient, clinic=clinic,
                            starts_at=_bangkok(day + timedelta(days=1), 0, 30))
    assert late.starts_at == datetime(2025, 3, 10, 17, 30, tzinfo=UTC)

    start, end = appointment_day.day_bounds(day + timedelta(days=1), BANGKOK)
    assert start <= late.starts_at < end
    start, end = appointment_day.day_bounds(day, BANGKOK)
    assert not start <= late.starts_at < end
    assert appointment_day.clinic_day(session, day=day, tz=BANGKOK,
                                      clinic_id=clinic.id).rows == []
    assert [a.id for a, _ in appointment_day.clinic_day(
        session, day=day + timedelta(days=1), tz=BANGKOK, clinic_id=clinic.id).rows] == [late.id]


def test_snoozed_and_closed_items_are_not_in_the_queue(session):
    now = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)
    patient = make_patient(session)
    make_worklist_item(session, patient=patient, due_at=now - timedelta(hours=1),
                       status=ItemStatus.closed, closed_at=now)
    make_worklist_item(session, patient=patient, due_at=now - timedelta(hours=1),
                       status=ItemStatus.snoozed, snoozed_until=now + timedelta(hours=2))

    counts = queues.queue_counts(session, now=now, tz=BANGKOK)

    assert counts["today"] == 0 and counts["no_show"] == 0
    assert queues.queue_counts(session, now=now + timedelta(hours=2), tz=BANGKOK)[
        "no_show"] == 1


def test_no_show_items_name_the_appointment_they_came_from(session, now):
    patient = make_patient(session)
    missed = make_appointment(session, patient=patient, starts_at=now - timedelta(hours=3))

    run(session, now, FollowUpRule.no_show)

    item = only_item(session, FollowUpRule.no_show)
    assert item.cause_key == f"appointment:{missed.id}"
    assert session.get(Appointment, missed.id).status == AppointmentStatus.noshow
