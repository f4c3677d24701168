"""Payer segments (DESIGN §1). Data, not an enum: hospitals add their own."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Segment(SQLModel, table=True):
    __tablename__ = "segment"

    code: str = Field(primary_key=True, max_length=40)
    name_th: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    description: str = Field(default="", max_length=500)
    # When a patient holds several active coverages, the lowest rank decides the segment.
    rank: int = Field(default=100)
    colour: str = Field(default="grey", max_length=20)
    active: bool = Field(default=True)


# Codes the rules fall back to when a patient has no active coverage.
FOREIGN_UNINSURED = "foreign_uninsured"
SELF_PAY = "self_pay"
