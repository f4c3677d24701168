"""Reading a rest-hook notification body: the one parser the web route (to refuse a
malformed one with 400) and the worker (to act on a recorded one) both use.

Cheap on purpose: plain JSON checks with orjson, no ``fhir.resources`` (its models take
half a second to import, and the web process never needs them for this).

A notification is a Bundle whose first resource is the subscription's status
(``SubscriptionStatus`` in R4B and the R4 backport, ``Parameters`` or ``Subscription``
in older shapes). What it names is one of: full resources (entries with a resource),
references (``focus`` of each event, or entries with only a ``fullUrl``), or nothing (an
"empty" event: something changed, ask the server what). Every resource and reference
must be ``Type/id`` of a type PRM reads; anything else is refused as a whole, since a
server that sends it is misconfigured and should hear so.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import orjson

from fhir_adapter.sources import TYPE_ORDER

# The types PRM maps (fhir_adapter.mapping has one mapper per type; a test keeps the two
# lists equal). Named here rather than imported from the mapping, which loads the models.
READ_TYPES = frozenset(TYPE_ORDER)
STATUS_TYPES = frozenset({"SubscriptionStatus", "Parameters", "Subscription"})
# Status types that carry no change: nothing to record, nothing to do.
NO_WORK_KINDS = frozenset({"handshake", "heartbeat"})
# FHIR's rule for a logical id.
RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class MalformedNotification(ValueError):
    """The body is not a notification PRM can act on; the message says why."""


@dataclass(frozen=True)
class Notification:
    """What a notification asks for. ``references`` holds every ``Type/id`` it names,
    those of the pushed ``resources`` included, sorted and without repeats."""

    kind: str  # the status type: event-notification, heartbeat, handshake, …
    resources: tuple[dict, ...]
    references: tuple[str, ...]

    @property
    def needs_work(self) -> bool:
        return self.kind not in NO_WORK_KINDS or bool(self.references)

    @property
    def asks_for_sync(self) -> bool:
        """An "empty" event: something changed and the server did not say what."""
        return not self.references

    @property
    def key(self) -> str:
        """The same work gives the same key, whatever the event number or timestamp
        around it: two notifications with one key waiting together are one row."""
        resources = sorted(orjson.dumps(r, option=orjson.OPT_SORT_KEYS).decode()
                           for r in self.resources)
        canonical = orjson.dumps({"resources": resources, "references": self.references})
        return hashlib.sha256(canonical).hexdigest()


def parse_notification(body: bytes) -> Notification:
    """Raises MalformedNotification (a ValueError) with a message for the sender."""
    if not body.strip():
        raise MalformedNotification("the body is empty: a notification is a FHIR Bundle")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedNotification(f"the body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedNotification("a notification must be a JSON object (a FHIR Bundle)")
    if document.get("resourceType") != "Bundle":
        raise MalformedNotification(
            f"a notification is a Bundle, not {_shown(document.get('resourceType'))}")
    entries = document.get("entry")
    if not isinstance(entries, list) or not entries:
        raise MalformedNotification("the Bundle has no entries")
    status = _resource(entries[0])
    if status.get("resourceType") not in STATUS_TYPES:
        raise MalformedNotification(
            "the Bundle's first entry must be the subscription status (SubscriptionStatus)")
    return _notification(status, entries[1:])


def _notification(status: dict, entries: list) -> Notification:
    references = {_checked_reference(r, "a focus") for r in _focus_references(status)}
    resources = []
    for number, entry in enumerate(entries, 2):
        resource = _resource(entry)
        if resource:
            references.add(_resource_reference(resource, number))
            if len(resource) > 2:  # more than type and id: the content was pushed
                resources.append(resource)
        elif isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str):
            references.add(_checked_reference(_type_and_id(entry["fullUrl"]),
                                              f"entry {number}'s fullUrl"))
        else:
            raise MalformedNotification(f"entry {number} has neither a resource nor a fullUrl")
    kind = status.get("type") if isinstance(status.get("type"), str) else ""
    return Notification(kind, tuple(resources), tuple(sorted(references)))


def _resource(entry) -> dict:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    return resource if isinstance(resource, dict) else {}


def _resource_reference(resource: dict, number: int) -> str:
    resource_id = resource.get("id")
    if not isinstance(resource_id, str):
        resource_id = ""
    reference = f"{resource.get('resourceType')}/{resource_id}"
    return _checked_reference(reference, f"the resource of entry {number}")


def _checked_reference(reference: str, where: str) -> str:
    resource_type, _, resource_id = reference.partition("/")
    if resource_type not in READ_TYPES:
        raise MalformedNotification(
            f"{where} is not Type/id of a type PRM reads: {_shown(reference)} "
            f"(PRM reads {', '.join(sorted(READ_TYPES))})")
    if not RESOURCE_ID.fullmatch(resource_id):
        raise MalformedNotification(f"{where} has no valid resource id: {_shown(reference)}")
    return reference


def _focus_references(status: dict) -> list[str]:
    events = status.get("notificationEvent") or []
    if not isinstance(events, list):
        raise MalformedNotification("notificationEvent must be a list")
    found = []
    for event in events:
        focus = event.get("focus") if isinstance(event, dict) else None
        if focus is None:
            continue  # an event without a focus: "empty" content
        reference = focus.get("reference") if isinstance(focus, dict) else None
        if not isinstance(reference, str):
            raise MalformedNotification("an event's focus has no reference")
        found.append(_type_and_id(reference))
    return found


def _type_and_id(url: str) -> str:
    """``Type/id`` from a relative or absolute URL (a version suffix dropped)."""
    parts = url.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[:parts.index("_history")]
    return "/".join(parts[-2:]) if len(parts) >= 2 else url


def _shown(value) -> str:
    return repr(value)[:80]
