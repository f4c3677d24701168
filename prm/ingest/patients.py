"""Patients and their payer coverage from the hospital's records.

A patient registered by hand at the front desk and the same patient arriving from the
hospital's records (same HN or national ID) become one record: the source fills in the
identity it knows; what staff recorded (consent, channel, notes) stays.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, insert, or_, select

from prm.ingest.context import IngestContext
from prm.ingest.records import CoverageRecord, PatientRecord, SourceKey
from prm.ingest.writer import Item, Writer
from prm.models.integration import SegmentRule, SegmentRuleKind
from prm.models.patient import Coverage, Patient
from prm.models.segment import FOREIGN_UNINSURED, SELF_PAY
from prm.models.timeline import TimelineEntry
from prm.patients.service import search_fields
from prm.segments import derivation

NAME_FIELDS = ("title_th", "given_name_th", "family_name_th",
               "title_en", "given_name_en", "family_name_en")
HN_MAX = 20
GENERATED_HN_PREFIX = "FH"  # patients whose source has no usable hospital number
DEFAULT_NATIONALITY = "TH"


class PatientWriter(Writer):
    table = Patient.__table__

    def required_refs(self, record) -> tuple[str, ...]:
        return ()

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        items = _link_registered_patients(ctx, items)
        self._current = _current_rows(ctx, [i.local_id for i in items if not i.is_new])
        self._next_hn = _hn_counter(ctx)
        return items

    def values(self, ctx: IngestContext, item: Item) -> dict | None:
        record: PatientRecord = item.record
        current = self._current.get(item.local_id, {})
        names = {name: getattr(record, name) or current.get(name, "") for name in NAME_FIELDS}
        values = {**names, **search_fields(names), "sex": record.sex,
                  "deceased": record.deceased, "deceased_at": record.deceased_at,
                  "updated_at": ctx.now}
        optional = {"birth_date": record.birth_date, "nationality": record.nationality,
                    "national_id": record.national_id, "passport_no": record.passport_no,
                    "passport_country": record.passport_country}
        values.update({k: v for k, v in optional.items() if v})
        if record.phones_e164:
            values["phone_e164"] = record.phones_e164[0]
            values["phone_alt_e164"] = (record.phones_e164[1]
                                        if len(record.phones_e164) > 1 else None)
        return values

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        record: PatientRecord = item.record
        nationality = record.nationality or DEFAULT_NATIONALITY
        usable_hn = record.hn if record.hn and len(record.hn) <= HN_MAX else None
        return {
            "hn": usable_hn or next(self._next_hn), "nationality": nationality,
            "preferred_language": record.preferred_language
            or ("th" if nationality == "TH" else "en"),
            "preferred_channel": "sms", "sms_consent": False, "sms_consent_source": "",
            "segment_code": SELF_PAY if nationality == "TH" else FOREIGN_UNINSURED,
            "created_at": ctx.now, "birth_date": None, "phone_e164": None,
            "phone_alt_e164": None, "national_id": None, "passport_no": None,
            "passport_country": None,
        }

    def after(self, ctx: IngestContext, items: list[Item]) -> None:
        new_ids = [i.local_id for i in items if i.local_id not in self._current]
        if new_ids:
            hns = ctx.session.execute(select(Patient.id, Patient.hn).where(
                Patient.id.in_(new_ids))).all()
            ctx.session.execute(insert(TimelineEntry), [
                {"patient_id": patient_id, "occurred_at": ctx.now, "kind": "registered",
                 "data": {"hn": hn, "source": "hospital_records"}, "body": "",
                 "actor_user_id": None, "ref_type": "", "ref_id": None}
                for patient_id, hn in hns])
        refresh_segments(ctx, [i.local_id for i in items])

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        """The source deleted the patient: PRM keeps its own record (calls, notes,
        complaints hang on it); only the link to the source ends."""


def _link_registered_patients(ctx: IngestContext, items: list[Item]) -> list[Item]:
    """New source patients whose HN or national ID is already registered join that
    record; duplicates inside one batch are refused rather than failing the batch."""
    new = [i for i in items if i.is_new]
    hns = {i.record.hn for i in new if i.record.hn}
    # Updates too: a national ID the source adds later may belong to another patient.
    national_ids = {i.record.national_id for i in items if i.record.national_id}
    by_hn, by_nid = {}, {}
    if hns or national_ids:
        rows = ctx.session.execute(select(Patient.id, Patient.hn, Patient.national_id).where(
            or_(Patient.hn.in_(hns), Patient.national_id.in_(national_ids))))
        for patient_id, hn, national_id in rows:
            by_hn[hn] = patient_id
            if national_id:
                by_nid[national_id] = patient_id
    kept, seen = [], set()
    for item in items:
        record: PatientRecord = item.record
        if item.is_new:
            item.local_id = by_hn.get(record.hn) or by_nid.get(record.national_id)
        clash = _identity_clash(record, item.local_id, by_hn, by_nid, seen)
        if clash:
            ctx.reject(record, clash)
            continue
        seen.update({("hn", record.hn), ("nid", record.national_id)} - {("hn", None),
                                                                          ("nid", None)})
        kept.append(item)
    return kept


def _identity_clash(record: PatientRecord, local_id, by_hn, by_nid, seen) -> str | None:
    if record.national_id and by_nid.get(record.national_id, local_id) != local_id:
        return (f"National ID {record.national_id} already belongs to another patient "
                f"than HN {record.hn or '(none)'}: merge them by hand first")
    if ("hn", record.hn) in seen or ("nid", record.national_id) in seen:
        return "Another patient in the same batch has the same HN or national ID"
    return None


def _current_rows(ctx: IngestContext, patient_ids: list[int]) -> dict[int, dict]:
    if not patient_ids:
        return {}
    columns = [Patient.__table__.c[name] for name in ("id", *NAME_FIELDS)]
    rows = ctx.session.execute(select(*columns).where(Patient.id.in_(patient_ids)))
    return {row.id: dict(row._mapping) for row in rows}


def _hn_counter(ctx: IngestContext):
    highest = ctx.session.execute(select(func.max(Patient.hn)).where(
        Patient.hn.like(f"{GENERATED_HN_PREFIX}%"))).scalar()
    number = int(highest[len(GENERATED_HN_PREFIX):]) if highest else 0
    while True:
        number += 1
        yield f"{GENERATED_HN_PREFIX}{number:08d}"


class CoverageWriter(Writer):
    """Coverage → a coverage row whose segment the admin's rules decide. A payer read
    from claims is kept as one "fallback" coverage per patient (the latest claim)."""

    table = Coverage.__table__

    def key_of(self, record: CoverageRecord) -> SourceKey:
        if record.origin == "coverage":
            return record.key
        patient_id = record.patient_ref.split("/", 1)[1]
        started = record.valid_from
        return SourceKey(record.key.server, "PayerFromClaims", patient_id,
                         last_updated=_date_as_datetime(started) if started else None)

    def fingerprint(self, record: CoverageRecord) -> str:
        if record.origin == "coverage":
            return super().fingerprint(record)
        from prm.ingest.keys import digest

        return digest((record.patient_ref, record.codes, record.payor_identifiers,
                       record.payor_name, record.member_id))

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        self._rules = _segment_rules(ctx)
        return items

    def values(self, ctx: IngestContext, item: Item) -> dict | None:
        record: CoverageRecord = item.record
        segment = match_segment(self._rules, record)
        if segment is None:
            if record.origin == "coverage":
                ctx.reject(record, _no_rule_message(record))
            else:
                ctx.summary.counts(record.key.resource_type).skipped += 1
            return None
        return {"patient_id": item.refs[record.patient_ref], "segment_code": segment,
                "payer_name": record.payor_name[:200], "member_id": record.member_id[:60],
                "valid_from": record.valid_from, "valid_to": record.valid_to,
                "active": record.active,
                "source": "fhir" if record.origin == "coverage" else derivation.FALLBACK_SOURCE}

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        return {"referral_from": "", "created_at": ctx.now}

    def after(self, ctx: IngestContext, items: list[Item]) -> None:
        refresh_segments(ctx, [i.refs[i.record.patient_ref] for i in items])

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        patient_ids = list(ctx.session.execute(
            select(Coverage.patient_id).where(Coverage.id.in_(local_ids))).scalars())
        ctx.session.execute(delete(Coverage).where(Coverage.id.in_(local_ids)))
        refresh_segments(ctx, patient_ids)


def _date_as_datetime(day: date):
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _no_rule_message(record: CoverageRecord) -> str:
    described = ", ".join([*record.codes, *record.payor_identifiers]) or "no codes"
    return (f"No segment rule matches this coverage (payor {record.payor_name or '?'}; "
            f"{described}). Add a rule at Admin → Hospital records, then retry.")


def _segment_rules(ctx: IngestContext) -> list[SegmentRule]:
    return list(ctx.session.execute(
        select(SegmentRule).where(SegmentRule.active.is_(True))
        .order_by(SegmentRule.position, SegmentRule.id)).scalars())


def match_segment(rules: list[SegmentRule], record: CoverageRecord) -> str | None:
    """The first rule (by position) the coverage matches decides its segment."""
    for rule in rules:
        if rule.kind == SegmentRuleKind.code and _any_code(rule.pattern, record.codes):
            return rule.segment_code
        if rule.kind == SegmentRuleKind.payor and _any_code(rule.pattern,
                                                            record.payor_identifiers):
            return rule.segment_code
        if (rule.kind == SegmentRuleKind.payor_name and rule.pattern
                and rule.pattern.lower() in record.payor_name.lower()):
            return rule.segment_code
    return None


def _any_code(pattern: str, codes: tuple[str, ...]) -> bool:
    """``system|code`` matches exactly; ``*|code`` or a bare ``code`` matches any system."""
    system, _, code = pattern.rpartition("|")
    for candidate in codes:
        candidate_system, _, candidate_code = candidate.rpartition("|")
        if candidate_code == code and system in ("", "*", candidate_system):
            return True
    return False


def refresh_segments(ctx: IngestContext, patient_ids: list[int]) -> None:
    """Re-derive the segment of each patient on the hospital's date (prm.segments)."""
    derivation.refresh_segments(ctx.session, patient_ids,
                                today=derivation.hospital_today(ctx.tz, ctx.now))
