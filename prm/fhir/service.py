"""What the hospital-records admin page shows and changes: sync status per type, the
quarantine, and the segment mapping rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.errors import NotFound, ValidationFailed
from prm.fhir import notifications as notification_queue
from prm.fhir.forms import SegmentRuleForm
from prm.i18n import _
from prm.ingest import pending, progress
from prm.models.audit import AuditAction
from prm.models.integration import (
    QuarantinedResource,
    QuarantineStatus,
    SegmentRule,
    SyncState,
)
from prm.models.segment import Segment

QUARANTINE_PAGE = 50


@dataclass
class Overview:
    states: list[SyncState]
    open_quarantine: int
    waiting: int
    quarantine: list[QuarantinedResource]
    counts_by_type: list[tuple[str, int]]
    notifications: notification_queue.QueueCounts


def overview(session: Session, *, status: str = QuarantineStatus.open,
             resource_type: str = "") -> Overview:
    statement = select(QuarantinedResource).where(QuarantinedResource.status == status)
    if resource_type:
        statement = statement.where(QuarantinedResource.resource_type == resource_type)
    rows = list(session.execute(statement.order_by(QuarantinedResource.id.desc())
                                .limit(QUARANTINE_PAGE)).scalars())
    counts = session.execute(
        select(QuarantinedResource.resource_type, func.count())
        .where(QuarantinedResource.status == QuarantineStatus.open)
        .group_by(QuarantinedResource.resource_type).order_by(QuarantinedResource.resource_type)
    ).all()
    return Overview(progress.sync_states(session), progress.open_quarantine_count(session),
                    pending.waiting_count(session), rows, [tuple(c) for c in counts],
                    notification_queue.queue_counts(session))


def quarantined(session: Session, *, row_id: int, actor: Actor) -> QuarantinedResource:
    """One quarantined resource with its raw text, which may hold patient data: audited."""
    row = session.get(QuarantinedResource, row_id)
    if row is None:
        raise NotFound(_("No such quarantined resource."))
    audit.record(session, actor=actor, action=AuditAction.view, entity_type="fhir_quarantine",
                 entity_id=row.id, detail=f"{row.resource_type}/{row.resource_id}")
    return row


def open_quarantine_ids(session: Session) -> list[int]:
    return list(session.execute(select(QuarantinedResource.id).where(
        QuarantinedResource.status == QuarantineStatus.open)
        .order_by(QuarantinedResource.id)).scalars())


def dismiss(session: Session, *, row_id: int, actor: Actor) -> None:
    if session.get(QuarantinedResource, row_id) is None:
        raise NotFound(_("No such quarantined resource."))
    progress.resolve_quarantined(session, row_id, QuarantineStatus.dismissed)
    audit.record(session, actor=actor, action=AuditAction.update,
                 entity_type="fhir_quarantine", entity_id=row_id, detail="dismissed")


def segment_rules(session: Session) -> list[SegmentRule]:
    return list(session.execute(select(SegmentRule).order_by(
        SegmentRule.position, SegmentRule.id)).scalars())


def add_segment_rule(session: Session, *, rule: SegmentRuleForm, actor: Actor) -> SegmentRule:
    """Raises ValidationFailed with field errors; the form keeps what was typed."""
    errors = {}
    if rule.kind is None:
        errors["kind"] = _("Choose one of the options.")
    if not rule.pattern:
        errors["pattern"] = _("Enter a code, identifier or words of the payer's name.")
    segment = session.get(Segment, rule.segment_code) if rule.segment_code else None
    if segment is None or not segment.active:
        errors["segment_code"] = _("Choose one of the options.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    row = SegmentRule(kind=rule.kind, pattern=rule.pattern, segment_code=rule.segment_code,
                      position=rule.position, note=rule.note)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.create, entity_type="segment_rule",
                 entity_id=row.id, detail=f"{rule.kind} {row.pattern} → {rule.segment_code}")
    return row


def set_rule_active(session: Session, *, rule_id: int, active: bool, actor: Actor) -> None:
    rule = session.get(SegmentRule, rule_id)
    if rule is None:
        raise NotFound(_("No such rule."))
    rule.active = active
    session.add(rule)
    audit.record(session, actor=actor, action=AuditAction.update, entity_type="segment_rule",
                 entity_id=rule.id, detail="on" if active else "off")
