"""How dates, times, ages and phone numbers are shown to staff.

Times are stored in UTC and shown in the hospital's zone; Thai shows Buddhist-era
years (พ.ศ. = ค.ศ. + 543).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import phonenumbers

from prm.i18n import current_language

THAI_MONTHS = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
               "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
ENGLISH_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
BUDDHIST_ERA_OFFSET = 543


def format_date(value: date | datetime | None, tz: ZoneInfo | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(tz or UTC).date()
    if current_language.get() == "th":
        return f"{value.day} {THAI_MONTHS[value.month - 1]} {value.year + BUDDHIST_ERA_OFFSET}"
    return f"{value.day} {ENGLISH_MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime | None, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz)
    return f"{format_date(local.date())} {local.hour:02d}:{local.minute:02d}"


def age_in_years(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def format_phone(e164: str | None) -> str:
    """National format for Thai numbers (081 234 5678), international for others."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 66
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def mask_phone(e164: str | None) -> str:
    """Only the last four digits, for lists where the full number is not needed."""
    if not e164:
        return ""
    return "••• " + e164[-4:]
