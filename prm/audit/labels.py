"""How an audit row reads on the audit log page: "search (HN) — 3 patients shown"."""

from __future__ import annotations

from collections.abc import Callable

from prm.audit.service import detail_facts
from prm.i18n import _, ngettext
from prm.models.audit import AuditEvent


def query_kind_labels() -> dict[str, str]:
    """The kinds of ``prm.patients.search.QueryKind`` (a test keeps the two in step)."""
    return {"hn": _("HN"), "national_id": _("national ID"), "phone": _("phone"),
            "passport": _("passport or HN"), "name": _("name")}


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
    return _("worklist (%(queue)s) — %(shown)s", queue=facts.get("queue", ""),
             shown=_shown(facts))


def _appointment_day(facts: dict[str, str]) -> str:
    return _("appointments of %(day)s, clinic %(clinic)s, page %(page)s — %(shown)s",
             day=facts.get("day", ""), clinic=facts.get("clinic", ""),
             page=facts.get("page", ""), shown=_shown(facts))


def _recent(facts: dict[str, str]) -> str:
    return _("patients opened recently (start page) — %(shown)s", shown=_shown(facts))


# entity_type of a list's rows (prm.audit.service.record_shown) → its words.
_LISTS: dict[str, Callable[[dict[str, str]], str]] = {
    "patient_search": _search, "patient_suggest": _suggestions, "worklist": _worklist,
    "appointment_day": _appointment_day, "recent_patients": _recent,
}


def _records() -> dict[str, str]:
    """entity_type of a one-record view → its words (the id follows)."""
    return {"patient": _("patient record"), "appointment": _("appointment"),
            "worklist_item": _("worklist item"), "booking_form": _("booking form")}


def describe(event: AuditEvent) -> str:
    """What the row says was seen or done, in the request's language; entity types
    without words of their own read as before (type and id)."""
    describe_list = _LISTS.get(event.entity_type)
    facts = detail_facts(event.detail)
    if describe_list and facts:
        return describe_list(facts)
    words = _records().get(event.entity_type, event.entity_type)
    return f"{words} {event.entity_id}".strip()
