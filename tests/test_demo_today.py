"""The demo as staff first see it: today reads like a working day at the hour the demo is
made, and the worklists hold recent work, with the calls already made, not a backlog of
months (``prm demo``: care, then the rules, then ``prm.demo.worklists``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from prm.demo.care import generate_care
from prm.demo.generate import generate_demo
from prm.demo.worklists import RECENT, work_the_lists
from prm.followups.queues import WorklistFilter, list_items
from prm.followups.rules import RULES, run_rules
from prm.models.care import Appointment, AppointmentStatus, LabResult
from prm.models.staff import Role, User
from prm.models.timeline import TimelineEntry
from prm.models.worklist import FollowUpRule, ItemStatus, WorklistAttempt, WorklistItem
from tests.test_demo_care import fresh_sqlite

# 14:00 in Bangkok on a Monday: the morning clinics are over, the afternoon's ahead.
NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
BANGKOK = timedelta(hours=7)
S = AppointmentStatus


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Engine]:
    """What ``prm demo`` builds, made at NOW, and the rules' first run at NOW."""
    engine = fresh_sqlite(tmp_path_factory.mktemp("today"))
    generate_demo(engine, patients=10000, seed=1)
    with Session(engine) as session:
        session.add_all([User(username=name, role=role, full_name=name, password_hash="!")
                         for name, role in (("nurse", Role.nurse),
                                            ("frontdesk", Role.front_desk))])
        session.commit()
    generate_care(engine, seed=1, reference=NOW)
    with Session(engine) as session:
        marked = run_rules(session, now=NOW)["no_show"].marked_no_shows
        session.commit()
    assert marked >= 1  # the last days' unattended slots, once their grace was over
    work_the_lists(engine, seed=1, reference=NOW)
    yield engine
    engine.dispose()


def todays(engine: Engine) -> list[Appointment]:
    start = datetime(2026, 11, 2, tzinfo=UTC) - BANGKOK
    with Session(engine) as session:
        return list(session.exec(select(Appointment).where(
            Appointment.starts_at >= start, Appointment.starts_at < start + timedelta(days=1))))


def test_this_mornings_patients_were_mostly_seen_and_a_few_did_not_come(demo):
    past = Counter(a.status for a in todays(demo) if a.starts_at < NOW)
    attended = sum(past.values()) - past[S.cancelled]

    assert attended >= 40
    assert (past[S.fulfilled] + past[S.arrived]) / attended >= 0.8
    assert 0.02 <= past[S.noshow] / attended <= 0.16  # about the hospital's ~10 %
    # Those of the last hour are checked in and waiting, not yet seen.
    assert past[S.arrived] >= 1
    assert all(a.starts_at >= NOW - timedelta(hours=1) and a.checked_in_at
               for a in todays(demo) if a.status == S.arrived)


def test_this_afternoons_patients_are_booked_or_confirmed_a_couple_awaiting(demo):
    ahead = Counter(a.status for a in todays(demo) if a.starts_at >= NOW)

    assert sum(ahead.values()) >= 15
    assert set(ahead) <= {S.booked, S.confirmed, S.proposed, S.cancelled}
    assert ahead[S.booked] + ahead[S.confirmed] >= 0.85 * sum(ahead.values())


def test_the_automatic_no_show_marking_leaves_today_alone_at_first_start(demo):
    before = Counter(a.status for a in todays(demo))
    with Session(demo) as session:
        run_rules(session, now=NOW + timedelta(minutes=5))  # the worker's first round
        session.rollback()
    assert Counter(a.status for a in todays(demo)) == before


def test_open_items_are_recent_and_some_were_already_called(demo):
    with Session(demo) as session:
        open_items = session.exec(select(WorklistItem).where(
            WorklistItem.status != ItemStatus.closed)).all()
        called = set(session.exec(select(WorklistAttempt.item_id)).all())

    assert len(open_items) >= 100
    assert all(NOW - item.created_at <= RECENT and item.created_at <= NOW
               for item in open_items)
    assert all(NOW - item.due_at <= RECENT + timedelta(days=1) for item in open_items)
    assert {item.rule for item in open_items} >= set(RULES)
    assert 0.1 <= sum(item.id in called for item in open_items) / len(open_items) <= 0.5
    held = [item for item in open_items if item.status == ItemStatus.snoozed]
    assert held and all(NOW < item.snoozed_until <= NOW + timedelta(hours=2)
                        for item in held)


def test_older_items_were_worked_and_closed_with_their_calls_on_the_timeline(demo):
    with Session(demo) as session:
        closed = session.exec(select(WorklistItem).where(
            WorklistItem.status == ItemStatus.closed,
            WorklistItem.created_at < NOW - RECENT)).all()
        attempts = session.exec(select(WorklistAttempt)).all()
        on_timeline = session.exec(select(func.count()).select_from(TimelineEntry).where(
            TimelineEntry.kind == "followup_attempt")).one()
        lab_items = [i for i in closed if i.rule == FollowUpRule.abnormal_lab]
        unread = [session.get(LabResult, i.cause_id).acknowledged_at for i in lab_items]

    assert closed and all(item.closed_at < NOW for item in closed)
    worked = {a.item_id for a in attempts}
    assert sum(item.id in worked for item in closed) >= 0.5 * len(closed)
    assert all(a.attempted_at <= NOW and a.staff_user_id for a in attempts)
    assert on_timeline == len(attempts)
    assert lab_items and None not in unread  # the patient was told: the result is read


def test_the_first_page_of_today_shows_recent_causes_with_their_calls(demo):
    with Session(demo) as session:
        rows = list_items(session, filters=WorklistFilter(), now=NOW,
                          tz=ZoneInfo("Asia/Bangkok"))

    assert rows and all(row.cause for row in rows)
    assert all(NOW - row.item.due_at <= RECENT + timedelta(days=1) for row in rows)



def test_working_the_lists_again_changes_nothing(demo):
    with Session(demo) as session:
        before = session.exec(select(func.count()).select_from(WorklistAttempt)).one()
    again = work_the_lists(demo, seed=1, reference=NOW)
    with Session(demo) as session:
        assert session.exec(select(func.count()).select_from(WorklistAttempt)).one() == before
    assert (again.closed, again.attempts, again.held) == (0, 0, 0)


def test_a_demo_made_on_a_sunday_still_has_a_working_today(tmp_path):
    sunday = datetime(2026, 11, 8, 7, 0, tzinfo=UTC)  # 14:00 in Bangkok
    engine = fresh_sqlite(tmp_path)
    generate_demo(engine, patients=2000, seed=1)
    generate_care(engine, seed=1, reference=sunday)
    start = datetime(2026, 11, 8, tzinfo=UTC) - BANGKOK
    with Session(engine) as session:
        days = Counter((a.starts_at + BANGKOK).date() for a in session.exec(select(
            Appointment).where(Appointment.starts_at >= start - timedelta(days=6),
                               Appointment.starts_at < start + timedelta(days=8))))
    engine.dispose()

    assert days[sunday.date()] >= 10  # the day the demo is tried: a weekend clinic
    weekend = [day for day in days if day.weekday() >= 5 and day != sunday.date()]
    assert weekend == []  # the other weekends stay closed
