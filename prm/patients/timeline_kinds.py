"""Timeline kinds written by the patient registry."""

from __future__ import annotations

from prm import timeline
from prm.i18n import _

_FIELD_LABELS = {
    "hn": "HN", "national_id": "national ID", "passport_no": "passport",
    "phone_e164": "phone", "phone_alt_e164": "second phone", "birth_date": "birth date",
    "sms_consent": "SMS consent", "preferred_channel": "preferred channel",
    "preferred_language": "language",
}


def _edited_title(data: dict) -> str:
    fields = [_(_FIELD_LABELS.get(f, "name" if "name" in f else f)) for f in data.get("fields", [])]
    return _("Record edited: %(fields)s", fields=", ".join(dict.fromkeys(fields)))


def _consent_title(data: dict) -> str:
    if data.get("consent"):
        return _("SMS consent given (%(source)s)", source=data.get("source", ""))
    return _("SMS consent withdrawn (%(source)s)", source=data.get("source", ""))


timeline.register_group("record", lambda: _("Record"))
timeline.register_group("notes", lambda: _("Notes"))
timeline.register_kind("registered", group="record", icon="★",
                       title=lambda d: _("Registered with HN %(hn)s", hn=d.get("hn", "")))
timeline.register_kind("edited", group="record", icon="✎", title=_edited_title)
timeline.register_kind("consent", group="record", icon="✉", title=_consent_title)
timeline.register_kind("coverage_added", group="record", icon="＋",
                       title=lambda d: _("Payer coverage added: %(segment)s",
                                         segment=d.get("segment", "")))
timeline.register_kind("coverage_ended", group="record", icon="－",
                       title=lambda d: _("Payer coverage ended: %(segment)s",
                                         segment=d.get("segment", "")))
timeline.register_kind("note", group="notes", icon="✍", title=lambda d: _("Note"))
