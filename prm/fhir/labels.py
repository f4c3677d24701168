"""Words staff see for the payer → segment rules' kinds (/admin/fhir, the audit log)."""

from __future__ import annotations

from prm.i18n import _


def rule_kind_labels() -> dict[str, str]:
    return {"code": _("Coverage code (system|code)"),
            "payor": _("Payor identifier (system|value)"),
            "payor_name": _("Words in the payor's name")}
