"""A patient's payer segment (DESIGN §1): the one place this rule lives.

The segment is the best-ranked coverage that is current on the hospital's date; a payer
read from claims (``FALLBACK_SOURCE``) counts only when the patient has no other current
coverage; with none at all, a foreign patient is ``foreign_uninsured`` and a Thai
patient ``self_pay``. The registration desk, the coverage forms, the FHIR ingest and
the demo generator all call ``derive_segment`` (one patient, facts in hand) or
``refresh_segments`` (patients in the database); the patient page explains its badge
with ``deciding_coverage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from prm.models.patient import Coverage, Patient
from prm.models.segment import FOREIGN_UNINSURED, SELF_PAY, Segment
from prm.models.types import utcnow

# A payer inferred from claims or explanations of benefit: counts only without Coverage.
FALLBACK_SOURCE = "fhir-claim"
HOME_NATIONALITY = "TH"
# Patients per statement when refreshing many (keeps IN lists within every driver's limit).
_CHUNK = 500


class CoverageFacts(Protocol):
    """What the rule reads of a coverage (an ORM row, a plain row or a stand-in)."""

    segment_code: str
    source: str
    active: bool
    valid_from: date | None
    valid_to: date | None


Facts = TypeVar("Facts", bound=CoverageFacts)


def hospital_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The date in the hospital's zone: coverage runs by the hospital's calendar, and in
    Bangkok the UTC date is yesterday's until 07:00."""
    return (now or utcnow()).astimezone(tz).date()


def is_current(coverage: CoverageFacts, today: date) -> bool:
    return coverage.active and not (
        (coverage.valid_from and coverage.valid_from > today)
        or (coverage.valid_to and coverage.valid_to < today)
    )


def derive_segment(coverages: Iterable[CoverageFacts], *, nationality: str,
                   ranks: dict[str, int], today: date) -> str:
    """The segment these coverages give a patient of ``nationality`` on ``today``."""
    deciding = deciding_coverage(coverages, ranks=ranks, today=today)
    if deciding is not None:
        return deciding.segment_code
    return FOREIGN_UNINSURED if nationality != HOME_NATIONALITY else SELF_PAY


def deciding_coverage(coverages: Iterable[Facts], *, ranks: dict[str, int],
                      today: date) -> Facts | None:
    """The coverage the segment comes from on ``today``; None when none is current, so
    the segment comes from the patient's nationality (``derive_segment``)."""
    current = [c for c in coverages if is_current(c, today)]
    primary = [c for c in current if c.source != FALLBACK_SOURCE] or current
    return min(primary, key=lambda c: ranks.get(c.segment_code, 1000)) if primary else None


def segment_ranks(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Segment.code, Segment.rank)).all())


def refresh_segments(session: Session, patient_ids: Sequence[int], *,
                     today: date) -> dict[int, str]:
    """Re-derive and store the segment of each patient; returns patient id → segment.

    Set-based, for one patient at the desk or thousands in an import: two reads and one
    UPDATE per chunk of patients, writing only the segments that changed.
    """
    ids = sorted(set(patient_ids))
    ranks = segment_ranks(session) if ids else {}
    segments: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        segments.update(_refresh_chunk(session, ids[start:start + _CHUNK], ranks, today))
    return segments


def _refresh_chunk(session: Session, ids: list[int], ranks: dict[str, int],
                   today: date) -> dict[int, str]:
    held: dict[int, list] = {}
    for row in session.execute(
            select(Coverage.patient_id, Coverage.segment_code, Coverage.source,
                   Coverage.active, Coverage.valid_from, Coverage.valid_to)
            .where(Coverage.patient_id.in_(ids), Coverage.active.is_(True))):
        held.setdefault(row.patient_id, []).append(row)
    segments, changes = {}, []
    for patient_id, nationality, stored in session.execute(
            select(Patient.id, Patient.nationality, Patient.segment_code)
            .where(Patient.id.in_(ids))):
        segments[patient_id] = derive_segment(held.get(patient_id, []),
                                              nationality=nationality, ranks=ranks,
                                              today=today)
        if segments[patient_id] != stored:
            changes.append({"_id": patient_id, "segment_code": segments[patient_id]})
    if changes:
        table = Patient.__table__
        session.execute(update(table).where(table.c.id == bindparam("_id")), changes)
    return segments
