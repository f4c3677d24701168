"""Message templates: the placeholders each rule may use, checking a template when an
admin saves it, and rendering it for one patient.

A template is plain text with ``{placeholder}`` fields. It renders in a sandbox of our
own: the text is split by ``string.Formatter.parse`` and each field is looked up by name
in a dict of ready-made strings, so a template can only say what the placeholders give
it. Attribute or index access (``{given_name.__class__}``), conversions and format
specs are refused, like an unknown placeholder or a stray brace. What a placeholder may
contain is chosen here: never a test name, a value or a diagnosis (DESIGN §5).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prm.errors import ValidationFailed
from prm.i18n import _
from prm.models.message import MessageRuleCode

_FORMATTER = string.Formatter()


def placeholder_help() -> dict[str, str]:
    """Every placeholder and what it becomes, in the page's language."""
    return {
        "given_name": _("the patient's first name"),
        "clinic": _("the clinic's name"),
        "date": _("the day (Buddhist era in Thai)"),
        "time": _("the time, hospital time"),
        "hospital_name": _("the hospital's name (the SMS sender name)"),
        "hospital_phone": _("the hospital's phone number"),
        "link": _("the one-tap link where the patient answers"),
        "text": _("what staff typed"),
    }


_COMMON = ("given_name", "hospital_name", "hospital_phone")

# What each rule's messages may say. The abnormal-lab message names the clinic to call,
# never the test or its value.
RULE_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    MessageRuleCode.appointment_reminder: _COMMON + ("clinic", "date", "time", "link"),
    MessageRuleCode.missed_pickup: _COMMON + ("clinic",),
    MessageRuleCode.abnormal_lab: _COMMON + ("clinic",),
    MessageRuleCode.discharge_checkin: _COMMON + ("clinic",),
    MessageRuleCode.referral_renewal: _COMMON + ("date",),
    MessageRuleCode.post_visit_survey: _COMMON + ("clinic", "date", "link"),
    MessageRuleCode.manual: _COMMON + ("clinic", "text"),
    MessageRuleCode.reply: _COMMON + ("clinic", "date", "time"),
}


@dataclass(frozen=True)
class Piece:
    literal: str
    field: str | None


def parse(body: str, *, allowed: Iterable[str]) -> list[Piece]:
    """The template's literal text and fields; raises ValidationFailed (field ``body``)
    with the reason when it cannot be rendered safely."""
    allowed = set(allowed)
    try:
        parsed = list(_FORMATTER.parse(body))
    except ValueError as error:
        raise _refused(_("The template's braces do not match (%(error)s). Write a "
                         "placeholder as {given_name}; a brace on its own as {{ or }}.",
                         error=str(error))) from None
    pieces = []
    for literal, field, spec, conversion in parsed:
        if field is not None:
            _check_field(field, spec, conversion, allowed)
        pieces.append(Piece(literal, field))
    return pieces


def _check_field(field: str, spec: str | None, conversion: str | None,
                 allowed: set[str]) -> None:
    if not field.isidentifier() or spec or conversion:
        raise _refused(_("“{%(field)s}” is not a placeholder: use the name alone, such as "
                         "{given_name}.", field=field + (f"!{conversion}" if conversion else "")
                         + (f":{spec}" if spec else "")))
    if field not in allowed:
        raise _refused(_("This message cannot use {%(field)s}. It may use: %(allowed)s.",
                         field=field, allowed=", ".join(f"{{{name}}}" for name in sorted(allowed))))


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, field_errors={"body": message})


def check(rule: str, body: str) -> None:
    """Refuses (ValidationFailed) a template the rule cannot render."""
    if not body.strip():
        raise _refused(_("Write the message."))
    parse(body, allowed=RULE_PLACEHOLDERS[rule])


def render(body: str, values: Mapping[str, str], *, rule: str) -> str:
    """The template with each placeholder replaced by its value (missing ones empty)."""
    pieces = parse(body, allowed=RULE_PLACEHOLDERS[rule])
    return "".join(piece.literal + (values.get(piece.field, "") if piece.field else "")
                   for piece in pieces)
