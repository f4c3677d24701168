"""Words staff see for roles."""

from __future__ import annotations

from prm.i18n import _
from prm.models.staff import Role


def role_labels() -> dict[str, str]:
    return {
        Role.front_desk: _("Front desk"),
        Role.nurse: _("Nurse"),
        Role.quality: _("Quality team"),
        Role.admin: _("Administrator"),
    }
