"""Payer segments: what each holds, for the segments page and every later report."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from prm.models.patient import Patient
from prm.models.segment import Segment


@dataclass
class SegmentCount:
    segment: Segment
    patients: int
    with_sms_consent: int


def segment_counts(session: Session) -> list[SegmentCount]:
    counts = {
        code: (total, consented or 0)
        for code, total, consented in session.exec(
            select(
                Patient.segment_code, func.count(),
                func.sum(func.cast(Patient.sms_consent, Patient.__table__.c.id.type)),
            ).where(Patient.deceased == False)  # noqa: E712
            .group_by(Patient.segment_code)
        )
    }
    segments = session.exec(select(Segment).order_by(Segment.rank)).all()
    return [SegmentCount(s, *counts.get(s.code, (0, 0))) for s in segments]
