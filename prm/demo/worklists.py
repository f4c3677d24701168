"""The demo's worklists as a hospital that works them would have them: after the rules
have run once on the demo's records, what they opened is given the history staff would
have made.

A real list holds recent work: what is older than ``RECENT`` was called, reached and
closed by now (with the calls it took, on the patient's timeline); what is open was
opened in the last days and weeks, some after calls that got no answer, and a few are
held back right now after one. Items a rule finds "now" (a pickup order overdue, a patient
whose return lapsed) are spread over the last days, as a rule running every few minutes
would have found them.

Deterministic: one random stream, items in id order, every time measured from
``reference``. Rows are read and written set-wise (a 200,000-patient demo has ~140,000
items).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, bindparam, select

from prm.models.care import LabResult
from prm.models.staff import Role, User
from prm.models.timeline import TimelineEntry
from prm.models.worklist import (
    AttemptOutcome,
    FollowUpRule,
    ItemStatus,
    WorklistAttempt,
    WorklistItem,
)

ITEM: Table = WorklistItem.__table__  # type: ignore[assignment]
ATTEMPT: Table = WorklistAttempt.__table__  # type: ignore[assignment]
TIMELINE: Table = TimelineEntry.__table__  # type: ignore[assignment]
LAB: Table = LabResult.__table__  # type: ignore[assignment]
USER: Table = User.__table__  # type: ignore[assignment]

WORKLIST_STREAM = 15_485_863  # apart from the patient and care streams
RECENT = timedelta(days=14)  # older open items have been worked and closed
FOUND_NOW = timedelta(minutes=1)  # due_at this close to the reference: found by this run
SPREAD = timedelta(days=12)  # how far back those are spread
RETRY = timedelta(hours=2)  # the rules' default hold-back after no answer
EARLIER_CALLS = 0.25  # open items with calls that got no answer
HELD_NOW = 0.05  # open items held back right now after a call
# How a worked item ended, by rule (the patient was reached, or said they would come).
CLOSING = {
    FollowUpRule.abnormal_lab: [AttemptOutcome.reached],
    FollowUpRule.missed_pickup: [AttemptOutcome.agreed_to_visit, AttemptOutcome.reached],
    FollowUpRule.no_show: [AttemptOutcome.agreed_to_visit, AttemptOutcome.refused],
    FollowUpRule.discharge_call: [AttemptOutcome.reached],
    FollowUpRule.discharge_appointment: [AttemptOutcome.agreed_to_visit],
    FollowUpRule.lapsed_return: [AttemptOutcome.reached, AttemptOutcome.moved_elsewhere,
                                 AttemptOutcome.refused],
}
NO_ANSWER = [AttemptOutcome.no_answer, AttemptOutcome.no_answer, AttemptOutcome.wrong_number]
NOTES = {AttemptOutcome.no_answer: ["โทร 2 ครั้ง ไม่มีผู้รับสาย", "สายไม่ว่าง", "ไม่มีผู้รับสาย"],
         AttemptOutcome.wrong_number: ["เบอร์นี้ไม่ใช่ของผู้ป่วย ตรวจสอบเบอร์สำรอง"]}
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class WorklistHistory:
    closed: int = 0
    attempts: int = 0
    held: int = 0


@dataclass
class _Plan:
    items: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    labs: list[dict[str, Any]] = field(default_factory=list)


def work_the_lists(engine: Engine, *, seed: int = 1, reference: datetime) -> WorklistHistory:
    """Give the open items the rules opened at ``reference`` (aware; their ``created_at``)
    the history of a list staff work every day. Returns what it closed, the calls it
    wrote, what it holds back; running it again changes nothing."""
    rng = random.Random(seed + WORKLIST_STREAM)
    with engine.begin() as conn:
        callers = list(conn.scalars(select(USER.c.id).where(
            USER.c.role.in_([Role.nurse.value, Role.front_desk.value])).order_by(USER.c.id)))
        plan = _Plan()
        for item in _open_items(conn, reference):
            _item_history(rng, plan, item, reference, callers or [None])
        _write(conn, plan)
    return WorklistHistory(
        closed=sum(1 for i in plan.items if i["status"] == ItemStatus.closed),
        attempts=len(plan.attempts),
        held=sum(1 for i in plan.items if i["status"] == ItemStatus.snoozed))


def _open_items(conn: Connection, reference: datetime) -> Iterator[Row]:
    """The items the rules' run at ``reference`` opened (not those of an earlier demo)."""
    return iter(conn.execute(
        select(ITEM.c.id, ITEM.c.rule, ITEM.c.patient_id, ITEM.c.cause_id, ITEM.c.due_at)
        .where(ITEM.c.status == ItemStatus.open.value, ITEM.c.created_at == reference)
        .order_by(ITEM.c.id)).all())


