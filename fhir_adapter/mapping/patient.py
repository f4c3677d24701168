"""Patient → PatientRecord.

Rules, in the order the record lists its fields:

- identifiers (``use: old`` ignored; the first of each kind wins): the hospital number
  from a configured HN system, else from a v2-0203 ``MR`` identifier; the national ID
  only when it is 13 digits with a valid check digit (an invalid one is left out, the
  patient is still mapped); the passport number, with its issuing country from an
  ``…/sid/passport-XXX`` system, the identifier's assigner, or an extension naming a
  country;
- names: a HumanName written in Thai script fills the ``*_th`` fields, any other the
  ``*_en`` fields, preferring use official, then usual; prefixes are the title;
- birth date (a year or year-month starts its period), gender → sex;
- nationality from the ``patient-nationality`` extension (ISO alpha-2 or alpha-3 code);
- phones and SMS numbers in E.164 (invalid numbers dropped, mobile first);
- preferred language: the preferred communication language (else the first), as its
  two-letter primary subtag;
- deceasedBoolean / deceasedDateTime.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.patient import Patient

from fhir_adapter.mapping.common import (
    V2_0203,
    Context,
    MappingConfig,
    best_names,
    codes_in,
    country_alpha2,
    country_from_text,
    first_code,
    key_from_model,
    to_date,
    to_utc,
    validate,
)
from prm.ingest.records import PatientRecord
from prm.patients.identifiers import (
    clean_hn,
    clean_national_id,
    clean_passport,
    national_id_is_valid,
    normalise_phone,
)

NATIONALITY_URL = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
HL7_PASSPORT_PREFIX = "http://hl7.org/fhir/sid/passport-"  # + the issuing country, alpha-3
_SEXES = frozenset({"female", "male", "other", "unknown"})


def map_patient(raw: dict[str, Any], ctx: Context) -> list[PatientRecord]:
    patient = validate(Patient, raw, ctx.label)
    ids = _identifiers(patient.identifier or (), ctx.config)
    thai, other = best_names(patient.name or ())
    return [
        PatientRecord(
            key=key_from_model(patient, ctx.config),
            hn=ids.hn,
            national_id=ids.national_id,
            passport_no=ids.passport_no,
            passport_country=ids.passport_country,
            title_th=thai.title if thai else "",
            given_name_th=thai.given if thai else "",
            family_name_th=thai.family if thai else "",
            title_en=other.title if other else "",
            given_name_en=other.given if other else "",
            family_name_en=other.family if other else "",
            birth_date=to_date(patient.birthDate),
            sex=patient.gender if patient.gender in _SEXES else "unknown",
            nationality=_nationality(patient.extension or ()),
            phones_e164=_phones(patient.telecom or (), ctx.config.default_region),
            preferred_language=_preferred_language(patient.communication or ()),
            deceased=bool(patient.deceasedBoolean or patient.deceasedDateTime),
            deceased_at=to_utc(patient.deceasedDateTime),
        )
    ]


@dataclass(slots=True)
class _Identifiers:
    hn: str | None = None
    national_id: str | None = None
    passport_no: str | None = None
    passport_country: str | None = None


def _identifiers(identifiers: Iterable[Any], config: MappingConfig) -> _Identifiers:
    found = _Identifiers()
    medical_record_no = None
    for identifier in identifiers:
        if identifier.use == "old" or not identifier.value:
            continue
        system = identifier.system or ""
        types = codes_in((identifier.type,), V2_0203)
        if system in config.hn_systems:
            found.hn = found.hn or clean_hn(identifier.value)
        elif "MR" in types:
            medical_record_no = medical_record_no or clean_hn(identifier.value)
        elif system in config.national_id_systems or types & {"NI", "NNTHA"}:
            candidate = clean_national_id(identifier.value)
            if found.national_id is None and national_id_is_valid(candidate):
                found.national_id = candidate
        elif (
            system in config.passport_systems
            or system.startswith(HL7_PASSPORT_PREFIX)
            or "PPN" in types
        ) and found.passport_no is None:
            found.passport_no = clean_passport(identifier.value)
            found.passport_country = _passport_country(identifier)
    # An MR-typed identifier is the HN only when no configured HN system matched.
    found.hn = found.hn or medical_record_no
    return found


def _passport_country(identifier: Any) -> str | None:
    system = identifier.system or ""
    if system.startswith(HL7_PASSPORT_PREFIX):
        return country_alpha2(system.removeprefix(HL7_PASSPORT_PREFIX))
    assigner = identifier.assigner
    if assigner is not None:
        assigner_id = assigner.identifier.value if assigner.identifier else None
        if country := country_from_text(assigner_id) or country_from_text(assigner.display):
            return country
    # National guides name the issuing-country extension differently; any extension on
    # the identifier whose URL speaks of a country and whose value is one will do.
    for extension in identifier.extension or ():
        if "country" in extension.url.lower():
            value = (
                extension.valueCode
                or extension.valueString
                or first_code(extension.valueCodeableConcept)
            )
            if country := country_from_text(value):
                return country
    return None


def _nationality(extensions: Iterable[Any]) -> str | None:
    for extension in extensions:
        if extension.url != NATIONALITY_URL:
            continue
        for part in extension.extension or ():
            if part.url == "code" and part.valueCodeableConcept is not None:
                for coding in part.valueCodeableConcept.coding or ():
                    if country := country_alpha2(coding.code):
                        return country
    return None


def _phones(telecoms: Iterable[Any], region: str) -> tuple[str, ...]:
    usable = [t for t in telecoms if t.system in ("phone", "sms") and t.value and t.use != "old"]
    # Mobiles first: they are the ones PRM can text. sorted() keeps the source's order
    # within each group.
    usable.sort(key=lambda t: t.use != "mobile" and t.system != "sms")
    phones: list[str] = []
    for telecom in usable:
        e164 = normalise_phone(telecom.value, region)
        if e164 and e164 not in phones:
            phones.append(e164)
    return tuple(phones)


def _preferred_language(communications: Iterable[Any]) -> str | None:
    ordered = sorted(communications, key=lambda c: not c.preferred)
    for communication in ordered:
        for coding in communication.language.coding or ():
            primary = (coding.code or "").split("-", 1)[0].lower()
            if len(primary) == 2 and primary.isalpha():
                return primary
    return None


MAPPERS = {"Patient": map_patient}
