"""SMS messaging: the rules that plan messages, their templates, the outbox, what
patients answer, and reminder experiments.

The outbox is the queue (DESIGN §4 "the database is the queue"): a message is a row
planned in the transaction of the change that caused it, claimed by a worker, sent, and
moved through the provider's statuses by its callbacks. A row is never deleted: a
skipped, cancelled or failed message keeps its reason or the provider's error code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, text
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class MessageRuleCode(StrEnum):
    appointment_reminder = "appointment_reminder"
    missed_pickup = "missed_pickup"
    abnormal_lab = "abnormal_lab"
    discharge_checkin = "discharge_checkin"
    referral_renewal = "referral_renewal"
    post_visit_survey = "post_visit_survey"
    # Not planned by a rule: staff wrote it, or it answers a patient's reply.
    manual = "manual"
    reply = "reply"


class MessageStatus(StrEnum):
    planned = "planned"  # waits for its send time (or for the morning, or a retry)
    sending = "sending"  # a worker is handing it to the provider: never resent blindly
    queued = "queued"  # the provider accepted it (its SID is recorded)
    sent = "sent"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"  # the provider refused it for good (error code kept)
    skipped = "skipped"  # a guard stopped it (reason kept)
    cancelled = "cancelled"  # its cause went away before it was sent (reason kept)


# A message in one of these may still go out.
WAITING_STATUSES = (MessageStatus.planned, MessageStatus.sending)
# Accepted by the provider: each of these is an SMS that exists.
ACCEPTED_STATUSES = (MessageStatus.queued, MessageStatus.sent, MessageStatus.delivered,
                     MessageStatus.undelivered)


class MessageRule(SQLModel, table=True):
    """What admins set per rule on /admin/messages: on/off, when, for whom."""

    __tablename__ = "message_rule"

    code: str = Field(primary_key=True, max_length=30)
    enabled: bool = Field(default=True)
    # Hours before the event (appointment reminder, referral expiry) or after it
    # (discharge check-in, post-visit survey); one message per offset.
    offsets_hours: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Empty list = every payer segment / every clinic.
    segments: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    clinic_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageTemplate(SQLModel, table=True):
    """The text of one rule's message in one language (and one experiment variant)."""

    __tablename__ = "message_template"
    __table_args__ = (
        Index("uq_message_template_rule_language_variant", "rule", "language", "variant",
              unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=30)
    language: str = Field(max_length=8)
    variant: str = Field(default="A", max_length=20)
    body: str = Field(max_length=1600)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")


class OutboundMessage(SQLModel, table=True):
    __tablename__ = "outbound_message"
    __table_args__ = (
        # The dispatcher's claim: due planned rows in send order.
        Index("ix_outbound_message_due", "status", "send_at"),
        Index("ix_outbound_message_patient", "patient_id", "created_at"),
        Index("ix_outbound_message_subject", "subject_type", "subject_id", "status"),
        # A reply belongs to the conversation of the last message sent to its number.
        Index("ix_outbound_message_to_sent", "to_number", "sent_at"),
        Index("uq_outbound_message_provider_sid", "provider_sid", unique=True,
              sqlite_where=text("provider_sid IS NOT NULL"),
              postgresql_where=text("provider_sid IS NOT NULL")),
        Index("uq_outbound_message_link", "link_token_hash", unique=True,
              sqlite_where=text("link_token_hash IS NOT NULL"),
              postgresql_where=text("link_token_hash IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    rule: str = Field(max_length=30)
    # One message per (rule, subject, occurrence), however often the planner runs:
    # "appointment_reminder:appointment:42:24h". Empty for staff messages and replies.
    plan_key: str | None = Field(default=None, sa_column=Column(String(120), unique=True,
                                                                 nullable=True))
    subject_type: str = Field(default="", max_length=30)  # appointment, lab_result, …
    subject_id: int | None = None
    worklist_item_id: int | None = Field(default=None, foreign_key="worklist_item.id",
                                         index=True)
    segment_code: str = Field(default="", max_length=40)  # at planning, for reports
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id")
    language: str = Field(default="th", max_length=8)
    variant: str = Field(default="A", max_length=20)
    experiment_id: int | None = Field(default=None, foreign_key="message_experiment.id")
    arm: str = Field(default="", max_length=20)
    # A message a patient can answer (confirm, reschedule, score) carries a one-tap link.
    expects_answer: bool = Field(default=False)

    status: MessageStatus = Field(default=MessageStatus.planned, sa_type=String(12))
    send_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    to_number: str = Field(default="", max_length=20)  # the number it went to
    body: str = Field(default="", max_length=1600)  # as sent (rendered at send time)
    segments: int = Field(default=0)
    encoding: str = Field(default="", max_length=8)  # GSM-7 | UCS-2
    provider: str = Field(default="", max_length=20)
    provider_sid: str | None = Field(default=None, max_length=64)
    error_code: str = Field(default="", max_length=20)
    error_message: str = Field(default="", max_length=500)
    reason: str = Field(default="", max_length=40)  # why skipped / cancelled / held

    link_token_hash: str | None = Field(default=None, max_length=64)
    link_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    link_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str = Field(default="", max_length=20)  # confirm, reschedule, stop, score:9

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboundAction(StrEnum):
    confirm = "confirm"
    reschedule = "reschedule"
    stop = "stop"
    start = "start"
    help = "help"
    score = "score"
    other = "other"  # free text: an inbox item for staff
    unmatched = "unmatched"  # no patient or no conversation to put it in: staff decide


class InboundMessage(SQLModel, table=True):
    """A patient's answer: an SMS reply (where two-way works) or a tap on a link."""

    __tablename__ = "inbound_message"
    __table_args__ = (Index("ix_inbound_message_patient", "patient_id", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Twilio's MessageSid: the same webhook delivered twice is one message. Empty for links.
    provider_sid: str | None = Field(default=None, sa_column=Column(String(64), unique=True,
                                                                     nullable=True))
    channel: str = Field(default="sms", max_length=10)  # sms | link
    from_number: str = Field(default="", max_length=20)
    to_number: str = Field(default="", max_length=20)
    body: str = Field(default="", max_length=1600)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    in_reply_to_id: int | None = Field(default=None, foreign_key="outbound_message.id",
                                       index=True)
    action: InboundAction = Field(default=InboundAction.other, sa_type=String(12))
    worklist_item_id: int | None = Field(default=None, foreign_key="worklist_item.id")
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    handled_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")


class MessageExperiment(SQLModel, table=True):
    """A rule's patients split at random between arms (template variants or send
    offsets, or no message where the hospital's ethics allow). The arm is recorded on
    each planned message before anything is sent."""

    __tablename__ = "message_experiment"

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=30, index=True)
    name: str = Field(max_length=120)
    # [{"code": "A", "variant": "A", "offsets_hours": [72, 24], "weight": 1}, …];
    # "send": false is the arm without a message.
    arms: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_user_id: int | None = Field(default=None, foreign_key="staff_user.id")


class SurveyResponse(SQLModel, table=True):
    """An answer to the post-visit "would you recommend us?" question (0-10), on the
    patient and the visit. What a score sets off is the complaints feature's work."""

    __tablename__ = "survey_response"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="outbound_message.id",
                                   sa_column_kwargs={"unique": True})
    score: int
    comment: str = Field(default="", max_length=2000)
    channel: str = Field(default="link", max_length=10)  # link | sms
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