def _item_history(rng: random.Random, plan: _Plan, item: Row, reference: datetime,
                  callers: list[int | None]) -> None:
    due = item.due_at
    if reference - due < FOUND_NOW:  # found by this run: as if found some days ago
        due = reference - SPREAD * rng.random() ** 2
    opened = min(due + (5 / 60 + 3 * rng.random()) * HOUR, reference)
    row = {"b_id": item.id, "due_at": due, "created_at": opened, "status": ItemStatus.open,
           "closed_at": None, "close_reason": "", "snoozed_until": None}
    if reference - opened > RECENT:
        _worked_and_closed(rng, plan, item, row, callers)
    else:
        _still_open(rng, plan, item, row, reference, callers)
    plan.items.append(row)


def _worked_and_closed(rng: random.Random, plan: _Plan, item: Row, row: dict[str, Any],
                       callers: list[int | None]) -> None:
    at = row["created_at"] + (0.5 + 30 * rng.random()) * HOUR
    if rng.random() < 0.4:
        _attempt(rng, plan, item, at, rng.choice(NO_ANSWER), callers)
        at += (2 + 46 * rng.random()) * HOUR
    outcome = rng.choice(CLOSING[FollowUpRule(item.rule)])
    caller = _attempt(rng, plan, item, at, outcome, callers)
    row.update(status=ItemStatus.closed, closed_at=at, close_reason=outcome.value)
    if item.rule == FollowUpRule.abnormal_lab:  # the patient knows: the result is read
        plan.labs.append({"b_id": item.cause_id, "acknowledged_at": at,
                          "acknowledged_by_user_id": caller})


def _still_open(rng: random.Random, plan: _Plan, item: Row, row: dict[str, Any],
                reference: datetime, callers: list[int | None]) -> None:
    room = reference - RETRY - row["created_at"]  # calls that are over their hold-back
    if room > HOUR and rng.random() < EARLIER_CALLS:
        at = row["created_at"] + room * rng.random()
        for _ in range(1 + (rng.random() < 0.3)):
            _attempt(rng, plan, item, at, rng.choice(NO_ANSWER), callers)
            at = min(at + (2 + 20 * rng.random()) * HOUR, reference - RETRY)
    elif reference - row["created_at"] > HOUR and rng.random() < HELD_NOW:
        at = reference - RETRY * (0.1 + 0.8 * rng.random())
        _attempt(rng, plan, item, at, AttemptOutcome.no_answer, callers)
        row.update(status=ItemStatus.snoozed, snoozed_until=at + RETRY)


def _attempt(rng: random.Random, plan: _Plan, item: Row, at: datetime,
             outcome: AttemptOutcome, callers: list[int | None]) -> int | None:
    caller = rng.choice(callers)
    plan.attempts.append({
        "item_id": item.id, "patient_id": item.patient_id, "attempted_at": at,
        "outcome": outcome.value, "note": rng.choice(NOTES.get(outcome, [""])),
        "staff_user_id": caller, "rule": item.rule})
    return caller


def _write(conn: Connection, plan: _Plan) -> None:
    if plan.items:
        conn.execute(ITEM.update().where(ITEM.c.id == bindparam("b_id")).values(
            due_at=bindparam("due_at"), created_at=bindparam("created_at"),
            status=bindparam("status"), closed_at=bindparam("closed_at"),
            close_reason=bindparam("close_reason"), snoozed_until=bindparam("snoozed_until")),
            plan.items)
    if plan.labs:
        conn.execute(LAB.update().where(LAB.c.id == bindparam("b_id")).values(
            acknowledged_at=bindparam("acknowledged_at"),
            acknowledged_by_user_id=bindparam("acknowledged_by_user_id")), plan.labs)
    if not plan.attempts:
        return
    ids = conn.execute(ATTEMPT.insert().returning(ATTEMPT.c.id, sort_by_parameter_order=True), [
        {k: v for k, v in attempt.items() if k != "rule"} for attempt in plan.attempts]
    ).scalars().all()
    # The calls on the patients' timelines, as prm.followups.service.record_attempt puts them.
    conn.execute(TIMELINE.insert(), [
        {"patient_id": a["patient_id"], "occurred_at": a["attempted_at"],
         "kind": "followup_attempt", "data": {"rule": a["rule"], "outcome": a["outcome"]},
         "body": a["note"], "actor_user_id": a["staff_user_id"],
         "ref_type": "worklist_attempt", "ref_id": attempt_id}
        for a, attempt_id in zip(plan.attempts, ids, strict=True)])
