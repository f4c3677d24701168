"""The worklists' forms (prm.forms): which queue to show, the outcome of a call, and one
follow-up rule's settings on /admin/rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from prm.followups.queues import TODAY, WorklistFilter
from prm.followups.service import Rebooking
from prm.forms import Checkbox, Form, LocalDateTime, OptionalId, Text, column_limit
from prm.i18n import _
from prm.models.worklist import AttemptOutcome, FollowUpRule, WorklistAttempt, WorklistItem

# The highest threshold a rule takes (days, hours or visits, by rule).
MAX_THRESHOLD = 10_000
# Holding an item back after no answer: a minute at least, a week at most.
RETRY_MINUTES = (1, 7 * 24 * 60)


class WorklistQuery(Form):
    """The list's filters (the query string); an unknown queue shows today's. ``after``
    is the last item of the page already shown ("Show more")."""

    queue: Text = Field(TODAY, max_length=column_limit(WorklistItem, "rule"))
    clinic: OptionalId = None
    segment: Text = Field("", max_length=column_limit(WorklistItem, "segment_code"))
    priority: Text = Field("", max_length=column_limit(WorklistItem, "priority"))
    after: OptionalId = None

    def to_filter(self) -> WorklistFilter:
        queue = self.queue if self.queue in FollowUpRule.__members__ else TODAY
        return WorklistFilter(queue=queue, clinic_id=self.clinic, segment=self.segment,
                              priority=self.priority, after_id=self.after)


class AttemptForm(Form):
    """What happened on a call: the outcome, a note, the new appointment or when to call
    back."""

    outcome: Text = Field("", max_length=column_limit(WorklistAttempt, "outcome"))
    note: Text = Field("", max_length=column_limit(WorklistAttempt, "note"))
    clinic_id: OptionalId = None
    clinician_id: OptionalId = None
    starts_at: LocalDateTime = None
    call_back_at: LocalDateTime = None

    def rebooking(self) -> Rebooking | None:
        if self.outcome != AttemptOutcome.rebooked:
            return None
        return Rebooking(clinic_id=self.clinic_id, starts_at=self.starts_at,
                         clinician_id=self.clinician_id)


class RuleForm(Form):
    """One rule's row on /admin/rules. The page posts every rule's fields named
    ``<field>_<rule>``; ``for_rule`` reads one rule's."""

    enabled: Checkbox = False
    threshold: int = Field(0, ge=0, le=MAX_THRESHOLD)
    retry_minutes: int | None = None  # not posted: keep what is stored
    segments: list[str] = Field(default_factory=list)

    @field_validator("retry_minutes", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> int:
        text = str(value).strip()
        low, high = RETRY_MINUTES
        if not text.isdecimal() or not low <= int(text) <= high:
            raise ValueError(_("A whole number of minutes from 1 to 10080 (a week)."))
        return int(text)

    @field_validator("threshold", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> int:
        # isdecimal, not isdigit: "2²" is digits to Python but not a number int() reads.
        text = str(value).strip()
        if not text.isdecimal() or int(text) > MAX_THRESHOLD:
            raise ValueError(_("A whole number from 0 to 10000."))
        return int(text)

    @classmethod
    def for_rule(cls, posted: Any, rule: str) -> RuleForm:
        fields: Mapping[str, str] = {name: posted[f"{name}_{rule}"]
                                     for name in ("enabled", "threshold", "retry_minutes")
                                     if f"{name}_{rule}" in posted}
        form = cls.parse(fields)
        form.segments = list(posted.getlist(f"segments_{rule}"))
        return form

    def errors_for(self, rule: str) -> dict[str, str]:
        """The field errors named as the page names its fields."""
        return {f"{name}_{rule}": message for name, message in self.errors.items()}
