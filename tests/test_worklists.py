"""Working the follow-up lists: claiming (also under a race), outcomes, the pages."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from prm.audit.service import Actor
from prm.auth import service as auth
from prm.auth.deps import SESSION_COOKIE
from prm.db import is_postgres
from prm.errors import Conflict, ValidationFailed
from prm.followups import queues, service
from prm.followups.queues import WorklistFilter
from prm.followups.rules import RULES, run_rules
from prm.followups.service import CLAIM_TIMEOUT, Rebooking
from prm.i18n import current_language
from prm.models.audit import AuditEvent
from prm.models.care import Appointment, AppointmentStatus, Interpretation, LabResult
from prm.models.patient import Patient
from prm.models.staff import Role, User
from prm.models.timeline import TimelineEntry
from prm.models.types import utcnow
from prm.models.worklist import (
    AttemptOutcome,
    FollowUpRule,
    ItemStatus,
    Priority,
    RuleSetting,
    WorklistAttempt,
    WorklistItem,
)
from prm.web.middleware import LANGUAGE_COOKIE
from tests.care_factories import (
    make_appointment,
    make_clinic,
    make_clinician,
    make_discharge,
    make_lab_result,
    make_worklist_item,
    reset_rule_settings,
)
from tests.factories import csrf_token, make_patient

BANGKOK = ZoneInfo("Asia/Bangkok")
_sequence = itertools.count(1)


@pytest.fixture(autouse=True)
def rule_defaults(session):
    if is_postgres(session):
        reset_rule_settings(session)


@pytest.fixture(autouse=True)
def english():
    """Service messages in English (the default is Thai), to match the users' pages."""
    token = current_language.set("en")
    yield
    current_language.reset(token)


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


def staff(session: Session, name: str, *, role: str = "nurse") -> User:
    """A staff account for service calls; it cannot log in (no password hash to match)."""
    user = User(username=f"{role}-{next(_sequence)}", full_name=name, role=Role(role),
                password_hash="!", language="en")
    session.add(user)
    session.commit()
    return user


def actor(user: User) -> Actor:
    return Actor.for_user(user)


def sign_in(client: TestClient, session: Session, name: str = "Nurse Malee", *,
            role: str = "nurse") -> User:
    """A logged-in English-speaking user on ``client``: the session row login would open
    (the password check itself is tested with the login form, and argon2 is slow on
    purpose); unsafe requests then carry the CSRF token the way htmx sends it."""
    user = staff(session, name, role=role)
    token, _row = auth.open_session(session, user=user, settings=client.app.state.settings)
    session.commit()
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(LANGUAGE_COOKIE, "en")
    client.headers["X-CSRF-Token"] = csrf_token(client, "/login")
    return user


def no_show_item(session: Session, now: datetime, patient: Patient | None = None,
                 **appointment) -> WorklistItem:
    """A real no-show: a slot four hours ago nobody checked in to, then the rules."""
    patient = patient or make_patient(session)
    missed = make_appointment(session, patient=patient, starts_at=now - timedelta(hours=4),
                              **appointment)
    run_rules(session, now=now, only=[FollowUpRule.no_show])
    session.commit()
    return session.exec(select(WorklistItem).where(
        WorklistItem.cause_key == f"appointment:{missed.id}")).one()


def fresh(session: Session, row):
    session.expire_all()
    return session.get(type(row), row.id)


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


# ---- claiming -------------------------------------------------------------------------

def test_two_staff_claiming_the_same_item_at_once_exactly_one_wins(engine, session, now):
    item = make_worklist_item(session, patient=make_patient(session))
    malee, somsri = staff(session, "Nurse Malee"), staff(session, "Nurse Somsri")
    barrier = threading.Barrier(2, timeout=10)
    outcomes: dict[int, object] = {}

    def claim_as(user: User) -> None:
        with Session(engine, expire_on_commit=False) as own:
            mine, me = own.get(WorklistItem, item.id), own.get(User, user.id)
            barrier.wait()
            try:
                service.claim(own, item=mine, user=me)
                own.commit()
                outcomes[user.id] = "won"
            except Exception as error:  # the test inspects what it was
                own.rollback()
                outcomes[user.id] = error

    threads = [threading.Thread(target=claim_as, args=(user,)) for user in (malee, somsri)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [uid for uid, outcome in outcomes.items() if outcome == "won"]
    losers = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict), losers[0]
    winner = malee if winners[0] == malee.id else somsri
    assert winner.full_name in losers[0].message
    assert fresh(session, item).claimed_by_user_id == winner.id


