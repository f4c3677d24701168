"""Staff roles: what each may do (the role matrix, DESIGN §4) and the words staff see
for them. Routes ask for a permission; templates show and check roles.

A neutral module (models and i18n only) because the web layer, auth and every feature's
routes all need it, and none of them may import the others' packages for it."""

from __future__ import annotations

from enum import StrEnum

from prm.i18n import _
from prm.models.staff import Role


class Permission(StrEnum):
    patient_view = "patient_view"
    appointments = "appointments"
    worklists = "worklists"
    rules_manage = "rules_manage"
    patient_edit = "patient_edit"
    contact_log = "contact_log"
    segments_view = "segments_view"
    audit_view = "audit_view"
    users_manage = "users_manage"
    integration_manage = "integration_manage"
    messages = "messages"  # the outbox and inbox (/messages), sending a patient an SMS


_CLINICAL_DESK = {Permission.patient_view, Permission.patient_edit, Permission.contact_log,
                  Permission.appointments, Permission.worklists, Permission.messages}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.front_desk: frozenset(_CLINICAL_DESK),
    Role.nurse: frozenset(_CLINICAL_DESK),
    # Quality reads patient records to investigate complaints but does not edit them.
    Role.quality: frozenset({Permission.patient_view, Permission.segments_view}),
    # Admins run the system; they do not need patients' health records.
    Role.admin: frozenset(
        {Permission.users_manage, Permission.audit_view, Permission.segments_view,
         Permission.rules_manage, Permission.integration_manage}
    ),
}


def role_may(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


def role_labels() -> dict[str, str]:
    return {
        Role.front_desk: _("Front desk"),
        Role.nurse: _("Nurse"),
        Role.quality: _("Quality team"),
        Role.admin: _("Administrator"),
    }
