"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, func, select

from prm.models.audit import AuditAction, AuditEvent
from prm.models.patient import Patient
from prm.models.types import utcnow


class Identified(Protocol):
    """Anyone with an id and a username: a staff row or the request's signed-in member
    (``prm.auth.service.StaffMember``; audit sits below auth, so it does not import it)."""

    @property
    def id(self) -> int | None: ...

    @property
    def username(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where; built once per request."""

    user_id: int | None
    username: str
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def for_user(cls, user: Identified, **where: str) -> Actor:
        return cls(user_id=user.id, username=user.username, **where)


SYSTEM = Actor(user_id=None, username="system")


# Written on every patient view, so a plain INSERT rather than an ORM object and flush.
_INSERT = insert(AuditEvent)


def record(
    session: Session, *, actor: Actor, action: AuditAction, entity_type: str = "",
    entity_id: object = "", patient_id: int | None = None, detail: str = "",
) -> None:
    """Add an audit row to the session's transaction (the caller commits)."""
    session.flush()  # rows the audit row may point at (a new patient) go first
    session.execute(_INSERT, _row(actor, action, entity_type, entity_id, patient_id, detail))


def facts_detail(**facts: object) -> str:
    """``kind=hn shown=3``: what a row's ``detail`` holds for ``detail_facts`` to read
    back (values are codes, ids and dates, never free text)."""
    return " ".join(f"{name}={value}" for name, value in facts.items())


def detail_facts(detail: str) -> dict[str, str]:
    """The facts ``facts_detail`` wrote; {} for a detail written as plain words."""
    pairs = [word.partition("=") for word in detail.split()]
    if not pairs or not all(sep for _name, sep, _value in pairs):
        return {}
    return {name: value for name, _sep, value in pairs}


def _row(actor: Actor, action: AuditAction, entity_type: str, entity_id: object,
         patient_id: int | None, detail: str) -> dict:
    return {
        "occurred_at": utcnow(), "user_id": actor.user_id, "username": actor.username,
        "action": str(action), "entity_type": entity_type, "entity_id": str(entity_id or ""),
        "patient_id": patient_id, "ip": actor.ip, "user_agent": actor.user_agent[:300],
        "request_id": actor.request_id, "detail": detail[:500],
    }


# A list's rows in one statement whatever its length, with one set of parameters (so
# the compiled statement is reused): the patients' ids picked from the patient table.
# Measured on PostgreSQL, 25 rows: 0.9 ms, against 2.6-3.4 ms as an executemany.
_LIST_COLUMNS = [name for name in _row(SYSTEM, AuditAction.view, "", "", None, "")
                 if name != "patient_id"]
_INSERT_SHOWN = insert(AuditEvent.__table__).from_select(
    [*_LIST_COLUMNS, "patient_id"],
    select(*(bindparam(name, type_=AuditEvent.__table__.c[name].type)
             for name in _LIST_COLUMNS), col(Patient.id))
    .where(col(Patient.id).in_(bindparam("patient_ids", expanding=True))),
)


def record_shown(
    session: Session, *, actor: Actor, action: AuditAction, entity_type: str,
    patient_ids: Iterable[int], **facts: object,
) -> None:
    """Audit a list of patients on screen (search results, a worklist, a day's
    appointments): one row per patient shown, so the log's patient filter finds the list
    that showed them, or one row without a patient when the list was empty. Every row
    carries the same ``facts`` and the number of patients shown (never what was typed),
    and the request's id ties them together. One statement for them all: these are the
    busiest pages. The caller commits."""
    shown = set(patient_ids)  # a patient on two rows of a list counts once
    detail = facts_detail(**facts, shown=len(shown))
    if not shown:
        record(session, actor=actor, action=action, entity_type=entity_type, detail=detail)
        return
    session.flush()
    values = _row(actor, action, entity_type, "", None, detail)
    del values["patient_id"]
    session.execute(_INSERT_SHOWN, {**values, "patient_ids": sorted(shown)})


@dataclass
class AuditFilter:
    username: str = ""
    action: str = ""
    patient_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class PatientNamed:
    """The patient an audit row names, as the log shows them: HN and name."""

    id: int
    hn: str
    title_th: str
    given_name_th: str
    family_name_th: str
    given_name_en: str
    family_name_en: str


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    patient: PatientNamed | None


_NAMED = (Patient.hn, Patient.title_th, Patient.given_name_th, Patient.family_name_th,
          Patient.given_name_en, Patient.family_name_en)


def search(
    session: Session, *, filters: AuditFilter, limit: int = 100, offset: int = 0
) -> tuple[list[AuditRow], int]:
    """Newest first, each row with the patient it names (one outer join, whatever the
    page's length). Returns (page of rows, total matching)."""
    conditions = []
    if filters.username:
        conditions.append(AuditEvent.username == filters.username.strip().lower())
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.patient_id:
        conditions.append(AuditEvent.patient_id == filters.patient_id)
    if filters.since:
        conditions.append(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        conditions.append(AuditEvent.occurred_at < filters.until)
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
    return rows_naming_patients(session, *conditions, newest_first=True, limit=limit,
                                offset=offset), total


def rows_naming_patients(session: Session, *conditions, newest_first: bool, limit: int,
                         offset: int = 0) -> list[AuditRow]:
    """Audit rows matching ``conditions``, each with the patient it names, read with
    the rows (one outer join, whatever their number)."""
    order = (col(AuditEvent.occurred_at).desc(), col(AuditEvent.id).desc()) if newest_first \
        else (col(AuditEvent.id),)
    page = session.exec(
        select(AuditEvent, *_NAMED).where(*conditions)
        .outerjoin(Patient, col(Patient.id) == col(AuditEvent.patient_id))
        .order_by(*order).limit(limit).offset(offset)
    ).all()
    return [AuditRow(event, PatientNamed(event.patient_id, *named)
                     if event.patient_id and named[0] is not None else None)
            for event, *named in page]


def recently_viewed_patient_ids(session: Session, *, user_id: int, limit: int = 10) -> list[int]:
    """The patients this user opened most recently (newest first), from their audit trail."""
    rows = session.exec(
        select(AuditEvent.patient_id, func.max(AuditEvent.id).label("last"))
        .where(AuditEvent.user_id == user_id, AuditEvent.action == AuditAction.view,
               col(AuditEvent.patient_id).is_not(None))
        .group_by(AuditEvent.patient_id)
        .order_by(func.max(AuditEvent.id).desc())
        .limit(limit)
    ).all()
    return [patient_id for patient_id, _last in rows]