def test_the_second_claim_over_http_is_refused_naming_who_has_it(app, client, session, now):
    item = no_show_item(session, now)
    sign_in(client, session, "Nurse Malee")
    htmx = {"HX-Request": "true"}

    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, session, "Nurse Somsri")
        first = client.post(f"/worklists/items/{item.id}/claim", headers=htmx)
        second = other.post(f"/worklists/items/{item.id}/claim", headers=htmx)

    assert first.status_code == 200
    assert "Record outcome" in first.text
    assert second.status_code == 409
    assert "Nurse Malee is already working on this item." in second.text
    assert "Record outcome" not in second.text


def test_a_claim_left_longer_than_the_timeout_can_be_taken_over(session, now):
    item = make_worklist_item(session, patient=make_patient(session))
    malee, somsri = staff(session, "Nurse Malee"), staff(session, "Nurse Somsri")
    service.claim(session, item=item, user=malee, now=now - CLAIM_TIMEOUT + timedelta(minutes=5))
    session.commit()

    with pytest.raises(Conflict, match="Nurse Malee"):
        service.claim(session, item=item, user=somsri, now=now)
    session.rollback()
    service.claim(session, item=item, user=somsri, now=now + timedelta(minutes=6))
    session.commit()

    assert fresh(session, item).claimed_by_user_id == somsri.id


def test_releasing_frees_the_item_and_only_the_holder_can(session, now):
    item = make_worklist_item(session, patient=make_patient(session))
    malee, somsri = staff(session, "Nurse Malee"), staff(session, "Nurse Somsri")
    service.claim(session, item=item, user=malee, now=now)

    service.release(session, item=item, user=somsri)
    assert fresh(session, item).claimed_by_user_id == malee.id
    service.release(session, item=item, user=malee)
    session.commit()

    assert fresh(session, item).claimed_by_user_id is None
    service.claim(session, item=item, user=somsri, now=now)
    assert fresh(session, item).claimed_by_user_id == somsri.id


def test_a_closed_item_cannot_be_claimed(session, now):
    item = make_worklist_item(session, patient=make_patient(session),
                              status=ItemStatus.closed, closed_at=now)

    with pytest.raises(Conflict, match="closed"):
        service.claim(session, item=item, user=staff(session, "Nurse Malee"), now=now)


# ---- outcomes -------------------------------------------------------------------------

def test_rebooking_books_the_new_appointment_and_closes_the_item(session, now):
    patient = make_patient(session)
    item = no_show_item(session, now, patient)
    clinic = make_clinic(session)
    doctor = make_clinician(session, clinic=clinic)
    malee = staff(session, "Nurse Malee")

    attempt = service.record_attempt(
        session, item=item, user=malee, actor=actor(malee), outcome="rebooked", now=now,
        rebooking=Rebooking(clinic_id=clinic.id, starts_at=now + timedelta(days=3),
                            clinician_id=doctor.id))
    session.commit()

    new = session.get(Appointment, attempt.new_appointment_id)
    assert (new.patient_id, new.clinic_id, new.clinician_id) == (patient.id, clinic.id,
                                                                 doctor.id)
    assert (new.status, new.booked_via, new.starts_at) == (AppointmentStatus.booked,
                                                          "worklist", now + timedelta(days=3))
    item = fresh(session, item)
    assert (item.status, item.close_reason, item.claimed_by_user_id) == (
        ItemStatus.closed, "rebooked", None)
    assert attempt.staff_user_id == malee.id


def test_rebooking_into_a_taken_slot_saves_nothing(session, now):
    item = no_show_item(session, now)
    clinic = make_clinic(session)
    doctor = make_clinician(session, clinic=clinic)
    slot = now + timedelta(days=2)
    make_appointment(session, patient=make_patient(session), clinic=clinic,
                     clinician_id=doctor.id, starts_at=slot)
    appointments_before = count(session, Appointment)
    malee = staff(session, "Nurse Malee")

    with pytest.raises(Conflict) as refused:
        service.record_attempt(
            session, item=item, user=malee, actor=actor(malee), outcome="rebooked", now=now,
            rebooking=Rebooking(clinic_id=clinic.id, starts_at=slot, clinician_id=doctor.id))
    session.rollback()

    assert "starts_at" in refused.value.field_errors
    item = fresh(session, item)
    assert (item.status, item.claimed_by_user_id) == (ItemStatus.open, None)
    assert count(session, WorklistAttempt) == 0
    assert count(session, Appointment) == appointments_before
    assert count(session, TimelineEntry, TimelineEntry.kind == "followup_attempt") == 0


