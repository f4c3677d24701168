"""The patient registry: identity, contact preferences, consent and payer coverage."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Computed, Index, String
from sqlmodel import Field, SQLModel

from prm.models.types import UTCDateTime, utcnow


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class Channel(StrEnum):
    sms = "sms"
    phone = "phone"
    line = "line"
    email = "email"
    none = "none"


class Patient(SQLModel, table=True):
    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_family_name_en_lc", "family_name_en_lc"),
        Index("ix_patient_given_name_en_lc", "given_name_en_lc"),
        Index("ix_patient_family_name_th", "family_name_th"),
        Index("ix_patient_given_name_th", "given_name_th"),
    )

    id: int | None = Field(default=None, primary_key=True)
    hn: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    national_id: str | None = Field(
        default=None, sa_column=Column(String(13), unique=True, nullable=True)
    )
    passport_no: str | None = Field(default=None, max_length=20, index=True)
    passport_country: str | None = Field(default=None, max_length=2)

    title_th: str = Field(default="", max_length=40)
    given_name_th: str = Field(default="", max_length=100)
    family_name_th: str = Field(default="", max_length=100)
    title_en: str = Field(default="", max_length=40)
    given_name_en: str = Field(default="", max_length=100)
    family_name_en: str = Field(default="", max_length=100)
    # Lower-cased copies for case-insensitive prefix search through plain indexes.
    given_name_en_lc: str = Field(default="", max_length=100)
    family_name_en_lc: str = Field(default="", max_length=100)
    # All names, lower-cased, for substring search (pg_trgm / SQLite FTS5 trigram).
    name_search: str = Field(default="", max_length=420)

    birth_date: date | None = None
    sex: Sex = Field(default=Sex.unknown, sa_type=String(10))
    nationality: str = Field(default="TH", max_length=2)

    phone_e164: str | None = Field(default=None, max_length=20, index=True)
    phone_alt_e164: str | None = Field(default=None, max_length=20, index=True)
    # phone_e164 backwards, kept by the database itself (migration 0008): the last digits
    # of a number ("534 9306") are then the start of this one, which a b-tree index finds.
    phone_e164_reversed: str | None = Field(default=None, sa_column=Column(
        String(20), Computed("reverse(phone_e164)"), nullable=True))
    preferred_language: str = Field(default="th", max_length=8)
    preferred_channel: Channel = Field(default=Channel.sms, sa_type=String(10))

    sms_consent: bool = Field(default=False)
    sms_consent_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sms_consent_source: str = Field(default="", max_length=60)

    segment_code: str = Field(foreign_key="segment.code", max_length=40, index=True)
    deceased: bool = Field(default=False)
    deceased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Coverage(SQLModel, table=True):
    """One payer entitlement; the patient's segment is derived from the active ones."""

    __tablename__ = "coverage"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    segment_code: str = Field(foreign_key="segment.code", max_length=40)
    payer_name: str = Field(default="", max_length=200)
    member_id: str = Field(default="", max_length=60)
    # Social-security referrals are only valid with a referral letter from the main hospital.
    referral_from: str = Field(default="", max_length=200)
    # ...and the letter expires: the patient is reminded to renew it before this day.
    referral_valid_to: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    active: bool = Field(default=True)
    source: str = Field(default="manual", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
