"""Timeline kinds written by the patient registry."""

from __future__ import annotations

from prm import timeline
from prm.i18n import _, current_language


def _field_labels() -> dict[str, str]:
    return {
        "hn": "HN", "national_id": _("national ID"), "passport_no": _("passport"),
        "phone_e164": _("phone"), "phone_alt_e164": _("second phone"),
        "birth_date": _("birth date"), "sms_consent": _("SMS consent"),
        "preferred_channel": _("preferred channel"), "preferred_language": _("language"),
        "sex": _("sex"), "nationality": _("nationality"),
    }


def _edited_title(data: dict) -> str:
    known = _field_labels()
    fields = [known.get(f, _("name") if "name" in f else f) for f in data.get("fields", [])]
    return _("Record edited: %(fields)s", fields=", ".join(dict.fromkeys(fields)))


def _segment(data: dict, key: str = "segment") -> str:
    """Segment names are stored with the entry in both languages; codes in older entries."""
    names = data.get(f"{key}_names") or {}
    return names.get(current_language.get()) or names.get("en") or data.get(key, "")


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
timeline.register_kind("coverage_added", group="record", icon="+",
                       title=lambda d: _("Payer coverage added: %(segment)s",
                                         segment=_segment(d)))
timeline.register_kind("coverage_ended", group="record", icon="−",
                       title=lambda d: _("Payer coverage ended: %(segment)s",
                                         segment=_segment(d)))
timeline.register_kind("note", group="notes", icon="✍", title=lambda d: _("Note"))
