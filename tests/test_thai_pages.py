"""Thai throughout: every string marked for translation has a Thai translation, and no
page the app serves, rendered in Thai with data on it, shows an English catalog string.

The page check reads the GET routes from the app (tests/routes.py), so a new page is
checked as soon as it is served; it signs in as each role whose pages differ and fills
the pages with real rows of every kind (appointments in every status with their history,
worklist items of every rule with attempts, audit rows of every kind, quarantined FHIR
records…). A failure names the page and the English string it found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from prm.audit.service import Actor
from prm.auth.service import StaffMember
from prm.care import appointments as desk
from prm.care import records
from prm.contacts.service import log_contact
from prm.followups import service as followups
from prm.followups.queues import QUEUES
from prm.models.audit import AuditAction, AuditEvent
from prm.models.care import AppointmentChange, AppointmentStatus
from prm.models.contact import ContactChannel, ContactOutcome, ContactReason
from prm.models.integration import QuarantinedResource, QuarantineStatus, SegmentRule
from prm.models.segment import Segment
from prm.models.types import utcnow
from prm.models.worklist import AttemptOutcome, FollowUpRule
from prm.patients import service as patients
from tests.care_factories import (
    make_appointment,
    make_clinic,
    make_clinician,
    make_discharge,
    make_dispense,
    make_lab_result,
    make_medication_order,
    make_worklist_item,
)
from tests.factories import make_patient, shown, sign_in
from tests.routes import served_routes

ROOT = Path(__file__).parent.parent
CATALOG_PATH = ROOT / "prm" / "locale" / "th" / "LC_MESSAGES" / "messages.po"


@cache
def thai_catalog():
    with CATALOG_PATH.open("rb") as po_file:
        return read_po(po_file, locale="th")


def extracted_msgids() -> dict[str, str]:
    """Every msgid marked in the code and templates (babel.cfg, as ``make messages``
    extracts them, in memory) → the first file that marks it."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, filename)
    return found


def _translated(entry) -> bool:
    strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return not entry.fuzzy and all(s.strip() for s in strings)


def test_every_marked_string_has_a_thai_translation():
    catalog = thai_catalog()
    missing = [f"{msgid!r} ({where})" for msgid, where in sorted(extracted_msgids().items())
               if (entry := catalog.get(msgid)) is None or not _translated(entry)]

    assert missing == [], ("Translate these in prm/locale/th/LC_MESSAGES/messages.po (a "
                           "non-empty, non-fuzzy msgstr): " + "; ".join(missing))


def test_no_string_is_translated_twice():
    """Entries are appended by hand: a second entry for a msgid would silently win."""
    msgids = re.findall(r'^msgid (".*")$', CATALOG_PATH.read_text(encoding="utf-8"), re.M)
    twice = sorted({m for m in msgids if msgids.count(m) > 1} - {'""'})

    assert twice == [], f"msgids with two entries in {CATALOG_PATH.name}: {twice}"


def test_the_extraction_finds_the_strings_of_code_and_templates():
    found = extracted_msgids()

    assert found["Choose one of the options."].startswith("prm")
    assert found["Audit log"].startswith("templates")


# --- no English on a Thai page -------------------------------------------------------------

# English catalog strings a Thai page may show, each with why. Everything else whose Thai
# differs from the English must not appear on a Thai page.
ALLOWED_ENGLISH = {
    "English": "the language switch names the language in its own words",
}
# Shorter strings are too often part of something else (codes, units, "SMS", "LINE").
MIN_LETTERS = 4
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


@dataclass(frozen=True)
class English:
    """A catalog string a Thai page must not show: its words (placeholders match a few
    words of anything), and its literal parts, which a page must hold before the
    pattern is worth trying (keeps the check linear on long pages)."""

    msgid: str
    parts: tuple[str, ...]
    pattern: re.Pattern


