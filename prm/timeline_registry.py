"""Every kind, filter group and care-record source of the patient timeline, in one place.

Registered explicitly at start-up (``create_app``, the ``prm`` command, the worker and
the test suite call ``register_all``), never as a side effect of importing a feature, so
what the timeline shows does not depend on which modules happened to be imported, or in
which order. The order below is the order of the page's filter buttons; sources of one
group merge by time.
"""

from __future__ import annotations

from prm import timeline
from prm.care import timeline_sources as care
from prm.contacts.service import contact_title
from prm.followups.service import attempt_title
from prm.i18n import _
from prm.patients import timeline_kinds as registry

_registered = False


def register_all() -> None:
    """Register everything once; later calls do nothing."""
    global _registered
    if _registered:
        return
    _register_care_sources()
    _register_events()
    _registered = True


def _register_care_sources() -> None:
    timeline.register_group("care", lambda: _("Visits & appointments"))
    timeline.register_group("labs", lambda: _("Lab results"))
    timeline.register_group("medicines", lambda: _("Medicines"))
    timeline.register_source("care", query=care.appointments_query, items=care.appointment_items)
    timeline.register_source("care", query=care.encounters_query, items=care.encounter_items)
    timeline.register_source("labs", query=care.labs_query, items=care.lab_items)
    timeline.register_source("medicines", query=care.dispenses_query, items=care.dispense_items)


def _register_events() -> None:
    timeline.register_group("record", lambda: _("Record"))
    timeline.register_group("notes", lambda: _("Notes"))
    timeline.register_group("followups", lambda: _("Follow-up"))
    timeline.register_group("contacts", lambda: _("Contacts"))
    kind = timeline.register_kind
    kind("registered", group="record", icon="★", title=registry.registered_title)
    kind("edited", group="record", icon="✎", title=registry.edited_title)
    kind("consent", group="record", icon="✉", title=registry.consent_title)
    kind("coverage_added", group="record", icon="+", title=registry.coverage_added_title)
    kind("coverage_ended", group="record", icon="−", title=registry.coverage_ended_title)
    kind("note", group="notes", icon="✍", title=registry.note_title)
    kind("followup_attempt", group="followups", icon="☏", title=attempt_title)
    kind("contact", group="contacts", icon="☎", title=contact_title)
