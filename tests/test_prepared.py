"""Statements handed straight to the driver (prm.prepared) give what SQLAlchemy's own
execution gives: same rows, same order, same Python types, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Interval, bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from prm import prepared, timeline
from prm.audit.service import _INSERT as AUDIT_INSERT
from prm.auth.service import _SESSION_ROW
from prm.models.audit import AuditEvent
from prm.models.care import AppointmentStatus, Clinic, Interpretation
from prm.models.staff import User
from prm.models.timeline import TimelineEntry
from prm.models.types import utcnow
from prm.patients import service
from tests.care_factories import (
    make_appointment,
    make_clinic,
    make_dispense,
    make_encounter,
    make_lab_result,
    make_medication_order,
)
from tests.factories import TEST_ACTOR, make_patient, make_user


def _history(session):
    make_user(session)
    patient = make_patient(session)
    day = timedelta(days=1)
    start = utcnow() - 30 * day
    clinic = make_clinic(session, name_th="อายุรกรรม", name_en="Medicine")
    make_appointment(session, patient=patient, clinic=clinic, starts_at=start,
                     status=AppointmentStatus.fulfilled, reason="check-up")
    make_appointment(session, patient=patient, clinic=clinic, starts_at=utcnow() + 3 * day)
    make_encounter(session, patient=patient, started_at=start + day)
    make_lab_result(session, patient=patient, released_at=start + 2 * day,
                    interpretation=Interpretation.high)
    order = make_medication_order(session, patient=patient, ordered_at=start + 3 * day)
    make_dispense(session, order=order, prepared_at=start + 4 * day)
    timeline.record(session, patient=patient, kind="note", actor=TEST_ACTOR, body="called",
                    occurred_at=start + 10 * day)
    session.commit()
    return patient


def _page_queries() -> dict:
    """Every statement the 360° page and its timeline pages run, and some odd shapes:
    JSON, booleans, dates, NULLs, a query that finds nothing."""
    queries = {
        "patient": service._PATIENT, "segments": service._SEGMENT_ROWS,
        "coverages": service._COVERAGES, "upcoming": service._UPCOMING,
        "clinics": service._ACTIVE_CLINICS,
        "users": select(User.id, User.username, User.locked_until, User.is_active)
        .order_by(col(User.id).desc()).limit(bindparam("limit")),
        "nothing": select(TimelineEntry.id, TimelineEntry.data)
        .where(TimelineEntry.patient_id == -1),
        "count": select(func.count()).select_from(TimelineEntry),
        # Its LIMIT's placeholder has the made-up name of "upcoming"'s, and another value.
        "no_clinics": select(Clinic.name_en).order_by(Clinic.id).limit(0),
    }
    for paged in (False, True):
        for name, query in timeline.queries(paged=paged).items():
            queries[f"{name}:{paged}"] = query
    return queries


def _by_sqlalchemy(session, queries, params) -> dict:
    connection = session.connection()
    return {name: _typed(connection.execute(query, params)) for name, query in queries.items()}


def _typed(rows) -> list[tuple]:
    """Each value with its type: 1 == 1.0 == True, and a date is not a datetime."""
    return [tuple((type(value), value) for value in row) for row in rows]


def test_the_page_statements_read_what_sqlalchemy_reads(session):
    patient = _history(session)
    queries = _page_queries()
    params = {**timeline.params(patient.id, limit=3, before=utcnow()), "now": utcnow()}

    found = prepared.read_together(session, queries, params)

    assert list(found) == list(queries)
    assert {name: _typed(rows) for name, rows in found.items()} == (
        _by_sqlalchemy(session, queries, params))
    assert found["patient"][0].hn == patient.hn
    assert len(found["timeline:events:False"]) == 2  # registered, the note
    assert isinstance(found["timeline:events:False"][0].data, dict)
    assert found["upcoming"][0].starts_at.tzinfo is not None
    assert found["users"][0].is_active is True
    assert found["nothing"] == []


def test_a_list_the_caller_passes_for_in_goes_through_sqlalchemy(session):
    patient = _history(session)
    queries = {"kinds": select(TimelineEntry.kind, TimelineEntry.occurred_at).where(
        TimelineEntry.patient_id == bindparam("patient_id"),
        col(TimelineEntry.kind).in_(bindparam("kinds", expanding=True)),
    ).order_by(TimelineEntry.id)}
    params = {"patient_id": patient.id, "kinds": ["note", "registered"]}

    found = prepared.read_together(session, queries, params)

    assert {name: _typed(rows) for name, rows in found.items()} == (
        _by_sqlalchemy(session, queries, params))
    assert len(found["kinds"]) == 2
    assert prepared._compile(queries["kinds"], session.get_bind().dialect) is None


def test_an_insert_writes_in_the_session_transaction(session):
    before = session.exec(select(func.count()).select_from(AuditEvent)).one()
    prepared.execute(session, AUDIT_INSERT, {
        "occurred_at": utcnow(), "user_id": None, "username": "anonymous", "action": "view",
        "entity_type": "patient", "entity_id": "1", "patient_id": None, "ip": "",
        "user_agent": "", "request_id": "r", "detail": "",
    })
    session.rollback()
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == before

    prepared.execute(session, insert(AuditEvent), {
        "occurred_at": utcnow(), "user_id": None, "username": "kept", "action": "view",
        "entity_type": "patient", "entity_id": "1", "patient_id": None, "ip": "",
        "user_agent": "", "request_id": "r", "detail": "",
    })
    session.commit()
    assert session.execute(select(AuditEvent.username).where(
        AuditEvent.username == "kept")).scalar_one() == "kept"


def test_the_session_row_matches_sqlalchemy(session, settings):
    from prm.auth.service import open_session

    user = make_user(session)
    token, row = open_session(session, user=user, settings=settings)
    session.commit()
    params = {"token_hash": row.token_hash}

    assert _typed(prepared.rows(session, _SESSION_ROW, params)) == (
        _by_sqlalchemy(session, {"s": _SESSION_ROW}, params)["s"])


def _audit_values(**overrides) -> dict:
    return {"occurred_at": utcnow(), "user_id": None, "username": "anonymous",
            "action": "view", "entity_type": "patient", "entity_id": "1", "patient_id": None,
            "ip": "", "user_agent": "", "request_id": "r", "detail": "", **overrides}


def test_an_insert_that_leaves_columns_to_their_defaults_gets_them(session):
    prepared.execute(session, insert(AuditEvent), {
        "occurred_at": utcnow(), "username": "defaults", "action": "view"})
    session.commit()

    row = session.execute(select(AuditEvent.entity_type, AuditEvent.detail).where(
        AuditEvent.username == "defaults")).one()
    assert tuple(row) == ("", "")


def test_driver_errors_arrive_as_sqlalchemy_errors(session):
    with pytest.raises(IntegrityError):
        prepared.execute(session, AUDIT_INSERT, _audit_values(username=None))
    session.rollback()
    assert prepared.rows(session, select(func.count()).select_from(AuditEvent), {})


def test_constant_lists_and_unusual_parameter_names_read_what_sqlalchemy_reads(session):
    moment = utcnow().replace(microsecond=0)
    prepared.execute(session, AUDIT_INSERT, _audit_values(occurred_at=moment, username="x.y"))
    session.commit()
    queries = {
        "at": select(AuditEvent.username).where(col(AuditEvent.occurred_at).in_([moment])),
        "named": select(AuditEvent.occurred_at).where(
            AuditEvent.username == bindparam("user.name")),
    }
    params = {"user.name": "x.y"}

    found = prepared.read_together(session, queries, params)

    assert {name: _typed(rows) for name, rows in found.items()} == (
        _by_sqlalchemy(session, queries, params))
    assert [row.username for row in found["at"]] == ["x.y"]


def test_on_postgresql_the_page_reads_go_as_one_statement(session, monkeypatch):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL behaviour")
    patient = _history(session)
    queries = _page_queries()
    params = {**timeline.params(patient.id, limit=3, before=utcnow()), "now": utcnow()}

    def no_pipeline(*_args):
        raise AssertionError("read in a pipeline, not as one statement")

    monkeypatch.setattr(prepared, "_pipelined", no_pipeline)
    found = prepared.read_together(session, queries, params)

    assert {name: _typed(rows) for name, rows in found.items()} == (
        _by_sqlalchemy(session, queries, params))


def test_a_column_json_cannot_carry_is_read_as_the_driver_gives_it(session):
    # An interval through JSON would come back a string; such a read keeps its own
    # statement.
    queries = {
        "wait": select(literal(timedelta(days=1, seconds=3), Interval()).label("wait")),
        "count": select(func.count()).select_from(AuditEvent),
    }

    found = prepared.read_together(session, queries, {})

    assert _typed(found["wait"]) == [((timedelta, timedelta(days=1, seconds=3)),)]
    assert {name: _typed(rows) for name, rows in found.items()} == (
        _by_sqlalchemy(session, queries, {}))
