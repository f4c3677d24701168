"""What a message says: the template chosen for it and the values of its placeholders.

Every SMS text is composed here, whoever sends it (the dispatcher for rule messages,
the answer to a reply, a nurse on the patient page, the admin's preview), so a
placeholder means the same thing everywhere. Values are the patient's first name, the
clinic, a day and a time in the message's language (Buddhist era in Thai): never a
test, a value, a medicine or a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from prm.config import Settings
from prm.formatting import format_date
from prm.i18n import current_language, normalise_language
from prm.messaging.templates import render
from prm.models.care import Appointment, Clinic
from prm.models.message import MessageTemplate, OutboundMessage
from prm.models.patient import Coverage, Patient

DEFAULT_VARIANT = "A"


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Dates and words in ``language`` (the patient's), whatever the page's is."""
    token = current_language.set(normalise_language(language))
    try:
        yield
    finally:
        current_language.reset(token)


def template_for(session: Session, *, rule: str, language: str,
                 variant: str = DEFAULT_VARIANT) -> MessageTemplate | None:
    """The rule's template in ``language`` and ``variant``; else the same variant in the
    other language, then the default variant (a template may be missing, never a message)."""
    rows = session.execute(select(MessageTemplate).where(MessageTemplate.rule == rule))
    by_key = {(row.language, row.variant): row for row in rows.scalars()}
    other = "en" if language == "th" else "th"
    for key in ((language, variant), (other, variant), (language, DEFAULT_VARIANT),
                (other, DEFAULT_VARIANT)):
        if key in by_key:
            return by_key[key]
    return None


def given_name(patient: Patient, language: str) -> str:
    if language == "th":
        return patient.given_name_th or patient.given_name_en
    return patient.given_name_en or patient.given_name_th


def clinic_name(clinic: Clinic | None, language: str) -> str:
    if clinic is None:
        return ""
    return clinic.name_th if language == "th" else clinic.name_en


def values_for(session: Session, *, message: OutboundMessage, patient: Patient,
               settings: Settings) -> dict[str, str]:
    """The placeholders' values for this message, in its language (no ``link``: the
    dispatcher adds it when it issues one)."""
    language = normalise_language(message.language)
    subject = _subject(session, message)
    clinic_id = message.clinic_id or getattr(subject, "clinic_id", None)
    clinic = session.get(Clinic, clinic_id) if clinic_id else None
    values = {"given_name": given_name(patient, language),
              "hospital_name": settings.hospital_name, "hospital_phone": settings.hospital_phone,
              "clinic": clinic_name(clinic, language)}
    with in_language(language):
        values |= _when(subject, settings)
    return values


def _subject(session: Session, message: OutboundMessage):
    kinds = {"appointment": Appointment, "coverage": Coverage}
    model = kinds.get(message.subject_type)
    return session.get(model, message.subject_id) if model and message.subject_id else None


def _when(subject, settings: Settings) -> dict[str, str]:
    moment: datetime | date | None = None
    if isinstance(subject, Appointment):
        moment = subject.starts_at.astimezone(settings.tz)
    elif isinstance(subject, Coverage):
        moment = subject.referral_valid_to
    if moment is None:
        return {}
    values = {"date": format_date(moment if isinstance(moment, date) else moment.date())}
    if isinstance(moment, datetime):
        values["time"] = f"{moment:%H:%M}"
    return values


def compose(session: Session, *, message: OutboundMessage, patient: Patient,
            settings: Settings, extra: dict[str, str] | None = None) -> str:
    """The message's text: its template rendered for the patient (``extra`` adds values
    such as ``link`` or ``text``). A message with no template left says nothing: ""."""
    template = template_for(session, rule=message.rule, language=message.language,
                            variant=message.variant or DEFAULT_VARIANT)
    if template is None:
        return ""
    values = values_for(session, message=message, patient=patient, settings=settings)
    return render(template.body, values | (extra or {}), rule=message.rule)