@cache
def english_strings() -> list[English]:
    """Every catalog string a Thai page must not show: its Thai differs, it is long
    enough, it is not allowed. Matching is by whole words and ignores case (codes stored
    in lower case read like their labels); the page's spaces are single spaces."""
    found = []
    for entry in thai_catalog():
        msgid = entry.id[0] if isinstance(entry.id, tuple) else entry.id
        thai = entry.string[0] if isinstance(entry.string, tuple) else entry.string
        literal = _PLACEHOLDER.sub(" ", msgid)
        if not msgid or msgid == thai or msgid in ALLOWED_ENGLISH or \
                sum(c.isalpha() for c in literal) < MIN_LETTERS:
            continue
        parts = [" ".join(p.split()) for p in _PLACEHOLDER.split(msgid)[::2]]
        body = r".{1,80}?".join(re.escape(p) for p in parts)
        found.append(English(msgid, tuple(p.lower() for p in parts if p.strip()),
                             re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)))
    return found


class _VisibleText(HTMLParser):
    """The words a person sees or hears on a page: text outside scripts and styles, and
    the attributes shown or read out (placeholder, title, aria-label, alt)."""

    SHOWN_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.words += [value for name, value in attrs
                       if name in self.SHOWN_ATTRIBUTES and value]
        if tag == "input" and ("type", "submit") in attrs:
            self.words += [value for name, value in attrs if name == "value" and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.words.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.words).split())


def english_on(html: str, data: tuple[str, ...] = ()) -> list[str]:
    """The English catalog strings on the page, once ``data`` (texts the hospital entered
    or its systems sent, shown as they are) is taken out."""
    text = visible_text(html)
    for entered in data:
        text = text.replace(entered, " ")
    lower = text.lower()
    return [english.msgid for english in english_strings()
            if all(part in lower for part in english.parts) and english.pattern.search(text)]


def test_the_check_finds_english_and_passes_thai():
    assert english_on("<p>Audit log</p><script>'Audit log'</script>") == ["Audit log"]
    assert english_on('<input placeholder="Filter">') == ["Filter"]
    assert english_on("<p>บันทึกการใช้งาน</p>") == []


def _entered_data(session: Session) -> tuple[str, ...]:
    """Texts that are data, not words of PRM's: the payer → segment rules' patterns and
    notes (seeded in English by the hospital's integrator, edited on /admin/fhir), and
    what the FHIR server sent (resource types such as "Coverage", the adapter's errors)."""
    rules = session.exec(select(SegmentRule)).all()
    held = session.exec(select(QuarantinedResource)).all()
    texts = {text for rule in rules for text in (rule.pattern, rule.note)} | {
        text for row in held for text in (row.resource_type, row.error)}
    return tuple(sorted(filter(None, texts), key=len, reverse=True))


def _staff(user) -> StaffMember:
    return StaffMember(id=user.id, username=user.username, full_name=user.full_name,
                       role=user.role, language=user.language)


def _appointments(session: Session, patient, clinic, clinician, actor: Actor, tz) -> dict:
    """One appointment in every status, with history written by the desk: booked,
    moved, cancelled with a reason, and marked a no-show by the clock."""
    now = utcnow()
    made = {status: make_appointment(session, patient=patient, clinic=clinic, status=status,
                                     clinician_id=clinician.id,
                                     starts_at=now + timedelta(days=2, minutes=15 * n))
            for n, status in enumerate(AppointmentStatus)}
    booked = desk.book(session, patient=patient, clinic_id=clinic.id, actor=actor,
                       clinician_id=clinician.id, starts_at=now + timedelta(days=3),
                       reason="ตรวจติดตามเบาหวาน")
    desk.reschedule(session, appointment=booked, starts_at=now + timedelta(days=4),
                    actor=actor)
    cancelled = desk.book(session, patient=patient, clinic_id=clinic.id, actor=actor,
                          clinician_id=clinician.id, starts_at=now + timedelta(days=5))
    desk.change_status(session, appointment=cancelled, to_status="cancelled", actor=actor,
                       tz=tz, reason="ผู้ป่วยขอเลื่อน")
    missed = make_appointment(session, patient=patient, clinic=clinic,
                              starts_at=now - timedelta(days=1))
    session.add(AppointmentChange(appointment_id=missed.id, from_status="",
                                  to_status=AppointmentStatus.booked))
    desk.mark_overdue_no_shows(session, grace_hours=2)
    session.commit()
    return {"appointment_id": booked.id, "cancelled_id": cancelled.id, "missed_id": missed.id,
            "any_status_ids": [a.id for a in made.values()]}


