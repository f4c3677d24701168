"""The patient timeline: the one mechanism every feature uses to show what happened.

Two ways in, one way out:
- events (registered, edited, notes, contacts, follow-up attempts…) are rows in
  ``timeline_entry``, written with ``record``; their kinds are registered once with
  a label function and an icon;
- care records that already carry their own time (appointments, encounters, lab
  results, dispenses) register a *source*: a query and how its rows read as
  ``TimelineItem``s, so nothing is stored twice.
``entries`` merges the newest items of every source; the page renders them with one
partial, whatever feature they came from. The queries are plain statements built once
(``queries``), so the 360° page can read them with its own and ``merge`` the rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam
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


@dataclass(frozen=True)
class TimelineSource:
    """Care records of one filter group, read where they live.

    ``query(paged)`` selects this patient's newest rows, newest first, with bound
    parameters ``patient_id``, ``limit`` and, when ``paged``, ``before`` (exclusive);
    build it once per shape (``functools.cache``). ``items`` turns its rows into
    ``TimelineItem``s in the same order.
    """

    group: str
    query: Callable[[bool], Select]
    items: Callable[[list], list[TimelineItem]]


KINDS: dict[str, TimelineKind] = {}
GROUPS: dict[str, Callable[[], str]] = {}
SOURCES: list[TimelineSource] = []


def register_group(code: str, label: Callable[[], str]) -> None:
    GROUPS[code] = label


def register_kind(code: str, *, group: str, icon: str, title: Callable[[dict], str]) -> None:
    KINDS[code] = TimelineKind(code, group, icon, title)


def register_source(group: str, *, query: Callable[[bool], Select],
                    items: Callable[[list], list[TimelineItem]]) -> None:
    """A care-record query that feeds one filter group of the timeline (a group may
    have several; they merge by time)."""
    SOURCES.append(TimelineSource(group, query, items))


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
    values = params(patient.id, group=group, before=before, limit=limit)
    found = {name: session.execute(query, values).all()
             for name, query in queries(group, paged=before is not None).items()}
    return merge(found, limit)


def queries(group: str = "", *, paged: bool = False) -> dict[str, Select]:
    """The statements ``entries`` runs, by name."""
    found = {}
    if not group or _kind_codes(group):
        found["timeline:events"] = _events_query(paged, tuple(_kind_codes(group)))
    for index, source in enumerate(SOURCES):
        if not group or group == source.group:
            found[f"timeline:{index}"] = source.query(paged)
    return found


def params(patient_id: int, *, group: str = "", before: datetime | None = None,
           limit: int = 50) -> dict:
    """The bound values ``queries`` need."""
    return {"patient_id": patient_id, "before": before, "limit": limit}


def merge(found: dict[str, list], limit: int) -> list[TimelineItem]:
    """The newest ``limit`` items from the rows ``queries`` read, newest first."""
    lists = [_event_items(found.get("timeline:events", []))]
    lists += [source.items(found[f"timeline:{index}"])
              for index, source in enumerate(SOURCES) if f"timeline:{index}" in found]
    merged = heapq.merge(*lists, key=lambda item: item.occurred_at, reverse=True)
    return list(merged)[:limit]


def _kind_codes(group: str) -> list[str]:
    return [k.code for k in KINDS.values() if k.group == group] if group else []


@cache
def _events_query(paged: bool, kinds: tuple[str, ...] = ()) -> Select:
    query = (
        select(TimelineEntry.occurred_at, TimelineEntry.kind, TimelineEntry.data,
               TimelineEntry.body, User.full_name, User.username)
        .join(User, col(User.id) == TimelineEntry.actor_user_id, isouter=True)
        .where(TimelineEntry.patient_id == bindparam("patient_id"))
    )
    if kinds:  # a group's kinds: a constant list, written into the statement once
        query = query.where(col(TimelineEntry.kind).in_(kinds))
    if paged:
        query = query.where(TimelineEntry.occurred_at < bindparam("before"))
    return query.order_by(
        col(TimelineEntry.occurred_at).desc(), col(TimelineEntry.id).desc()
    ).limit(bindparam("limit"))


def _event_items(rows: list) -> list[TimelineItem]:
    system = _("system")
    return [_event_item(occurred_at, kind, data, body, full_name or username or system)
            for occurred_at, kind, data, body, full_name, username in rows]


def _event_item(occurred_at: datetime, kind_code: str, data: dict, body: str,
                actor_name: str) -> TimelineItem:
    kind = KINDS.get(kind_code)
    if kind is None:
        return TimelineItem(occurred_at, kind_code, "•", "other", body, actor_name)
    return TimelineItem(occurred_at, kind.title(data), kind.icon, kind.group, body, actor_name)
