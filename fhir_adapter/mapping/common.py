"""What every FHIR mapper shares: errors, configuration, references, codes, times.

The helpers take validated ``fhir.resources.R4B`` model objects (or, for references and
source keys, plain strings and dicts) and return plain Python values, so the per-resource
mappers read as a list of rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache, wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from prm.ingest.records import DeletedRecord, SourceKey
from prm.patients.identifiers import country_alpha2, country_codes

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"  # identifier types

# Replace with the hospital's own HN system in its settings; Synthea writes its medical
# record number under the second one.
DEFAULT_HN_SYSTEMS = ("https://hospital.example/fhir/sid/hn", "http://hospital.smarthealthit.org")
# The Department of Provincial Administration issues the 13-digit national ID.
DEFAULT_NATIONAL_ID_SYSTEMS = ("https://www.dopa.go.th", "urn:oid:2.16.764.1.1.1")


class MappingError(Exception):
    """A resource PRM cannot map, said in words a hospital integration engineer
    understands: which resource, which field, what is wrong — never the raw resource."""


@dataclass(frozen=True)
class MappingConfig:
    """Where the resources come from and how this hospital writes its identifiers.

    ``server`` names the source in every :class:`SourceKey`. An identifier is the hospital
    number when its system is one of ``hn_systems`` (else, failing that, the first whose
    v2-0203 type is ``MR``); the national ID when its system is one of
    ``national_id_systems`` or its type is ``NI``/``NNTHA``; a passport when its system is
    one of ``passport_systems``, an HL7 ``…/sid/passport-XXX`` system, or its type is
    ``PPN``. Phones without a country code are read as ``default_region`` numbers.
    """

    server: str
    hn_systems: tuple[str, ...] = DEFAULT_HN_SYSTEMS
    national_id_systems: tuple[str, ...] = DEFAULT_NATIONAL_ID_SYSTEMS
    passport_systems: tuple[str, ...] = ()
    default_region: str = "TH"


@dataclass(frozen=True, slots=True)
class Context:
    """One resource being mapped: the configuration, the Bundle's fullUrl → "Type/id"
    map, and the resource's name for error messages ("Observation obs-7")."""

    config: MappingConfig
    refs: Mapping[str, str]
    label: str


# --- validation and source keys ---------------------------------------------------------

Model = TypeVar("Model", bound=BaseModel)
_MAX_ERRORS = 3


def validate(model_class: type[Model], data: Any, label: str, field: str = "") -> Model:
    """``model_class.model_validate(data)``, its errors turned into a short MappingError.

    ``field`` prefixes error paths when only part of a resource is validated.
    """
    try:
        return model_class.model_validate(data)
    except ValidationError as exc:
        # ``from None``: pydantic's own text repeats the input values (patient data) and
        # would land in logs through the chained traceback.
        raise MappingError(f"{label}: {summarise_errors(exc, field)}") from None