def _worklist(session: Session, patient, clinic, nurse, actor: Actor) -> dict:
    """An item of every rule, behind each a real cause, with an attempt on each."""
    now = utcnow()
    lab = make_lab_result(session, patient=patient)
    order = make_medication_order(session, patient=patient,
                                  ordered_at=now - timedelta(days=40))
    dispense = make_dispense(session, order=order)
    stay = make_discharge(session, patient=patient, discharged_at=now - timedelta(days=2))
    missed = make_appointment(session, patient=patient, clinic=clinic,
                              status=AppointmentStatus.noshow,
                              starts_at=now - timedelta(days=3))
    causes = {FollowUpRule.abnormal_lab: ("lab_result", lab.id),
              FollowUpRule.missed_pickup: ("medication_order", order.id),
              FollowUpRule.no_show: ("appointment", missed.id),
              FollowUpRule.discharge_call: ("encounter", stay.id),
              FollowUpRule.discharge_appointment: ("encounter", stay.id),
              FollowUpRule.lapsed_return: ("encounter", stay.id)}
    items = {}
    for n, rule in enumerate(FollowUpRule):
        kind, cause_id = causes.get(rule, ("test", n))
        items[rule] = make_worklist_item(session, patient=patient, rule=rule, cause_id=cause_id,
                                         cause_key=f"{kind}:{cause_id}:{rule}",
                                         due_at=now - timedelta(hours=1), clinic_id=clinic.id)
    pickup = make_worklist_item(session, patient=patient, rule=FollowUpRule.missed_pickup,
                                cause_id=dispense.id,
                                cause_key=f"medication_dispense:{dispense.id}",
                                due_at=now - timedelta(hours=1))
    user = _staff(nurse)
    for outcome, item in zip([AttemptOutcome.no_answer, AttemptOutcome.wrong_number,
                              AttemptOutcome.reached, AttemptOutcome.agreed_to_visit,
                              AttemptOutcome.refused, AttemptOutcome.moved_elsewhere],
                             items.values(), strict=False):
        followups.record_attempt(session, item=item, user=user, actor=actor, outcome=outcome,
                                 note="โทรแล้ว")
    followups.record_attempt(session, item=pickup, user=user, actor=actor,
                             outcome=AttemptOutcome.call_back_later,
                             call_back_at=now + timedelta(hours=3))
    records.acknowledge_lab(session, result=lab, actor=actor)
    session.commit()
    return {"item_id": items[FollowUpRule.no_show].id,
            "item_ids": [i.id for i in [*items.values(), pickup]]}


def _record_of_a_patient(session: Session, nurse, actor: Actor) -> dict:
    """A Thai patient with coverages (one ended), consent, notes and contacts of every
    kind; a foreign patient without coverage."""
    patient = make_patient(session, sms_consent=False)
    kept = patients.add_coverage(session, patient=patient, segment_code="social_security",
                                 payer_name="สำนักงานประกันสังคม", member_id="123",
                                 actor=actor)
    ended = patients.add_coverage(session, patient=patient, segment_code="life_insurance",
                                  payer_name="AIA", actor=actor)
    patients.end_coverage(session, patient=patient, coverage_id=ended.id, actor=actor)
    patients.set_sms_consent(session, patient=patient, consent=True, source="desk",
                             actor=actor)
    patients.add_note(session, patient=patient, text="ผู้ป่วยแพ้ยาเพนิซิลลิน", actor=actor)
    for channel, reason, outcome in zip(ContactChannel, ContactReason, ContactOutcome,
                                        strict=False):
        if outcome != ContactOutcome.appointment_booked:
            log_contact(session, patient=patient, channel=channel, reason=reason,
                        outcome=outcome, note="คุยแล้ว", actor=actor)
    foreign = make_patient(session, national_id="", passport_no="AB1234567",
                           passport_country="MM", nationality="MM",
                           segment_code="foreign_uninsured")
    session.commit()
    assert kept.id
    return {"patient_id": patient.id, "hn": patient.hn, "foreign_id": foreign.id}


