"""The patient timeline: the one mechanism every feature uses to show what happened.

A feature registers its kinds once (label function and icon) and calls ``record``
whenever something happens; the 360° page lists entries with one query and renders
them with one partial, whatever feature wrote them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from prm.audit.service import Actor
from prm.i18n import _
from prm.models.patient import Patient
from prm.models.timeline import TimelineEntry
from prm.models.types import utcnow


@dataclass(frozen=True)
class TimelineKind:
    code: str
    group: str  # what the page's filter buttons select on
    icon: str
    title: Callable[[dict], str]  # translated, from the entry's data


KINDS: dict[str, TimelineKind] = {}
GROUPS: dict[str, Callable[[], str]] = {}


def register_kind(code: str, *, group: str, icon: str, title: Callable[[dict], str]) -> None:
    KINDS[code] = TimelineKind(code, group, icon, title)


def register_group(code: str, label: Callable[[], str]) -> None:
    GROUPS[code] = label


def record(
    session: Session, *, patient: Patient, kind: str, actor: Actor, data: dict | None = None,
    body: str = "", occurred_at: datetime | None = None, ref_type: str = "",
    ref_id: int | None = None,
) -> TimelineEntry:
    if kind not in KINDS:
        raise ValueError(f"unregistered timeline kind {kind!r}")
    entry = TimelineEntry(
        patient_id=patient.id, kind=kind, data=data or {}, body=body,
        occurred_at=occurred_at or utcnow(), actor_user_id=actor.user_id,
        ref_type=ref_type, ref_id=ref_id,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class TimelineRow:
    entry: TimelineEntry
    title: str
    icon: str
    group: str
    actor_name: str


def entries(
    session: Session, *, patient: Patient, group: str = "", limit: int = 50,
    before_id: int | None = None,
) -> list[TimelineRow]:
    """Newest first; ``before_id`` pages backwards. Unknown kinds still show, plainly."""
    from prm.models.staff import User  # local: staff is not a timeline dependency elsewhere

    query = (
        select(TimelineEntry, User.full_name, User.username)
        .join(User, User.id == TimelineEntry.actor_user_id, isouter=True)
        .where(TimelineEntry.patient_id == patient.id)
    )
    if group:
        codes = [k.code for k in KINDS.values() if k.group == group]
        query = query.where(col(TimelineEntry.kind).in_(codes))
    if before_id:
        query = query.where(TimelineEntry.id < before_id)
    query = query.order_by(
        col(TimelineEntry.occurred_at).desc(), col(TimelineEntry.id).desc()
    ).limit(limit)
    return [_row(entry, full_name or username or "") for entry, full_name, username in
            session.exec(query)]


def _row(entry: TimelineEntry, actor_name: str) -> TimelineRow:
    kind = KINDS.get(entry.kind)
    if kind is None:
        return TimelineRow(entry, entry.kind, "•", "other", actor_name)
    return TimelineRow(entry, kind.title(entry.data), kind.icon, kind.group, actor_name or
                       _("system"))
