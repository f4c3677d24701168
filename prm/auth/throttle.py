"""Failed-login throttling that tells nobody which accounts exist and lets no stranger
lock staff out.

Two counters are kept for every failed attempt, whether the username exists or not:

- **per address** (the client's address): ``login_address_max_failures`` failures within
  ``login_address_window_seconds`` block that address for every username, for
  ``login_address_block_seconds``, doubling with each further failure (after a block,
  within the window) up to ``login_lockout_cap_seconds``. This stops one machine
  guessing across a ward's usernames (password spraying).
- **per account and address**: ``login_max_failures`` failures for one username from one
  address block that pair for ``login_lockout_seconds``, doubling up to the cap. This
  stops one machine guessing one account's password, while the same account still logs
  in from every other address: a stranger typing a nurse's name at a kiosk locks out
  only the kiosk, never the nurse at her ward's computer.

The counters are keyed by an HMAC of the address (and of the typed username), so a
username that does not exist is counted, blocked and answered exactly like one that
does; the table never holds a typed name or an address in clear. A blocked attempt still
checks its password (``prm.auth.service.authenticate``), so the time an answer takes
does not tell a block from a wrong password either. Attempts while blocked are refused
uncounted: a nurse who tries again too soon waits out the block, not a longer one.

What stays possible, by design: a guesser with many addresses gets a few tries per
address per account before each block, and the argon2 hash makes each try slow;
passwords are at least ``MIN_PASSWORD_LENGTH`` characters and generated ones are long.
Addresses behind one NAT share the per-address counter: serve PRM behind a proxy that
sends X-Forwarded-For, trusted as the README says, so each computer is its own address.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from prm.config import Settings
from prm.db import is_postgres
from prm.models.staff import LoginThrottle

# A pair's failures are forgotten a day after its first one, or at a successful login.
_PAIR_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """``max_failures`` within ``window`` block for ``block``, doubling up to ``cap``."""

    max_failures: int
    window: timedelta
    block: timedelta
    cap: timedelta


@dataclass(frozen=True)
class Keys:
    """The counters one attempt touches."""

    address: str
    pair: str


def keys_for(*, username: str, address: str, settings: Settings) -> Keys:
    secret = settings.secret_key.get_secret_value().encode()

    def keyed(text: str) -> str:
        return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()

    return Keys(address=keyed(f"address\0{address}"),
                pair=keyed(f"account\0{username}\0{address}"))


def _limits(settings: Settings) -> tuple[Limit, Limit]:
    """(per address, per account and address)."""
    cap = timedelta(seconds=settings.login_lockout_cap_seconds)
    address = Limit(settings.login_address_max_failures,
                    timedelta(seconds=settings.login_address_window_seconds),
                    timedelta(seconds=settings.login_address_block_seconds), cap)
    pair = Limit(settings.login_max_failures, _PAIR_WINDOW,
                 timedelta(seconds=settings.login_lockout_seconds), cap)
    return address, pair


def blocked_seconds(session: Session, *, keys: Keys, now: datetime) -> int:
    """How long this attempt must still wait (0: it may be checked)."""
    rows = session.exec(select(LoginThrottle).where(
        col(LoginThrottle.key).in_([keys.address, keys.pair]))).all()
    return max([_remaining(row, now) for row in rows], default=0)


def _remaining(row: LoginThrottle, now: datetime) -> int:
    if row.blocked_until is None or row.blocked_until <= now:
        return 0
    return int((row.blocked_until - now).total_seconds()) + 1


def register_failure(session: Session, *, keys: Keys, settings: Settings,
                     now: datetime) -> int:
    """Count a refused attempt on both counters. Returns the seconds it is now blocked."""
    address_limit, pair_limit = _limits(settings)
    rows = [_count(session, key=keys.address, limit=address_limit, now=now),
            _count(session, key=keys.pair, limit=pair_limit, now=now)]
    session.flush()
    return max(_remaining(row, now) for row in rows)


def _count(session: Session, *, key: str, limit: Limit, now: datetime) -> LoginThrottle:
    row = _locked_row(session, key=key, now=now)
    if now - row.window_started_at > limit.window and not _remaining(row, now):
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    over = row.failures - limit.max_failures
    if over >= 0:
        row.blocked_until = now + min(limit.cap, limit.block * 2**over)
    session.add(row)
    return row


def _locked_row(session: Session, *, key: str, now: datetime) -> LoginThrottle:
    """The counter, created if new and locked for this transaction: two attempts at once
    both count."""
    dialect = postgresql if is_postgres(session) else sqlite
    session.execute(dialect.insert(LoginThrottle).values(
        key=key, failures=0, window_started_at=now).on_conflict_do_nothing())
    return session.exec(select(LoginThrottle).where(LoginThrottle.key == key)
                        .with_for_update().execution_options(populate_existing=True)).one()


def forget_pair(session: Session, *, keys: Keys) -> None:
    """A successful login clears its account's count from that address (not the
    address's own count: a valid login between guesses must not reset them)."""
    session.exec(delete(LoginThrottle).where(LoginThrottle.key == keys.pair))


def purge_stale(session: Session, *, settings: Settings, now: datetime) -> int:
    """Forget counters whose window and block are both over. Returns how many."""
    longest = max(limit.window for limit in _limits(settings))
    result = session.exec(delete(LoginThrottle).where(
        col(LoginThrottle.window_started_at) < now - longest,
        col(LoginThrottle.blocked_until).is_(None)
        | (col(LoginThrottle.blocked_until) < now)))
    return result.rowcount or 0