def _audit_rows_of_every_kind(session: Session, patient_id: int, user) -> None:
    """The rows the services write that the pages above did not (the log then shows
    every kind): accounts, logins, rules, FHIR and integration rows."""
    kinds = [
        (AuditAction.create, "staff_user", ""),
        (AuditAction.update, "staff_user", "account approved"),
        (AuditAction.update, "staff_user", "password reset"),
        (AuditAction.update, "staff_user", "active=no"),
        (AuditAction.update, "staff_user", "password changed"),
        (AuditAction.login, "staff_user", ""),
        (AuditAction.login, "staff_user", "one-time password used"),
        (AuditAction.login_failed, "staff_user", "nobody"),
        (AuditAction.logout, "staff_user", ""),
        (AuditAction.create, "patient", ""),
        (AuditAction.update, "patient", "given_name_th,phone_e164,sms_consent"),
        (AuditAction.update, "appointment", "booked->arrived"),
        (AuditAction.update, "worklist_item", "claimed"),
        (AuditAction.update, "worklist_item", "released"),
        (AuditAction.update, "worklist_item", "snoozed"),
        (AuditAction.update, "worklist_item", "closed"),
        (AuditAction.update, "rule_setting", "enabled=True threshold=3"),
        (AuditAction.view, "fhir_quarantine", "Coverage/c0"),
        (AuditAction.update, "fhir_quarantine", "dismissed"),
        (AuditAction.create, "segment_rule", "payor_name ประกันสังคม → social_security"),
        (AuditAction.update, "segment_rule", "off"),
        (AuditAction.update, "fhir_records", "sync: 12 records written, 1 quarantined"),
        (AuditAction.export, "patient", ""),
        (AuditAction.search, "patient_search", "kind=name shown=0"),
        (AuditAction.listing, "worklist", "queue=today shown=1"),
        (AuditAction.listing, "appointment_day", "day=2026-12-01 clinic=1 page=1 shown=1"),
        (AuditAction.listing, "recent_patients", "shown=1"),
    ]
    session.add_all(AuditEvent(user_id=user.id, username=user.username, action=action,
                               entity_type=entity, detail=detail,
                               entity_id="no_show" if entity == "rule_setting" else "1",
                               patient_id=patient_id if entity != "staff_user" else None)
                    for action, entity, detail in kinds)
    session.commit()


def _world(session: Session, settings, users: dict) -> dict:
    nurse = users["nurse"]
    actor = Actor.for_user(nurse)
    ids = _record_of_a_patient(session, nurse, actor)
    patient = patients.get_patient(session, ids["patient_id"])
    clinic = make_clinic(session)
    clinician = make_clinician(session, clinic=clinic)
    ids |= _appointments(session, patient, clinic, clinician, actor, settings.tz)
    ids |= _worklist(session, patient, clinic, nurse, actor)
    quarantined = [QuarantinedResource(
        server="test", origin="sync", resource_type="Coverage", resource_id=f"c{n}",
        error="Coverage.payor: urn:oid:2.16.764.1 | 77", raw="{}", status=status)
        for n, status in enumerate(QuarantineStatus)]
    session.add_all(quarantined)
    session.commit()
    ids["row_id"] = [row.id for row in quarantined]
    _audit_rows_of_every_kind(session, ids["patient_id"], nurse)
    ids |= {"clinic_id": clinic.id, "day": (utcnow() + timedelta(days=2))
            .astimezone(settings.tz).date().isoformat()}
    return ids


# The query strings that show each page's variants (and its rows): every route is also
# requested without them.
VARIANTS = {
    "/patients": ["q={hn}", "q=somchai", "q=0899999999"],
    "/patients/suggest": ["q={hn}"],
    "/appointments": ["day={day}", "day={day}&clinic={clinic_id}"],
    "/appointments/new": ["patient_id={patient_id}"],
    "/worklists": [f"queue={queue}" for queue in QUEUES],
    "/admin/fhir": [f"status={status}" for status in QuarantineStatus],
    "/admin/audit": ["action=update", "patient_id={patient_id}"],
}
# Every row behind a path parameter (each appointment in every status, every item).
MANY = {"appointment_id": ["appointment_id", "cancelled_id", "missed_id", "any_status_ids"],
        "item_id": ["item_ids"], "patient_id": ["patient_id", "foreign_id"]}
# Roles whose pages differ: the admin's pages, the clinical desk's, quality's read-only.
ROLES = ("admin", "nurse", "quality")


def _values(ids: dict, name: str) -> list:
    values = []
    for key in MANY.get(name, [name]):
        value = ids.get(key, 0)
        values += value if isinstance(value, list) else [value]
    return values


