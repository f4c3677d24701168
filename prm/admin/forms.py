"""Administration forms (prm.forms): a new staff account and the audit log's filters."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field

from prm.audit.service import AuditFilter
from prm.forms import Form, IsoDate, OptionalId, PageNumber, Text, column_limit
from prm.models.audit import AuditAction, AuditEvent
from prm.models.staff import User


class StaffForm(Form):
    """A new account; its password is generated, never typed."""

    username: Text = Field("", max_length=column_limit(User, "username"))
    full_name: Text = Field("", max_length=column_limit(User, "full_name"))
    role: Text = Field("", max_length=column_limit(User, "role"))
    language: Text = Field("th", max_length=column_limit(User, "language"))


class AuditQuery(Form):
    """The audit log's filters (the query string); days are the hospital's, ``until``
    included. A filter that cannot be read is left out rather than refused: the log is
    searched, not edited."""

    username: Text = Field("", max_length=column_limit(AuditEvent, "username"))
    action: Text = Field("", max_length=column_limit(AuditEvent, "action"))
    patient_id: OptionalId = None
    since: IsoDate = None
    until: IsoDate = None
    page: PageNumber = 1

    def to_filter(self, tz: ZoneInfo) -> AuditFilter:
        def start_of(day):
            return datetime.combine(day, time.min, tzinfo=tz) if day else None

        return AuditFilter(
            username=self.username,
            action=self.action if self.action in AuditAction.__members__ else "",
            patient_id=self.patient_id, since=start_of(self.since),
            until=start_of(self.until + timedelta(days=1)) if self.until else None)
