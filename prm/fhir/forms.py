"""The hospital-records admin page's forms (prm.forms): a segment mapping rule, and the
quarantine's filter."""

from __future__ import annotations

from pydantic import Field

from prm.forms import Form, Text, column_limit
from prm.models.integration import (
    QuarantinedResource,
    QuarantineStatus,
    SegmentRule,
    SegmentRuleKind,
)

# Rules are tried in this order; room for a hospital's whole list and gaps between.
LAST_POSITION = 100_000


class SegmentRuleForm(Form):
    kind: SegmentRuleKind | None = None
    pattern: Text = Field("", max_length=column_limit(SegmentRule, "pattern"))
    segment_code: Text = Field("", max_length=column_limit(SegmentRule, "segment_code"))
    position: int = Field(100, ge=0, le=LAST_POSITION)
    note: Text = Field("", max_length=column_limit(SegmentRule, "note"))


class QuarantineFilter(Form):
    """What the quarantine list shows; a filter that cannot be read shows the open rows."""

    status: QuarantineStatus = QuarantineStatus.open
    type: Text = Field("", max_length=column_limit(QuarantinedResource, "resource_type"))
