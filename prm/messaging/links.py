"""One-tap links (``/r/{token}``): how a patient who cannot reply by SMS (a Thai number
receiving from an alphanumeric sender ID) answers a message.

The token is 16 random bytes (``secrets``), unguessable, and means nothing: it names no
patient and no message. Only its SHA-256 is stored, on the message it was issued for
(``outbound_message.link_token_hash``), so a copy of the database does not hold working
links. A link belongs to one message and one patient, and expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from prm.models.message import OutboundMessage

TOKEN_BYTES = 16  # 22 URL-safe characters: short enough for an SMS, 128 bits of chance


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(message: OutboundMessage, *, now: datetime, hours: int) -> str:
    """A new token for ``message`` (replacing any earlier one), valid ``hours``; the
    caller flushes the row. Returns the token, which is stored nowhere."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    message.link_token_hash = token_hash(token)
    message.link_expires_at = now + timedelta(hours=hours)
    return token


def url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/r/{token}"


def find(session: Session, token: str) -> OutboundMessage | None:
    """The message a token was issued for, expired or not (the caller says which), or
    None for a token that was never issued. A malformed token is simply not found."""
    if not token or len(token) > 64:
        return None
    return session.execute(select(OutboundMessage).where(
        OutboundMessage.link_token_hash == token_hash(token))).scalars().first()
