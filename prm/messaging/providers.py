"""The small interface every SMS provider implements, and the one place that picks one.

A provider sends one message and can say whether a message was already accepted (the
dispatcher asks before it resends a row a killed worker left "sending"). Its errors are
translated at the boundary into ``SendFailed``, permanent or transient (DESIGN §5.4).
``twilio`` is ``prm.messaging.twilio_sender`` (the only module importing the library);
``console`` keeps messages inside PRM for ``make run`` and the demo. A LINE Official
Account provider would be a third implementation of the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    message_id: int  # our row: also in the status-callback URL
    to: str  # E.164
    body: str
    status_callback: str | None  # where the provider reports delivery, None: no callbacks
    claimed_at: datetime  # when this try began (finding a message already accepted)


@dataclass(frozen=True)
class Accepted:
    sid: str  # the provider's id of the message
    status: str  # the provider's status word (queued, accepted, sent…)


class SendFailed(Exception):
    """The provider did not take the message. ``permanent`` failures keep the row as
    failed with the provider's code and words; transient ones are tried again later."""

    def __init__(self, code: str, words: str, *, permanent: bool):
        super().__init__(f"{code}: {words}")
        self.code, self.words, self.permanent = code, words, permanent


class SmsSender(Protocol):
    name: str
    # Whether patients can answer this sender by SMS (an alphanumeric sender ID cannot).
    two_way: bool

    def send(self, outgoing: Outgoing) -> Accepted: ...

    def find_accepted(self, outgoing: Outgoing) -> Accepted | None:
        """The message if the provider already has it (a try that was cut short)."""
        ...