def _due_ids(session: Session, at: datetime, queue: str = queues.TODAY) -> list[int]:
    rows = queues.list_items(session, filters=WorklistFilter(queue=queue), now=at, tz=BANGKOK)
    return [row.item.id for row in rows]


@pytest.mark.parametrize("outcome", ["no_answer", "wrong_number"])
def test_no_answer_holds_the_item_back_for_the_rules_retry_interval(session, now, outcome):
    item = no_show_item(session, now)
    session.get(RuleSetting, "no_show").retry_minutes = 90
    session.commit()
    malee = staff(session, "Nurse Malee")

    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome=outcome, note="rang 8 times", now=now)
    session.commit()

    item = fresh(session, item)
    back = now + timedelta(minutes=90)
    assert (item.status, item.snoozed_until, item.claimed_by_user_id) == (
        ItemStatus.snoozed, back, None)
    assert session.exec(select(WorklistAttempt.outcome, WorklistAttempt.note)).all() == [
        (AttemptOutcome(outcome), "rang 8 times")]
    for queue in (queues.TODAY, "no_show"):
        assert _due_ids(session, back - timedelta(minutes=1), queue) == []
        assert _due_ids(session, back, queue) == [item.id]
    assert queues.queue_counts(session, now=now + timedelta(minutes=1), tz=BANGKOK)[
        "no_show"] == 0


def test_a_colleague_cannot_claim_from_the_list_while_the_item_is_held_back(session, now):
    item = no_show_item(session, now)
    malee, somchai = staff(session, "Nurse Malee"), staff(session, "Nurse Somchai")
    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome="no_answer", now=now)
    session.commit()

    with pytest.raises(Conflict, match="back on the list at"):
        service.take(session, item=item, user=somchai, actor=actor(somchai))
    # Working the item from its own page still may: the patient rang back.
    service.record_attempt(session, item=item, user=somchai, actor=actor(somchai),
                           outcome="reached", now=now + timedelta(minutes=5))
    assert fresh(session, item).status == ItemStatus.closed


def test_a_row_shows_the_calls_made_the_last_one_and_when_it_comes_back(session, now):
    item = no_show_item(session, now)
    malee, somchai = staff(session, "Nurse Malee"), staff(session, "Nurse Somchai")
    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome="wrong_number", now=now - timedelta(hours=5))
    service.record_attempt(session, item=item, user=somchai, actor=actor(somchai),
                           outcome="no_answer", now=now - timedelta(minutes=30))
    session.commit()

    row = queues.row_for(session, item=fresh(session, item), now=now, tz=BANGKOK)
    assert row.attempts == 2
    assert (row.last_attempt.outcome, row.last_attempt.at, row.last_attempt.by) == (
        AttemptOutcome.no_answer, now - timedelta(minutes=30), "Nurse Somchai")
    assert row.back_at == now + timedelta(minutes=90)
    later = queues.list_items(session, filters=WorklistFilter(), now=now + timedelta(hours=2),
                              tz=BANGKOK)
    assert [(r.attempts, r.last_attempt.by, r.back_at) for r in later] == [
        (2, "Nurse Somchai", None)]


def test_call_back_later_needs_a_time_in_the_future(session, now):
    item = no_show_item(session, now)
    malee = staff(session, "Nurse Malee")

    for when in (None, now - timedelta(minutes=1)):
        with pytest.raises(ValidationFailed) as refused:
            service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                                   outcome="call_back_later", call_back_at=when, now=now)
        assert "call_back_at" in refused.value.field_errors
    assert count(session, WorklistAttempt) == 0


def test_call_back_later_hides_the_item_until_then(session, now):
    item = no_show_item(session, now)
    malee = staff(session, "Nurse Malee")
    later = now + timedelta(hours=3)

    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome="call_back_later", call_back_at=later, now=now)
    session.commit()

    assert fresh(session, item).status == ItemStatus.snoozed
    assert _due_ids(session, now + timedelta(hours=2, minutes=59)) == []
    assert _due_ids(session, later) == [item.id]
    assert queues.queue_counts(session, now=later, tz=BANGKOK)["no_show"] == 1


