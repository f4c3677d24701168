"""Worklist rows that say what to do: the cause in words (read a page at a time), the calls
made, the empty states, and the retry interval on /admin/rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from prm.followups import queues, service
from prm.followups.queues import WorklistFilter
from prm.followups.rules import run_rules
from prm.i18n import current_language
from prm.models.care import Interpretation
from prm.models.worklist import FollowUpRule, RuleSetting, WorklistItem
from tests.care_factories import (
    make_appointment,
    make_clinic,
    make_discharge,
    make_dispense,
    make_encounter,
    make_lab_result,
    make_medication_order,
    make_worklist_item,
)
from tests.factories import make_patient

# The same settings and language as the worklist tests (autouse fixtures).
from tests.test_worklists import actor, english, no_show_item, rule_defaults, sign_in  # noqa: F401

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 12, 7, 4, 0, tzinfo=BANGKOK).astimezone(ZoneInfo("UTC"))


def one_of_each_cause(session: Session, now: datetime) -> None:
    """A patient behind every kind of cause, made by the rules themselves."""
    def patient():
        return make_patient(session)
    make_lab_result(session, patient=patient(), interpretation=Interpretation.critical_high,
                    test_name="Creatinine", value="9.10", unit="mg/dL",
                    reference_range="0.6-1.2", released_at=now - timedelta(hours=2))
    make_medication_order(session, patient=patient(), medication="Amlodipine 5 mg tab",
                          next_pickup_due=date(2026, 11, 30))
    waiting = make_medication_order(session, patient=patient(), medication="Losartan 50 mg tab",
                                    next_pickup_due=date(2027, 1, 30))
    make_dispense(session, order=waiting, prepared_at=now - timedelta(days=5))
    make_appointment(session, patient=patient(), clinic=make_clinic(session, name_en="Eye"),
                     starts_at=datetime(2026, 12, 6, 9, 30, tzinfo=BANGKOK))
    make_discharge(session, patient=patient(), discharged_at=now - timedelta(days=3),
                   clinic_id=make_clinic(session, name_en="Surgery ward").id)
    regular = patient()
    for days in (400, 310, 220):
        make_encounter(session, patient=regular, started_at=now - timedelta(days=days))
    run_rules(session, now=now, tz=BANGKOK)
    session.commit()


def test_each_row_says_what_is_behind_it_in_words_staff_can_act_on(session, now):
    one_of_each_cause(session, now)

    rows = queues.list_items(session, filters=WorklistFilter(queue=queues.TODAY), now=now,
                             tz=BANGKOK, limit=50)

    causes = {row.cause for row in rows}
    assert "Creatinine 9.10 mg/dL, critically high (normal 0.6-1.2)" in causes
    assert "Amlodipine 5 mg tab not collected; pickup was due 30 Nov 2026" in causes
    assert "Losartan 50 mg tab ready at the pharmacy since 2 Dec 2026" in causes
    assert "Did not come to Eye on 6 Dec 2026 09:30" in causes
    assert "Discharged from Surgery ward 4 Dec 2026 04:00: ask how they are" in causes
    assert "Last visit 1 May 2026, no appointment ahead" in causes


def test_a_critical_lab_row_names_the_test_and_value_in_thai_too(session, now):
    one_of_each_cause(session, now)
    current_language.set("th")

    rows = queues.list_items(session, filters=WorklistFilter(queue="abnormal_lab"), now=now,
                             tz=BANGKOK)

    assert [row.cause for row in rows] == ["Creatinine 9.10 mg/dL, สูงวิกฤต (ค่าปกติ 0.6-1.2)"]


def test_a_page_of_rows_costs_the_same_queries_however_many_causes_it_shows(
        engine, session, now):
    one_of_each_cause(session, now)

    def statements(limit: int) -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            queues.list_items(session, filters=WorklistFilter(), now=now, tz=BANGKOK,
                              limit=limit)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    for _ in range(2):  # twice as many items of every kind
        one_of_each_cause(session, now - timedelta(minutes=1))
    everything = statements(50)
    assert len(session.exec(select(WorklistItem)).all()) >= 18
    assert everything <= 2 + 7  # the list (two visible parts) + one per kind of cause


def test_an_empty_queue_says_well_done_only_when_nothing_waits(client, session, now):
    sign_in(client, session)

    assert "Nothing to do here. Well done." in client.get("/worklists").text


def test_filters_that_hide_everything_say_so_and_offer_to_clear_them(client, session, now):
    sign_in(client, session)
    make_worklist_item(session, patient=make_patient(session), rule=FollowUpRule.no_show,
                       due_at=datetime.now(BANGKOK) - timedelta(hours=1))

    page = client.get("/worklists?queue=no_show&priority=1_critical")

    assert "No items match these filters." in page.text
    assert "Well done" not in page.text
    assert 'href="/worklists?queue=no_show"' in page.text
    assert "Filters (1 active)" in page.text


def test_a_queue_whose_items_are_all_held_back_says_when_the_next_comes_back(
        client, session):
    user = sign_in(client, session)
    item = no_show_item(session, datetime.now(BANGKOK).replace(microsecond=0))
    service.record_attempt(session, item=item, user=user, actor=actor(user),
                           outcome="no_answer")
    session.commit()

    page = client.get("/worklists?queue=no_show")

    assert "Nothing due right now." in page.text
    assert "1 item is waiting to be tried again" in page.text
    assert "Well done" not in page.text


def test_admins_set_how_long_an_item_stays_off_the_list_after_no_answer(client, session):
    sign_in(client, session, "Admin Anong", role="admin")
    form = {}
    for setting in session.exec(select(RuleSetting)):
        form[f"enabled_{setting.rule}"] = "on"
        form[f"threshold_{setting.rule}"] = str(setting.threshold)
        form[f"retry_minutes_{setting.rule}"] = str(setting.retry_minutes)
    assert 'name="retry_minutes_abnormal_lab" value="120"' in client.get("/admin/rules").text

    refused = client.post("/admin/rules", data={**form, "retry_minutes_abnormal_lab": "0"})
    saved = client.post("/admin/rules", data={**form, "retry_minutes_abnormal_lab": "30"})

    assert refused.status_code == 422
    assert "A whole number of minutes from 1 to 10080" in refused.text
    assert saved.status_code == 200
    session.expire_all()
    assert session.get(RuleSetting, "abnormal_lab").retry_minutes == 30
    assert service.retry_interval(session, rule="abnormal_lab") == timedelta(minutes=30)


def test_the_row_after_no_answer_says_when_the_item_comes_back(client, session):
    sign_in(client, session, "Nurse Malee")
    item = no_show_item(session, datetime.now(BANGKOK).replace(microsecond=0))
    client.post(f"/worklists/items/{item.id}/claim", headers={"HX-Request": "true"})

    response = client.post(f"/worklists/items/{item.id}/attempts",
                           data={"outcome": "no_answer"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "1 call · last: No answer" in response.text
    assert "(Nurse Malee)" in response.text
    assert "Off the list until" in response.text
    assert f'hx-post="/worklists/items/{item.id}/claim"' not in response.text