def summarise_errors(exc: ValidationError, prefix: str = "") -> str:
    """'not valid FHIR R4: birthDate: date value string does not match spec regex; …'."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{_error_path(prefix, e['loc'])}: {_error_text(e['msg'])}" for e in errors]
    text = "; ".join(parts[:_MAX_ERRORS])
    if len(parts) > _MAX_ERRORS:
        text += f" (and {len(parts) - _MAX_ERRORS} more)"
    return f"not valid FHIR R4: {text}"


def _error_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "resource_type":
            path += f".{part}" if path else str(part)
    return path or "resource"


def _error_text(message: str) -> str:
    message = " ".join(message.removeprefix("Value error, ").split())
    return message if len(message) <= 120 else message[:117] + "…"


def label_of(raw: Mapping[str, Any]) -> str:
    resource_id = raw.get("id")
    return f"{raw.get('resourceType')} {resource_id if isinstance(resource_id, str) else '(no id)'}"


def key_from_model(resource: Any, config: MappingConfig) -> SourceKey:
    """The source key of a validated resource: id, meta.versionId, meta.lastUpdated."""
    resource_type = resource.get_resource_type()
    if not resource.id:
        raise MappingError(f"{resource_type} without an id: PRM could not tell it apart later")
    meta = resource.meta
    return SourceKey(
        server=config.server,
        resource_type=resource_type,
        resource_id=resource.id,
        version_id=meta.versionId if meta else None,
        last_updated=to_utc(meta.lastUpdated) if meta else None,
    )


def key_from_raw(raw: Mapping[str, Any], config: MappingConfig) -> SourceKey:
    """The same from the raw dict, for resources only partly validated (Claim, EOB)."""
    label, resource_type, resource_id = label_of(raw), raw.get("resourceType"), raw.get("id")
    if not isinstance(resource_type, str):
        raise MappingError("not a FHIR resource: resourceType is missing")
    if not isinstance(resource_id, str) or not resource_id:
        raise MappingError(f"{resource_type} without an id: PRM could not tell it apart later")
    meta = raw.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise MappingError(f"{label}: meta is not an object")
    version_id, last_updated = meta.get("versionId"), meta.get("lastUpdated")
    if version_id is not None and not isinstance(version_id, str):
        raise MappingError(f"{label}: meta.versionId is not a string")
    try:
        updated_at = parse_datetime_text(last_updated) if last_updated is not None else None
    except (TypeError, ValueError):
        raise MappingError(f"{label}: meta.lastUpdated is not a FHIR instant") from None
    return SourceKey(config.server, resource_type, resource_id, version_id, updated_at)


def deleted(resource: Any, config: MappingConfig) -> list[DeletedRecord]:
    """A resource marked entered-in-error: PRM forgets the record it had made from it."""
    return [DeletedRecord(key_from_model(resource, config))]


ENTERED_IN_ERROR = frozenset({"entered-in-error"})


def mapper_of(model_class: type[Model], *, withdrawn: frozenset[str] = ENTERED_IN_ERROR):
    """Makes ``mapper(resource, ctx)`` a mapper of raw resources: it gets the resource
    validated with ``model_class``. One whose status is in ``withdrawn`` never reaches it:
    it maps to a DeletedRecord, the same for every type."""
    def decorate(mapper: Callable[[Any, Context], list]) -> Callable[[dict, Context], list]:
        @wraps(mapper)
        def mapped(raw: dict[str, Any], ctx: Context) -> list:
            resource = validate(model_class, raw, ctx.label)
            if resource.status in withdrawn:
                return deleted(resource, ctx.config)
            return mapper(resource, ctx)
        return mapped
    return decorate


# --- references -------------------------------------------------------------------------

_HISTORY = re.compile(r"/_history/[^/]*$")
_TYPE_AND_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9.\-]{1,64})$")


def normalise_reference(ref: str | None, refs: Mapping[str, str] | None = None) -> str | None:
    """``"Type/id"`` for a literal reference, or None when it cannot be resolved.

    Accepts ``Patient/1``, ``https://x/fhir/Patient/1``, ``Patient/1/_history/2`` and
    Bundle fullUrls (``urn:uuid:…``, looked up in ``refs``). Contained (``#id``),
    conditional (``Patient?identifier=…``) and unknown ``urn:`` references give None.
    """
    if not ref:
        return None
    if refs and (target := refs.get(ref)):
        return target
    if ref.startswith(("#", "urn:")) or "?" in ref:
        return None
    match = _TYPE_AND_ID.search(_HISTORY.sub("", ref))
    return f"{match[1]}/{match[2]}" if match else None


def reference_type(reference: Any, refs: Mapping[str, str]) -> str | None:
    """The type a Reference points to, even when its target cannot be resolved
    (``Patient?identifier=…`` is a Patient), from the reference or its ``type``."""
    if reference is None:
        return None
    ref = reference.reference or ""
    if target := normalise_reference(ref, refs):
        return target.split("/", 1)[0]
    if "?" in ref:
        return ref.split("?", 1)[0].rsplit("/", 1)[-1]
    return reference.type


def optional_ref(reference: Any, refs: Mapping[str, str]) -> str | None:
    """An optional link: "Type/id", or None when absent or unresolvable (conditional)."""
    return normalise_reference(reference.reference, refs) if reference is not None else None


def required_ref(ctx: Context, field: str, reference: Any, expected_type: str) -> str:
    """A link PRM cannot do without (the patient): "Type/id" or a MappingError."""
    if reference is None or not reference.reference:
        raise MappingError(f"{ctx.label}: {field} is missing")
    target = normalise_reference(reference.reference, ctx.refs)
    if target is None:
        raise MappingError(
            f"{ctx.label}: {field} '{_short(reference.reference)}' cannot be "
            "resolved to a resource (conditional or unknown reference)"
        )
    if not target.startswith(expected_type + "/"):
        raise MappingError(
            f"{ctx.label}: {field} points to {target.split('/', 1)[0]}, not to a {expected_type}"
        )
    return target


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- codes ------------------------------------------------------------------------------


def token(system: str | None, code: str) -> str:
    """``"system|code"``; a bare ``"code"`` when the source gives no system."""
    return f"{system}|{code}" if system else code


def concept_text(concept: Any) -> str:
    """What a person would read: CodeableConcept.text, else the first coding's display,
    else its code."""
    if concept is None:
        return ""
    if concept.text:
        return concept.text
    for coding in concept.coding or ():
        if coding.display:
            return coding.display
    for coding in concept.coding or ():
        if coding.code:
            return coding.code
    return ""


def first_code(concept: Any) -> str:
    for coding in (concept.coding or ()) if concept is not None else ():
        if coding.code:
            return coding.code
    return ""


def concept_tokens(concept: Any) -> list[str]:
    """Every coding of a CodeableConcept as a ``"system|code"`` string."""
    if concept is None:
        return []
    return [token(c.system, c.code) for c in concept.coding or () if c.code]


def codes_in(concepts: Iterable[Any], system: str | None = None) -> set[str]:
    """The bare codes of some CodeableConcepts; with ``system``, only codings of that
    system or of none (senders often leave well-known systems out)."""
    return {
        coding.code
        for concept in concepts
        if concept is not None
        for coding in concept.coding or ()
        if coding.code and (system is None or coding.system in (None, system))
    }


# --- times ------------------------------------------------------------------------------


def parse_datetime_text(text: str) -> datetime:
    """A FHIR date, dateTime or instant written as text → aware UTC datetime.

    Partial dates start their period ("2020" → 2020-01-01, "2020-05" → 2020-05-01) and a
    date without a time is midnight UTC. Raises ValueError on anything else.
    """
    if len(text) == 4:
        return datetime(int(text), 1, 1, tzinfo=UTC)
    if len(text) == 7:
        return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
    parsed = datetime.fromisoformat(text)
    # FHIR requires a zone whenever a time is given; only plain dates arrive naive.
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_utc(value: datetime | date | str | None) -> datetime | None:
    """A validated FHIR date/dateTime/instant (datetime, date or partial-date text) →
    aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    return parse_datetime_text(value)


def to_date(value: datetime | date | str | None) -> date | None:
    """The calendar date as the source wrote it (no zone shift): partial dates start
    their period."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_datetime_text(value).date()


def minutes_between(start: Any, end: Any) -> int | None:
    """Whole minutes from ``start`` to ``end``, None when either is missing or end < start."""
    started, ended = to_utc(start), to_utc(end)
    if started is None or ended is None or ended < started:
        return None
    return round((ended - started).total_seconds() / 60)


# Days per unit: UCUM codes, English words and Thai words, as pharmacy systems write them.
_DAYS_PER_UNIT: dict[str, float] = {
    "h": 1 / 24,
    "hr": 1 / 24,
    "hour": 1 / 24,
    "hours": 1 / 24,
    "ชั่วโมง": 1 / 24,
    "d": 1,
    "day": 1,
    "days": 1,
    "วัน": 1,
    "wk": 7,
    "week": 7,
    "weeks": 7,
    "สัปดาห์": 7,
    "mo": 30,
    "month": 30,
    "months": 30,
    "เดือน": 30,
    "a": 365,
    "year": 365,
    "years": 365,
    "ปี": 365,
}


def duration_days(value: Any, *units: str | None) -> int | None:
    """A duration (value + unit: UCUM code or word) in whole days, rounded up so a
    36-hour supply counts 2 days; None when the value or unit is missing or unknown, or
    the duration is not positive. The first unit that is known wins (code, then unit)."""
    if value is None:
        return None
    for unit in units:
        factor = _DAYS_PER_UNIT.get((unit or "").strip().lower())
        if factor is not None:
            days = float(value) * factor
            return math.ceil(days - 1e-9) if days > 0 else None
    return None


# --- names, scripts and countries -------------------------------------------------------

_THAI = re.compile("[\u0e00-\u0e7f]")
# Which HumanName to prefer when several are in the same script.
_NAME_USE_RANK = {
    "official": 0,
    "usual": 1,
    None: 2,
    "temp": 3,
    "nickname": 4,
    "anonymous": 4,
    "maiden": 5,
    "old": 6,
}


def has_thai(text: str) -> bool:
    return _THAI.search(text) is not None


@dataclass(frozen=True, slots=True)
class NameParts:
    title: str = ""
    given: str = ""
    family: str = ""

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.title, self.given, self.family) if part)


def name_parts(name: Any) -> NameParts:
    """A HumanName as title (prefixes), given names and family name; a name given only as
    text is split at its first space (given, then family)."""
    given, family = " ".join(name.given or ()), name.family or ""
    if not given and not family and name.text:
        given, _, family = name.text.strip().partition(" ")
    return NameParts(" ".join(name.prefix or ()), given, family.strip())


def best_names(names: Iterable[Any]) -> tuple[NameParts | None, NameParts | None]:
    """(Thai-script name, other name), each the best by use: official, usual, unstated,
    temp, nickname, maiden, old."""
    best: dict[bool, tuple[int, NameParts]] = {}
    for name in names:
        parts = name_parts(name)
        if not parts.given and not parts.family:
            continue
        thai = has_thai(parts.given + parts.family)
        rank = _NAME_USE_RANK.get(name.use, 4)
        if thai not in best or rank < best[thai][0]:
            best[thai] = (rank, parts)
    thai_name, other_name = best.get(True), best.get(False)
    return (thai_name[1] if thai_name else None, other_name[1] if other_name else None)


# Country codes are ISO 3166 through pycountry (prm.patients.identifiers.country_alpha2,
# imported above, is what the mappers call).


def country_from_text(text: str | None) -> str | None:
    """A country code or an English or Thai country name ("Myanmar", "ไทย") → alpha-2."""
    if not text:
        return None
    return country_alpha2(text) or _country_names().get(text.strip().casefold())


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    # Babel's CLDR territory names; built once, on the first name that needs it.
    from babel import Locale

    names: dict[str, str] = {}
    alpha2 = country_codes()
    for locale in ("en", "th"):
        for code, name in Locale.parse(locale).territories.items():
            if code in alpha2:
                names.setdefault(name.casefold(), code)
    return names