def test_a_death_closes_every_open_item_of_the_patient(session, now):
    patient = make_patient(session)
    other = make_patient(session)
    item = no_show_item(session, now, patient)
    lab_item = make_worklist_item(session, patient=patient, rule=FollowUpRule.abnormal_lab)
    others_item = make_worklist_item(session, patient=other)
    malee = staff(session, "Nurse Malee")

    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome="deceased", note="daughter answered", now=now)
    session.commit()

    assert fresh(session, patient).deceased is True
    assert fresh(session, patient).deceased_at == now
    assert (fresh(session, item).status, fresh(session, item).close_reason) == (
        ItemStatus.closed, "deceased")
    assert (fresh(session, lab_item).status, fresh(session, lab_item).close_reason) == (
        ItemStatus.closed, "deceased")
    assert fresh(session, others_item).status == ItemStatus.open
    make_lab_result(session, patient=patient, interpretation=Interpretation.critical_high,
                    released_at=now)
    run_rules(session, now=now + timedelta(minutes=1))
    assert count(session, WorklistItem, WorklistItem.patient_id == patient.id,
                 WorklistItem.status != ItemStatus.closed) == 0


def test_moved_elsewhere_closes_the_item_and_counts_as_a_defection(session, now):
    first, second = no_show_item(session, now), no_show_item(session, now)
    malee = staff(session, "Nurse Malee")

    for item in (first, second):
        service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                               outcome="moved_elsewhere", now=now)
    session.commit()

    assert {(i.status, i.close_reason) for i in (fresh(session, first),
                                                 fresh(session, second))} == {
        (ItemStatus.closed, "moved_elsewhere")}
    assert count(session, WorklistAttempt,
                 WorklistAttempt.outcome == AttemptOutcome.moved_elsewhere) == 2


def test_reaching_the_patient_about_a_lab_result_acknowledges_it(session, now):
    patient = make_patient(session)
    result = make_lab_result(session, patient=patient, released_at=now - timedelta(hours=1))
    run_rules(session, now=now, only=[FollowUpRule.abnormal_lab])
    session.commit()
    item = session.exec(select(WorklistItem)).one()
    malee = staff(session, "Nurse Malee")

    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome="reached", now=now)
    session.commit()

    result = fresh(session, result)
    assert result.acknowledged_at is not None
    assert result.acknowledged_by_user_id == malee.id
    assert fresh(session, item).close_reason == "reached"
    assert run_rules(session, now=now + timedelta(minutes=1))["abnormal_lab"].created == 0


def test_no_answer_about_a_lab_result_leaves_it_unacknowledged(session, now):
    patient = make_patient(session)
    result = make_lab_result(session, patient=patient, released_at=now - timedelta(hours=1))
    item = make_worklist_item(session, patient=patient, rule=FollowUpRule.abnormal_lab,
                              cause_key=f"lab_result:{result.id}", cause_id=result.id)
    malee = staff(session, "Nurse Malee")

    service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                           outcome="no_answer", now=now)
    session.commit()

    assert session.get(LabResult, result.id).acknowledged_at is None


def test_rebooking_a_discharge_item_makes_the_follow_up_appointment(session, now):
    patient = make_patient(session)
    stay = make_discharge(session, patient=patient, discharged_at=now - timedelta(days=2))
    run_rules(session, now=now, only=[FollowUpRule.discharge_appointment])
    session.commit()
    item = session.exec(select(WorklistItem)).one()
    clinic = make_clinic(session)
    malee = staff(session, "Nurse Malee")

    attempt = service.record_attempt(
        session, item=item, user=malee, actor=actor(malee), outcome="rebooked", now=now,
        rebooking=Rebooking(clinic_id=clinic.id, starts_at=now + timedelta(days=5)))
    session.commit()

    assert session.get(Appointment, attempt.new_appointment_id).follow_up_of_encounter_id == \
        stay.id
    assert run_rules(session, now=now + timedelta(minutes=1))[
        "discharge_appointment"].created == 0


def test_an_attempt_on_an_item_someone_else_holds_is_refused(session, now):
    item = no_show_item(session, now)
    malee, somsri = staff(session, "Nurse Malee"), staff(session, "Nurse Somsri")
    service.claim(session, item=item, user=malee, now=now)
    session.commit()

    with pytest.raises(Conflict, match="Nurse Malee is already working on this item."):
        service.record_attempt(session, item=item, user=somsri, actor=actor(somsri),
                               outcome="reached", now=now)
    session.rollback()

    assert count(session, WorklistAttempt) == 0
    assert fresh(session, item).claimed_by_user_id == malee.id


