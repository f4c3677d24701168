"""How an audit row reads on the audit log page, in the request's language: its action
("Changed"), what it was about ("appointment 12", "search (HN) — 3 patients shown") and
its detail ("Booked → Checked in").

Rows store codes (``prm.audit.service``: actions, entity types, details written as codes
or ``facts_detail``); every word is chosen here, at display time, so rows written before
a wording changed read the new way. Every feature writes rows and ``prm.audit`` sits below
them all, so their words are gathered here, beside the page, from each feature's labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prm.audit.service import detail_facts
from prm.auth.login import AccountEvent
from prm.care.appointments import HistoryReason
from prm.care.labels import appointment_status_labels
from prm.fhir.labels import rule_kind_labels
from prm.followups.labels import outcome_labels, rule_labels
from prm.i18n import _, ngettext
from prm.models.audit import AuditAction, AuditEvent
from prm.patients.timeline_kinds import field_names


def action_labels() -> dict[str, str]:
    return {
        AuditAction.view: _("Opened"), AuditAction.create: _("Added"),
        AuditAction.update: _("Changed"), AuditAction.export: _("Exported"),
        AuditAction.search: _("Searched"), AuditAction.listing: _("Listed"),
        AuditAction.login: _("Logged in"), AuditAction.login_failed: _("Login failed"),
        AuditAction.logout: _("Logged out"),
    }


def query_kind_labels() -> dict[str, str]:
    """The kinds of ``prm.patients.search.QueryKind`` (a test keeps the two in step)."""
    return {"hn": _("HN"), "national_id": _("national ID"), "phone": _("phone"),
            "passport": _("passport or HN"), "name": _("name")}


def _queue_labels() -> dict[str, str]:
    return {"today": _("Today (all lists)"), **rule_labels()}


def _shown(facts: dict[str, str]) -> str:
    count = int(facts.get("shown", "0") or 0)
    return ngettext("%(num)s patient shown", "%(num)s patients shown", count)


def _search(facts: dict[str, str]) -> str:
    kind = query_kind_labels().get(facts.get("kind", ""), facts.get("kind", ""))
    return _("search (%(kind)s) — %(shown)s", kind=kind, shown=_shown(facts))


def _suggestions(facts: dict[str, str]) -> str:
    kind = query_kind_labels().get(facts.get("kind", ""), facts.get("kind", ""))
    return _("search suggestions (%(kind)s) — %(shown)s", kind=kind, shown=_shown(facts))


def _worklist(facts: dict[str, str]) -> str:
    queue = _queue_labels().get(facts.get("queue", ""), facts.get("queue", ""))
    return _("worklist (%(queue)s) — %(shown)s", queue=queue, shown=_shown(facts))


def _appointment_day(facts: dict[str, str]) -> str:
    return _("appointments of %(day)s, clinic %(clinic)s, page %(page)s — %(shown)s",
             day=facts.get("day", ""), clinic=facts.get("clinic", ""),
             page=facts.get("page", ""), shown=_shown(facts))


def _recent(facts: dict[str, str]) -> str:
    return _("patients opened recently (start page) — %(shown)s", shown=_shown(facts))


# entity_type of a list's rows (prm.audit.service.record_shown) → its words; their
# facts are the whole story, so the detail column stays empty.
_LISTS: dict[str, Callable[[dict[str, str]], str]] = {
    "patient_search": _search, "patient_suggest": _suggestions, "worklist": _worklist,
    "appointment_day": _appointment_day, "recent_patients": _recent,
}


def record_labels() -> dict[str, str]:
    """entity_type of a row about one record → its words (the id follows)."""
    return {
        "patient": _("patient record"), "appointment": _("appointment"),
        "worklist_item": _("worklist item"), "booking_form": _("booking form"),
        "staff_user": _("staff account"), "coverage": _("coverage"), "note": _("note"),
        "contact": _("contact with the patient"), "lab_result": _("lab result"),
        "fhir_quarantine": _("quarantined FHIR record"),
        "segment_rule": _("payer mapping rule"), "rule_setting": _("follow-up rule"),
        "fhir_records": _("records from the hospital system"),
    }


def describe(event: AuditEvent) -> str:
    """What the row says was seen or done: a list with its facts, or a record and its
    id (a follow-up rule by its name); unknown entity types read as stored."""
    describe_list = _LISTS.get(event.entity_type)
    facts = detail_facts(event.detail)
    if describe_list and facts:
        return describe_list(facts)
    words = record_labels().get(event.entity_type, event.entity_type)
    if event.entity_type == "rule_setting":
        return f"{words}: {rule_labels().get(event.entity_id, event.entity_id)}"
    return f"{words} {event.entity_id}".strip()


# --- the detail column ---------------------------------------------------------------------

def _word_codes() -> dict[str, str]:
    """Details written as one code, whatever the record."""
    return {
        "ended": _("ended"), "acknowledged": _("acknowledged"), "dismissed": _("dismissed"),
        "claimed": _("taken"), "released": _("given back"), "snoozed": _("snoozed"),
        "closed": _("closed"), "on": _("switched on"), "off": _("switched off"),
        HistoryReason.rescheduled: _("moved to another time"),
        AccountEvent.reset: _("password reset"), AccountEvent.approved: _("account approved"),
        AccountEvent.changed: _("password changed"),
        AccountEvent.one_time_login: _("one-time password used"),
        "active=yes": _("account activated"), "active=no": _("account deactivated"),
        **outcome_labels(),
    }


def _status_change(detail: str, _segments: dict[str, str]) -> str:
    """``booked->arrived`` (an appointment's status change)."""
    before, arrow, after = detail.partition("->")
    if not arrow:
        return detail
    statuses = appointment_status_labels()
    return f"{statuses.get(before, before)} → {statuses.get(after, after)}"


def _rule_setting(detail: str, _segments: dict[str, str]) -> str:
    """``enabled=True threshold=3`` (``prm.followups.service.update_rule_setting``)."""
    facts = detail_facts(detail)
    if facts.get("enabled") == "True":
        return _("on, threshold %(threshold)s", threshold=facts.get("threshold", ""))
    return _("off, threshold %(threshold)s", threshold=facts.get("threshold", ""))


# prm.ingest.progress.audit_run: "scheduled sync: 12 records written, 1 quarantined"
# (which run it was is the row's username, integration:<run>).
_RUN = re.compile(r".*: (?P<written>\d+) records written, (?P<quarantined>\d+) quarantined")


def _integration_run(detail: str, _segments: dict[str, str]) -> str:
    run = _RUN.fullmatch(detail)
    if not run:
        return detail
    return _("%(written)s records written, %(quarantined)s quarantined", **run.groupdict())


def _segment_rule(detail: str, segments: dict[str, str]) -> str:
    """``payor_name bangkok → civil_servant`` (``prm.fhir.service.add_segment_rule``)."""
    kind, _sep, rest = detail.partition(" ")
    pattern, arrow, segment = rest.rpartition(" → ")
    if not arrow:
        return detail
    return _("%(kind)s “%(pattern)s” → %(segment)s",
             kind=rule_kind_labels().get(kind, kind), pattern=pattern,
             segment=segments.get(segment, segment))


def _fields(detail: str, _segments: dict[str, str]) -> str:
    """``phone_e164,given_name_th`` (the fields of a patient record that changed)."""
    return field_names(detail.split(","))


# entity_type → how the details written for it as more than one code read.
_DETAILS: dict[str, Callable[[str, dict[str, str]], str]] = {
    "appointment": _status_change, "rule_setting": _rule_setting,
    "fhir_records": _integration_run, "segment_rule": _segment_rule, "patient": _fields,
}


def detail(event: AuditEvent, segment_names: dict[str, str] | None = None) -> str:
    """The row's detail in words; what is not a code (a FHIR reference, a pattern, the
    username a failed login typed) is shown as written. ``segment_names``: code → name
    (``prm.patients.service.segment_names``), for the rules that map payers to them."""
    text = event.detail
    if not text or event.entity_type in _LISTS and detail_facts(text):
        return ""  # a list's facts are its "what"
    if event.action == AuditAction.login_failed:
        return _("username typed: %(name)s", name=text)
    if words := _word_codes().get(text):
        return words
    read = _DETAILS.get(event.entity_type)
    return read(text, segment_names or {}) if read else text
