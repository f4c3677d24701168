"""How the patient registry's timeline kinds read (registered in ``prm.timeline_registry``)."""

from __future__ import annotations

from prm.i18n import _, current_language


def _field_labels() -> dict[str, str]:
    return {
        "hn": "HN", "national_id": _("national ID"), "passport_no": _("passport"),
        "phone_e164": _("phone"), "phone_alt_e164": _("second phone"),
        "birth_date": _("birth date"), "sms_consent": _("SMS consent"),
        "preferred_channel": _("preferred channel"), "preferred_language": _("language"),
        "sex": _("sex"), "nationality": _("nationality"),
        "title_th": _("title"), "title_en": _("title"),
    }


def field_names(fields: list[str]) -> str:
    """The words for changed fields of a patient record ("phone, name"), each once; also
    the audit log's detail of an edit."""
    known = _field_labels()
    return ", ".join(dict.fromkeys(known.get(f, _("name") if "name" in f else f)
                                   for f in fields))


def edited_title(data: dict) -> str:
    return _("Record edited: %(fields)s", fields=field_names(data.get("fields", [])))


def segment_name(data: dict, key: str = "segment") -> str:
    """Segment names are stored with the entry in both languages; codes in older entries."""
    names = data.get(f"{key}_names") or {}
    return names.get(current_language.get()) or names.get("en") or data.get(key, "")


def consent_source(source: str) -> str:
    """How consent was given or withdrawn: the words for the sources PRM writes itself,
    what staff typed as typed."""
    return {"registration": _("at registration"), "staff edit": _("record edited"),
            "staff": _("by staff")}.get(source, source)


def consent_title(data: dict) -> str:
    source = consent_source(data.get("source", ""))
    if data.get("consent"):
        return _("SMS consent given (%(source)s)", source=source)
    return _("SMS consent withdrawn (%(source)s)", source=source)


def registered_title(data: dict) -> str:
    return _("Registered with HN %(hn)s", hn=data.get("hn", ""))


def coverage_added_title(data: dict) -> str:
    return _("Payer coverage added: %(segment)s", segment=segment_name(data))


def coverage_ended_title(data: dict) -> str:
    return _("Payer coverage ended: %(segment)s", segment=segment_name(data))


def note_title(data: dict) -> str:
    return _("Note")