def test_snoozing_needs_a_future_time_and_hides_the_item_until_then(session, now):
    item = no_show_item(session, now)
    malee = staff(session, "Nurse Malee")

    with pytest.raises(ValidationFailed):
        service.snooze(session, item=item, user=malee, until=now, actor=actor(malee), now=now)
    service.snooze(session, item=item, user=malee, until=now + timedelta(days=1),
                   actor=actor(malee), now=now)
    session.commit()

    item = fresh(session, item)
    assert (item.status, item.claimed_by_user_id) == (ItemStatus.snoozed, None)
    assert queues.queue_counts(session, now=now, tz=BANGKOK)["no_show"] == 0
    assert queues.queue_counts(session, now=now + timedelta(days=1), tz=BANGKOK)[
        "no_show"] == 1


def test_closing_by_hand_closes_the_item_and_audits_it(client, session, now):
    item = no_show_item(session, now)
    nurse = sign_in(client, session)

    response = client.post(f"/worklists/items/{item.id}/close", headers={"HX-Request": "true"})

    assert (response.status_code, response.text) == (200, "")
    assert response.headers["HX-Trigger"] == "worklist-changed"
    item = fresh(session, item)
    assert (item.status, item.close_reason) == (ItemStatus.closed, "closed_by_staff")
    assert count(session, AuditEvent, AuditEvent.entity_type == "worklist_item",
                 AuditEvent.user_id == nurse.id, AuditEvent.detail == "closed") == 1


def test_an_attempt_on_an_item_closed_meanwhile_is_refused_over_http(app, client, session,
                                                                     now):
    item = no_show_item(session, now)
    sign_in(client, session, "Nurse Malee")
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, session, "Nurse Somsri")
        assert other.post(f"/worklists/items/{item.id}/close").status_code == 303

    response = client.post(f"/worklists/items/{item.id}/attempts",
                           data={"outcome": "reached"}, headers={"HX-Request": "true"})

    assert response.status_code == 409
    assert "This item was closed in the meantime." in response.text
    assert count(session, WorklistAttempt) == 0


def test_the_item_page_shows_what_is_behind_it_and_the_outcome_form(client, session, now):
    patient = make_patient(session)
    make_lab_result(session, patient=patient, interpretation=Interpretation.critical_high,
                    test_name="Potassium", value="6.9", unit="mmol/L",
                    reference_range="3.5-5.1", released_at=now - timedelta(hours=1))
    run_rules(session, now=now, only=[FollowUpRule.abnormal_lab])
    session.commit()
    item = session.exec(select(WorklistItem)).one()
    sign_in(client, session)

    page = client.get(f"/worklists/items/{item.id}")
    partial = client.get(f"/worklists/items/{item.id}", headers={"HX-Request": "true"})

    assert page.status_code == 200 and "<html" in page.text
    assert "Potassium 6.9 mmol/L, critically high (normal 3.5-5.1)" in page.text
    assert partial.status_code == 200 and "<html" not in partial.text
    assert f'action="/worklists/items/{item.id}/attempts"' in partial.text


def test_every_attempt_is_on_the_patients_timeline(client, session, now):
    patient = make_patient(session)
    item = no_show_item(session, now, patient)
    malee = sign_in(client, session, "Nurse Malee")
    for outcome, note in (("no_answer", ""), ("agreed_to_visit", "will come on Monday")):
        service.record_attempt(session, item=item, user=malee, actor=actor(malee),
                               outcome=outcome, note=note, now=utcnow())
        session.commit()

    page = client.get(f"/patients/{patient.id}")

    assert page.status_code == 200
    assert "Follow-up call (No-shows to rebook): No answer" in page.text
    assert "Follow-up call (No-shows to rebook): Agreed to come in" in page.text
    assert "will come on Monday" in page.text


# ---- the pages ------------------------------------------------------------------------

def _tab_count(html: str, label: str) -> int:
    match = re.search(re.escape(label) + r' <span class="count">(\d+)</span>', html)
    assert match, f"no tab {label!r}"
    return int(match.group(1))


def _listed(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'<article class="wl-item[^"]*" id="item-(\d+)"', html)}


