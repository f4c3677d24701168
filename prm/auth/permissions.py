"""The role matrix (DESIGN §4): which role may do what. Routes ask for a permission."""

from __future__ import annotations

from enum import StrEnum

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


_CLINICAL_DESK = {Permission.patient_view, Permission.patient_edit, Permission.contact_log,
                  Permission.appointments, Permission.worklists}

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
