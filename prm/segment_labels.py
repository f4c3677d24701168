"""Words staff see for payer segments: what each seeded segment is, in the request's
language. Segment rows store an English description (hospitals add their own segments
with theirs); the seeded ones read through the catalog, keyed by code, everywhere a
segment is described (the segments page, the badge's tooltip on every page).

A neutral module (i18n only), like ``prm.roles``: the templates' badge macro needs it
through ``prm.web.templating``, which may not import a feature's package."""

from __future__ import annotations

from typing import Protocol

from prm.i18n import _


class Described(Protocol):
    """A segment row, or a row of its columns (``prm.patients.service.segment_names``)."""

    @property
    def code(self) -> str: ...

    @property
    def description(self) -> str: ...


def _seeded_descriptions() -> dict[str, str]:
    """The seeded segments (alembic 0001), in the words they were seeded with."""
    return {
        "social_security_referral": _("Referred in from the registered hospital; needs a "
                                      "valid referral letter."),
        "social_security": _("Social Security Scheme; this hospital is the registered one."),
        "civil_servant": _("Civil Servant Medical Benefit Scheme."),
        "universal_coverage": _("Universal Coverage Scheme (gold card)."),
        "life_insurance": _("Private life or health insurance."),
        "foreign_uninsured": _("Foreign patient without health coverage."),
        "self_pay": _("Pays out of pocket."),
    }


def description(segment: Described) -> str:
    """A seeded segment's words; a segment the hospital added reads as it was entered."""
    return _seeded_descriptions().get(segment.code, segment.description)