def _urls(app, ids: dict) -> list[str]:
    urls = []
    for template in sorted({p for p, methods, _r in served_routes(app) if "GET" in methods}):
        names = re.findall(r"\{(\w+)(?::\w+)?\}", template)
        paths = [template]
        for name in names:
            paths = [re.sub(r"\{" + name + r"(?::\w+)?\}", str(value), path)
                     for path in paths for value in _values(ids, name)]
        for path in paths:
            urls.append(path)
            urls += [f"{path}?{query.format(**ids)}" for query in VARIANTS.get(template, [])]
    return urls


@pytest.fixture
def signed_in(app, session) -> dict[str, tuple[TestClient, object]]:
    browsers = {}
    for role in ROLES:
        browser = TestClient(app, follow_redirects=False)
        user = sign_in(browser, session, role=role)
        user.full_name = "สมศรี ทดสอบ"  # a Thai hospital's staff have Thai names
        session.add(user)
        browsers[role] = (browser, user)
    session.commit()
    return browsers


def test_no_page_in_thai_shows_an_english_catalog_string(app, session, settings, signed_in):
    ids = _world(session, settings, {role: user for role, (_b, user) in signed_in.items()})
    data = _entered_data(session)
    found, broken, rendered = [], [], set()
    for url in _urls(app, ids):
        for role, (browser, _user) in signed_in.items():
            for htmx in (False, True):
                response = browser.get(url, headers={"HX-Request": "true"} if htmx else {})
                page = f"{role} GET {url}{' (htmx)' if htmx else ''}"
                if response.status_code >= 500:
                    broken.append(f"{page}: {response.status_code}")
                if response.status_code != 200 or \
                        not response.headers["content-type"].startswith("text/html"):
                    continue
                rendered.add(url)
                found += [f"{page}: {english!r}"
                          for english in english_on(response.text, data)]

    assert broken == [], "pages that failed: " + "; ".join(broken)
    assert {"/admin/audit", "/segments", "/worklists", f"/patients/{ids['patient_id']}",
            f"/appointments/{ids['appointment_id']}"} <= rendered
    assert found == [], "English on a Thai page:\n" + "\n".join(found)


# --- the words behind stored codes -----------------------------------------------------------

def test_an_appointments_history_says_in_thai_why_it_changed(nurse_client, session, settings):
    """The desk stores its own reasons as codes (rows written before read the same);
    what staff typed is shown as typed."""
    patient = make_patient(session)
    clinic = make_clinic(session)
    actor = Actor(user_id=None, username="system")
    moved = desk.book(session, patient=patient, clinic_id=clinic.id, actor=actor,
                      starts_at=utcnow() + timedelta(days=3))
    desk.reschedule(session, appointment=moved, starts_at=utcnow() + timedelta(days=4),
                    actor=actor)
    desk.reschedule(session, appointment=moved, starts_at=utcnow() + timedelta(days=5),
                    actor=actor, reason="ญาติไม่ว่าง")
    missed = make_appointment(session, patient=patient, clinic=clinic,
                              starts_at=utcnow() - timedelta(days=1))
    desk.mark_overdue_no_shows(session, grace_hours=2)
    session.commit()

    moved_page = nurse_client.get(f"/appointments/{moved.id}").text
    missed_page = nurse_client.get(f"/appointments/{missed.id}").text

    assert shown("Moved to another time") in moved_page and "rescheduled" not in moved_page
    assert "ญาติไม่ว่าง" in moved_page
    assert shown("Marked a no-show automatically: no check-in") in missed_page
    assert "no check-in" not in missed_page


def test_segments_are_described_in_thai_and_a_hospitals_own_as_entered(admin_client, session):
    own = Segment(code="company_x", name_th="บริษัท เอ็กซ์", name_en="Company X",
                  description="สวัสดิการพนักงานบริษัท เอ็กซ์", rank=60)
    session.add(own)
    session.commit()
    try:
        page = admin_client.get("/segments").text
    finally:  # seeded reference data is kept between tests on PostgreSQL
        session.delete(own)
        session.commit()

    assert shown("Civil Servant Medical Benefit Scheme.") in page
    assert "Civil Servant Medical Benefit Scheme." not in page  # nor in a badge's tooltip
    assert "สวัสดิการพนักงานบริษัท เอ็กซ์" in page


@pytest.fixture
def admin_client(client, session) -> TestClient:
    sign_in(client, session, role="admin")
    return client
