"""Finding a patient from what staff type: HN, national ID, passport, phone or name.

``find_patients`` is what the search page and the top bar's suggestions call: it audits
the search (its kind and the patients shown, never what was typed).

Every branch is an indexed lookup so the registry stays fast at hundreds of thousands
of patients: identifiers by exact or prefix match on b-tree indexes (a phone's last
digits as a prefix of the number written backwards, ``phone_e164_reversed``), names by
substring through trigram indexes (pg_trgm on PostgreSQL, an FTS5 trigram table on
SQLite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Integer, and_, column, func, or_, text
from sqlmodel import Session, col, select

from prm.audit import service as audit
from prm.audit.service import Actor
from prm.i18n import _
from prm.models.audit import AuditAction
from prm.models.patient import Patient
from prm.patients.identifiers import (
    clean_hn,
    clean_national_id,
    normalise_phone,
    phone_prefix,
)

MIN_NAME_CHARS = 2
# A partial phone number is searched from this many digits: fewer match too many people.
MIN_PHONE_DIGITS = 4
TRIGRAM = 3
# What staff type to find someone is short. A longer query would make work that grows with
# its length (a trigram per character, matched against every name), so it is refused
# before any query runs: one person's whole name fits in far less.
MAX_QUERY_CHARS = 100
MAX_QUERY_WORDS = 6


class QueryKind(StrEnum):
    """What a search query looks like; the audit log keeps this, never the query."""

    hn = "hn"
    national_id = "national_id"  # 13 digits
    phone = "phone"  # "+…", or digits from a leading 0 as Thai numbers are written
    passport = "passport"  # letters then digits: a passport or an HN with a letter prefix
    name = "name"


class SearchPlace(StrEnum):
    """Where a search's results are shown: the audit row's ``entity_type``."""

    page = "patient_search"  # the search page, and its results as staff type
    suggestions = "patient_suggest"  # the top bar's drop-down


@dataclass
class SearchResult:
    patients: list[Patient]
    more: bool  # there were more matches than the limit
    kind: QueryKind | None = None  # None: too short or too long to search
    refused: str = ""  # why nothing was searched (the query is too long), for staff


def find_patients(session: Session, *, query: str, limit: int, place: SearchPlace,
                  actor: Actor) -> SearchResult:
    """``search_patients`` for staff to see, audited: one row per patient shown, with the
    query's kind (a query too short to search shows nobody and writes nothing). The
    caller commits."""
    result = search_patients(session, query=query, limit=limit)
    if result.kind is not None:
        audit.record_shown(session, actor=actor, action=AuditAction.search, entity_type=place,
                           patient_ids=[patient.id for patient in result.patients],
                           kind=result.kind)
    return result


def search_patients(session: Session, *, query: str, limit: int = 20) -> SearchResult:
    """Patients matching ``query``, best guesses first; empty for blank or 1-letter input.
    Not audited: for lookups whose result staff do not see as a list (``find_patients``)."""
    query = query.strip()
    if len(query) > MAX_QUERY_CHARS or len(query.split()) > MAX_QUERY_WORDS:
        return SearchResult([], False, refused=_(
            "Search with at most %(chars)s characters and %(words)s words.",
            chars=MAX_QUERY_CHARS, words=MAX_QUERY_WORDS))
    kind = query_kind(query)
    condition = _condition(session, query, kind, limit + 1)
    if condition is None:
        return SearchResult([], False)
    # Newest registrations first, and by id on purpose: a common name fragment ("thong",
    # "สม") matches tens of thousands, and sorting them by name costs 100+ ms. For
    # identifiers the order is an expression, not the bare column, so PostgreSQL does not
    # walk the primary key backwards hoping to meet the one match early (110 ms a phone).
    by_name = kind == QueryKind.name
    newest_first = col(Patient.id).desc() if by_name else (col(Patient.id) + 0).desc()
    rows = session.exec(
        select(Patient).where(condition).order_by(newest_first).limit(limit + 1)
    ).all()
    return SearchResult(list(rows[:limit]), len(rows) > limit, kind)


def query_kind(query: str) -> QueryKind | None:
    """The kind of ``query`` (stripped), or None when it is too short to search."""
    compact = re.sub(r"[\s-]", "", query)
    if len(compact) < MIN_NAME_CHARS:  # one keystroke would match a good part of the registry
        return None
    if compact.startswith("+") or (compact.isdigit() and compact.startswith("0")
                                   and len(compact) != 13):
        return QueryKind.phone
    if compact.isdigit():
        return QueryKind.national_id if len(compact) == 13 else QueryKind.hn
    if re.fullmatch(r"[A-Za-z]{0,3}\d[\dA-Za-z]*", compact):
        return QueryKind.passport
    return QueryKind.name


def _condition(session: Session, query: str, kind: QueryKind | None,
               limit: int) -> ColumnElement[bool] | None:
    if kind is None:
        return None
    compact = re.sub(r"[\s-]", "", query)
    if kind in (QueryKind.hn, QueryKind.national_id, QueryKind.phone):
        # Whatever it looks like, a number is tried as HN, national ID and phone alike.
        return _number_condition(session, query, compact)
    if kind == QueryKind.passport:
        upper = compact.upper()
        return or_(Patient.passport_no == upper, _prefix(session, col(Patient.hn), upper))
    return _name_condition(session, query, limit)


def _number_condition(session: Session, query: str, digits: str) -> ColumnElement[bool]:
    options = [_prefix(session, col(Patient.hn), clean_hn(digits))]
    if len(digits) == 13:
        options.append(Patient.national_id == clean_national_id(digits))
    elif len(digits) >= 6:
        options.append(_prefix(session, col(Patient.national_id), digits))
    full_phone = normalise_phone(query)
    if full_phone:
        options += [Patient.phone_e164 == full_phone, Patient.phone_alt_e164 == full_phone]
    elif len(digits.lstrip("+")) >= MIN_PHONE_DIGITS:
        options.append(_partial_phone(session, query, digits))
    return or_(*options)


def _partial_phone(session: Session, query: str, digits: str) -> ColumnElement[bool]:
    """Part of a mobile number: its start as Thai numbers are written ("081-534", from the
    leading 0 or a "+"), else its last digits ("534 9306"), which are the start of the
    number written backwards (an indexed column the database keeps)."""
    start = phone_prefix(query)
    if start:
        return _prefix(session, col(Patient.phone_e164), start)
    return _prefix(session, col(Patient.phone_e164_reversed), digits[::-1])


def _name_condition(session: Session, query: str, limit: int) -> ColumnElement[bool] | None:
    words = [w for w in query.lower().split() if w]
    if sum(len(w) for w in words) < MIN_NAME_CHARS:
        return None
    long_words = [w for w in words if len(w) >= TRIGRAM]
    conditions = [_short_word(session, w) for w in words if len(w) < TRIGRAM]
    if long_words:
        # Alone, the trigram match may stop at ``limit`` (newest first); combined with
        # prefix conditions it must not, or it could stop before the rows those keep.
        conditions.append(_substrings(session, long_words, limit if not conditions else None))
    condition = conditions[0]
    for extra in conditions[1:]:
        condition = condition & extra
    return condition


def _short_word(session: Session, word: str) -> ColumnElement[bool]:
    """Too short for trigrams: match the start of any name instead."""
    return or_(*(_prefix(session, column, word) for column in (
        col(Patient.given_name_en_lc), col(Patient.family_name_en_lc),
        col(Patient.given_name_th), col(Patient.family_name_th),
    )))


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(session: Session, column, prefix: str) -> ColumnElement[bool]:
    """column starts with prefix, in a form each database answers from a b-tree index."""
    if _is_postgres(session):
        return column.like(_escape_like(prefix) + "%", escape="\\")
    # SQLite uses an index for GLOB 'abc*' (case-sensitive), not for LIKE by default.
    escaped = re.sub(r"([*?\[])", r"[\1]", prefix)
    return column.op("GLOB")(escaped + "*")


def _substrings(session: Session, words: list[str], limit: int | None) -> ColumnElement[bool]:
    """Every word appears somewhere in the names (substring match through trigrams)."""
    if _is_postgres(session):
        conditions = [col(Patient.name_search).like("%" + _escape_like(w) + "%", escape="\\")
                      for w in words]
        return conditions[0] if len(conditions) == 1 else and_(*conditions)
    # One FTS5 query for all words: the trigram index intersects them itself, far cheaper
    # than one IN (…) per word when a common given name matches thousands of patients.
    # FTS5 serves LIKE only without ESCAPE, so a % or _ in a word is a wildcard there;
    # instr() then keeps only the names that hold it literally.
    names = [f"name_word_{index}" for index in range(len(words))]
    where = " AND ".join(f"name_search LIKE :{name}" for name in names)
    if limit and not any("%" in w or "_" in w for w in words):
        where += f" ORDER BY rowid DESC LIMIT {int(limit)}"
    condition = col(Patient.id).in_(
        text(f"SELECT rowid FROM patient_name_fts WHERE {where}")
        .bindparams(**{name: f"%{word}%" for name, word in zip(names, words, strict=True)})
        .columns(column("rowid", Integer))
    )
    for word in words:
        if "%" in word or "_" in word:
            condition = condition & (func.instr(col(Patient.name_search), word) > 0)
    return condition