def test_the_worklists_page_shows_tabs_with_counts(client, session, now):
    sign_in(client, session)
    first, second = no_show_item(session, now), no_show_item(session, now)
    lab = make_worklist_item(session, patient=make_patient(session),
                             rule=FollowUpRule.abnormal_lab, priority=Priority.critical,
                             due_at=now - timedelta(hours=1))

    page = client.get("/worklists")

    assert page.status_code == 200
    assert _tab_count(page.text, "Today (all lists)") == 3
    assert _tab_count(page.text, "No-shows to rebook") == 2
    assert _tab_count(page.text, "Abnormal lab results") == 1
    assert _tab_count(page.text, "Post-discharge calls") == 0
    assert _listed(page.text) == {first.id, second.id, lab.id}
    assert page.text.index(f'id="item-{lab.id}"') < page.text.index(f'id="item-{first.id}"')
    only_lab = client.get("/worklists?queue=abnormal_lab", headers={"HX-Request": "true"})
    assert _listed(only_lab.text) == {lab.id}
    assert "<html" not in only_lab.text


def test_the_worklists_page_filters_by_clinic_segment_and_priority(client, session, now):
    sign_in(client, session)
    eye, skin = make_clinic(session, name_en="Eye"), make_clinic(session, name_en="Skin")
    at_eye = no_show_item(session, now, clinic=eye)
    at_skin = no_show_item(session, now, make_patient(session, segment_code="social_security"),
                           clinic=skin)
    urgent = make_worklist_item(session, patient=make_patient(session), clinic_id=skin.id,
                                priority=Priority.high, due_at=now - timedelta(hours=1))

    assert _listed(client.get(f"/worklists?clinic={eye.id}").text) == {at_eye.id}
    assert _listed(client.get(f"/worklists?clinic={skin.id}").text) == {at_skin.id, urgent.id}
    assert _listed(client.get("/worklists?segment=social_security").text) == {at_skin.id}
    assert _listed(client.get("/worklists?priority=2_high").text) == {urgent.id}
    assert _listed(client.get(f"/worklists?clinic={skin.id}&priority=3_normal").text) == {
        at_skin.id}


def test_show_more_continues_the_queue_in_its_order_without_gaps_or_repeats(
        client, session, now, monkeypatch):
    monkeypatch.setattr(queues, "PAGE_SIZE", 2)
    sign_in(client, session)
    same_time = now - timedelta(hours=3)  # ties on priority and time: the id decides
    items = [make_worklist_item(session, patient=make_patient(session), due_at=due,
                                priority=priority)
             for due, priority in ((same_time, Priority.normal), (same_time, Priority.normal),
                                   (now - timedelta(days=1), Priority.normal),
                                   (now - timedelta(hours=1), Priority.high),
                                   (same_time, Priority.normal))]
    woken = items[2]
    woken.status, woken.snoozed_until = ItemStatus.snoozed, now - timedelta(minutes=5)
    session.commit()
    queue_order = [items[3].id, items[2].id, items[0].id, items[1].id, items[4].id]

    page = client.get("/worklists").text
    shown = re.findall(r'id="item-(\d+)"', page)
    assert len(shown) == 2
    while more := re.search(r'hx-get="([^"]*after=\d+[^"]*)"', page):
        page = client.get(more.group(1).replace("&amp;", "&"),
                          headers={"HX-Request": "true"}).text
        assert "<nav" not in page  # only rows, appended below the ones shown
        shown += re.findall(r'id="item-(\d+)"', page)

    assert [int(n) for n in shown] == queue_order


def test_show_more_after_an_item_that_is_gone_says_so(client, session, now):
    sign_in(client, session)

    response = client.get("/worklists?after=999999", headers={"HX-Request": "true"})

    assert response.status_code == 404
    assert "That worklist item no longer exists." in response.text


