"""The patient timeline: the one mechanism every feature uses to show what happened.

Two ways in, one way out:
- events (registered, edited, notes, contacts, follow-up attempts…) are rows in
  ``timeline_entry``, written with ``record``; their kinds are registered once with
  a label function and an icon;
- care records that already carry their own time (appointments, encounters, lab
  results, dispenses) register a *source*: a query returning ``TimelineItem``s, so
  nothing is stored twice.
``entries`` merges the newest items of every source; the page renders them with one
partial, whatever feature they came from.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from prm.audit.service import Actor
from prm.i18n import _
from prm.models.patient import Patient
from prm.models.staff import User
from prm.models.timeline import TimelineEntry
from prm.models.types import utcnow


@dataclass(frozen=True)
class TimelineKind:
    code: str
    group: str  # what the page's filter buttons select on
    icon: str
    title: Callable[[dict], str]  # translated, from the entry's data


@dataclass
class TimelineItem:
    occurred_at: datetime
    title: str
    icon: str
    group: str
    body: str = ""
    actor_name: str = ""
    link: str = ""


# A source answers: this patient's newest items before ``before`` (None = now), at most
# ``limit`` of them, newest first.
TimelineSource = Callable[[Session, Patient, datetime | None, int], list[TimelineItem]]

KINDS: dict[str, TimelineKind] = {}
GROUPS: dict[str, Callable[[], str]] = {}
SOURCES: dict[str, TimelineSource] = {}


def register_group(code: str, label: Callable[[], str]) -> None:
    GROUPS[code] = label


def register_kind(code: str, *, group: str, icon: str, title: Callable[[dict], str]) -> None:
    KINDS[code] = TimelineKind(code, group, icon, title)


def register_source(group: str, source: TimelineSource) -> None:
    """A care-record query that feeds one filter group of the timeline."""
    SOURCES[group] = source


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


def entries(
    session: Session, *, patient: Patient, group: str = "", limit: int = 50,
    before: datetime | None = None,
) -> list[TimelineItem]:
    """Newest first across every source; ``before`` pages backwards (exclusive)."""
    lists = [_event_items(session, patient, before, limit, group)]
    for source_group, source in SOURCES.items():
        if not group or group == source_group:
            lists.append(source(session, patient, before, limit))
    merged = heapq.merge(*lists, key=lambda item: item.occurred_at, reverse=True)
    return list(merged)[:limit]


def _event_items(session, patient, before, limit, group) -> list[TimelineItem]:
    query = (
        select(TimelineEntry, User.full_name, User.username)
        .join(User, User.id == TimelineEntry.actor_user_id, isouter=True)
        .where(TimelineEntry.patient_id == patient.id)
    )
    if group:
        codes = [k.code for k in KINDS.values() if k.group == group]
        if not codes:
            return []
        query = query.where(col(TimelineEntry.kind).in_(codes))
    if before:
        query = query.where(TimelineEntry.occurred_at < before)
    query = query.order_by(
        col(TimelineEntry.occurred_at).desc(), col(TimelineEntry.id).desc()
    ).limit(limit)
    return [_event_item(entry, full_name or username or _("system"))
            for entry, full_name, username in session.exec(query)]


def _event_item(entry: TimelineEntry, actor_name: str) -> TimelineItem:
    kind = KINDS.get(entry.kind)
    if kind is None:
        return TimelineItem(entry.occurred_at, entry.kind, "•", "other", entry.body, actor_name)
    return TimelineItem(entry.occurred_at, kind.title(entry.data), kind.icon, kind.group,
                        entry.body, actor_name)