def test_an_htmx_attempt_that_closes_the_item_empties_the_row_and_signals(client, session,
                                                                          now):
    item = no_show_item(session, now)
    sign_in(client, session)

    response = client.post(f"/worklists/items/{item.id}/attempts",
                           data={"outcome": "refused", "note": "will go private"},
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text == ""
    assert response.headers["HX-Trigger"] == "worklist-changed"
    assert fresh(session, item).status == ItemStatus.closed


def test_an_htmx_attempt_that_keeps_the_item_returns_its_row(client, session, now):
    item = no_show_item(session, now)
    sign_in(client, session)

    response = client.post(f"/worklists/items/{item.id}/attempts",
                           data={"outcome": "no_answer"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert f'id="item-{item.id}"' in response.text
    assert "HX-Trigger" not in response.headers


def test_rebooking_over_http_takes_the_time_in_bangkok(client, session, now):
    item = no_show_item(session, now)
    clinic = make_clinic(session)
    sign_in(client, session)
    local = (now + timedelta(days=2)).astimezone(BANGKOK).replace(hour=9, minute=30, second=0)

    response = client.post(f"/worklists/items/{item.id}/attempts", data={
        "outcome": "rebooked", "clinic_id": str(clinic.id),
        "starts_at": local.strftime("%Y-%m-%dT%H:%M")})

    assert response.status_code == 303
    attempt = session.exec(select(WorklistAttempt)).one()
    assert session.get(Appointment, attempt.new_appointment_id).starts_at == local


def test_a_refused_rebooking_over_http_keeps_the_form_and_saves_nothing(client, session,
                                                                         now):
    item = no_show_item(session, now)
    sign_in(client, session)

    response = client.post(f"/worklists/items/{item.id}/attempts",
                           data={"outcome": "rebooked", "note": "wants Friday"},
                           headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "Choose a clinic." in response.text
    assert "wants Friday" in response.text
    # The form goes back inside its row, which stays on the page.
    assert response.headers["HX-Retarget"] == f"#work-{item.id}"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert fresh(session, item).status == ItemStatus.open
    assert count(session, WorklistAttempt) == 0


def test_the_count_badge_shows_items_due_today(client, session, now):
    sign_in(client, session)
    assert client.get("/worklists/count").text == ""

    no_show_item(session, now)
    no_show_item(session, now)

    response = client.get("/worklists/count")
    assert (response.status_code, response.text) == (200, "2")


def test_counts_stop_past_the_limit_and_say_so(client, session, now, monkeypatch):
    monkeypatch.setattr(queues, "COUNT_LIMIT", 2)
    sign_in(client, session)
    for _ in range(4):
        no_show_item(session, now)
    snoozed = no_show_item(session, now)
    snoozed.status, snoozed.snoozed_until = ItemStatus.snoozed, now - timedelta(minutes=1)
    session.commit()

    counts = queues.queue_counts(session, now=now, tz=BANGKOK)
    page = client.get("/worklists").text

    assert counts["no_show"] == counts["today"] == 3
    assert counts["abnormal_lab"] == 0
    assert 'No-shows to rebook <span class="count">2+</span>' in page
    assert client.get("/worklists/count").text == "2+"


def test_counts_add_the_snoozed_items_whose_time_has_come(session, now):
    no_show_item(session, now)
    woken = no_show_item(session, now)
    woken.status, woken.snoozed_until = ItemStatus.snoozed, now - timedelta(minutes=1)
    asleep = no_show_item(session, now)
    asleep.status, asleep.snoozed_until = ItemStatus.snoozed, now + timedelta(hours=1)
    session.commit()

    assert queues.queue_counts(session, now=now, tz=BANGKOK)["no_show"] == 2


def test_worklists_are_for_nurses_and_front_desk_and_rules_for_admins(app, session):
    may = {"nurse": (200, 403), "front_desk": (200, 403), "quality": (403, 403),
           "admin": (403, 200)}
    for role, (worklists, rules) in may.items():
        with TestClient(app, follow_redirects=False) as client:
            sign_in(client, session, role=role)

            seen = [client.get("/worklists").status_code,
                    client.get("/worklists/count").status_code,
                    client.get("/admin/rules").status_code]

        assert seen == [worklists, worklists, rules], role


# ---- rule settings --------------------------------------------------------------------

def _rules_form(session: Session, **changes: str) -> dict[str, object]:
    """The /admin/rules form as the page would post it, with ``changes`` typed in."""
    form: dict[str, object] = {}
    for setting in session.exec(select(RuleSetting)):
        if setting.enabled:
            form[f"enabled_{setting.rule}"] = "on"
        form[f"threshold_{setting.rule}"] = str(setting.threshold)
        form[f"segments_{setting.rule}"] = list(setting.segments)
    return {**form, **changes}


def _thresholds(session: Session) -> dict[str, int]:
    session.expire_all()
    return {s.rule: s.threshold for s in session.exec(select(RuleSetting))}


def test_only_admins_may_save_the_rules(client, session):
    sign_in(client, session, role="nurse")
    before = _thresholds(session)

    response = client.post("/admin/rules", data=_rules_form(session,
                                                            threshold_discharge_call="1"))

    assert response.status_code == 403
    assert _thresholds(session) == before


def test_a_threshold_that_is_not_a_number_is_refused_and_nothing_saved(client, session):
    sign_in(client, session, "Admin Anong", role="admin")
    before = _thresholds(session)

    for typed in ("abc", "-1", "2²", "", "10001"):
        form = _rules_form(session, threshold_missed_pickup="7", threshold_abnormal_lab=typed,
                           segments_no_show=["self_pay"])
        del form["enabled_lapsed_return"]
        response = client.post("/admin/rules", data=form)

        assert response.status_code == 422, typed
        assert re.search(r'has-error">\s*<input[^>]*name="threshold_abnormal_lab"',
                         response.text), typed
        assert "A whole number from 0 to 10000." in response.text
        # What was typed stays in the form, the good fields and the bad one alike.
        assert f'name="threshold_abnormal_lab" value="{typed}"' in response.text
        assert 'name="threshold_missed_pickup" value="7"' in response.text
        assert _thresholds(session) == before, typed
        assert re.search(r'name="enabled_lapsed_return"\s*>', response.text)  # unticked
        assert re.search(r'name="segments_no_show" value="self_pay"\s*checked', response.text)
    assert count(session, AuditEvent, AuditEvent.entity_type == "rule_setting") == 0


def test_saving_the_rules_persists_them_and_audits_who_did(client, session):
    admin = sign_in(client, session, "Admin Anong", role="admin")
    assert client.get("/admin/rules").status_code == 200
    form = _rules_form(session, threshold_discharge_call="72",
                       segments_no_show=["social_security", "not_a_segment"])
    del form["enabled_lapsed_return"]

    response = client.post("/admin/rules", data=form)

    assert response.status_code == 200
    assert "Saved." in response.text
    session.expire_all()
    assert session.get(RuleSetting, "discharge_call").threshold == 72
    assert session.get(RuleSetting, "no_show").segments == ["social_security"]
    assert session.get(RuleSetting, "lapsed_return").enabled is False
    events = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "rule_setting")
                          .order_by(col(AuditEvent.id))).all()
    assert {e.entity_id for e in events} == {rule.value for rule in RULES}
    assert all(e.user_id == admin.id for e in events)
    assert any(e.entity_id == "discharge_call" and "threshold=72" in e.detail for e in events)


def test_a_note_longer_than_the_record_holds_is_refused_whole_not_cut(client, session, now):
    item = no_show_item(session, now)
    sign_in(client, session)
    note = "x" * 2001

    response = client.post(f"/worklists/items/{item.id}/attempts",
                           data={"outcome": "no_answer", "note": note},
                           headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "At most 2000 characters." in response.text and note in response.text
    assert count(session, WorklistAttempt) == 0


def test_a_rebooking_time_that_is_not_one_is_a_field_error_showing_what_was_typed(
        client, session, now):
    item = no_show_item(session, now)
    clinic = make_clinic(session)
    sign_in(client, session)
    appointments_before = count(session, Appointment)

    response = client.post(f"/worklists/items/{item.id}/attempts", data={
        "outcome": "rebooked", "clinic_id": str(clinic.id), "starts_at": "tomorrow 9am"})

    assert response.status_code == 422
    assert 'value="tomorrow 9am"' in response.text
    assert fresh(session, item).status == ItemStatus.open
    assert count(session, Appointment) == appointments_before


def test_claiming_and_giving_back_over_http_are_audited_naming_the_patient(client, session,
                                                                          now):
    item = no_show_item(session, now)
    user = sign_in(client, session, "Nurse Malee")
    htmx = {"HX-Request": "true"}

    claimed = client.post(f"/worklists/items/{item.id}/claim", headers=htmx)
    released = client.post(f"/worklists/items/{item.id}/release", headers=htmx)

    assert (claimed.status_code, released.status_code) == (200, 200)
    session.expire_all()
    rows = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "worklist_item",
                                                 AuditEvent.user_id == user.id)
                        .order_by(AuditEvent.id)).all()
    assert [(r.action, r.detail, r.patient_id) for r in rows] == [
        ("update", "claimed", item.patient_id), ("update", "released", item.patient_id)]
