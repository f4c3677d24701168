"""How dates, times, ages and phone numbers are shown to staff.

Times are stored in UTC and shown in the hospital's zone; Thai shows Buddhist-era
years (พ.ศ. = ค.ศ. + 543). Dates are typed the way they are shown: day/month/year, the
year in the page's era (``format_date_input``; ``prm.forms`` reads them back).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import phonenumbers

from prm.i18n import current_language

THAI_MONTHS = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
               "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
ENGLISH_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
BUDDHIST_ERA_OFFSET = 543
# A typed year from this one on is Buddhist era (2400 BE is 1857 CE): no date the hospital
# records is that far in the Christian era's future.
FIRST_BUDDHIST_ERA_YEAR = 2400


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


def format_date_input(value: date) -> str:
    """A date as staff type it: 06/12/2569 in Thai (Buddhist era), 06/12/2026 in English."""
    year = value.year + (BUDDHIST_ERA_OFFSET if current_language.get() == "th" else 0)
    return f"{value.day:02d}/{value.month:02d}/{year}"


def format_datetime_input(value: datetime, tz: ZoneInfo) -> str:
    """A moment as staff type it, in the hospital's zone: 06/12/2569 14:30."""
    local = value.astimezone(tz) if value.tzinfo else value
    return f"{format_date_input(local.date())} {local:%H:%M}"


def input_text(value: date | datetime | time | str | None, kind: str, tz: ZoneInfo) -> str:
    """What a date, time or date-and-time input shows: a value (or the ISO text links and
    fresh forms carry) in the typing format of the page's language; anything else, such
    as a refused entry, exactly as it was typed."""
    if isinstance(value, str):
        value = _from_iso(value, kind) or value
    if isinstance(value, datetime):
        return format_datetime_input(value, tz)
    if isinstance(value, date):
        return format_date_input(value)
    if isinstance(value, time):
        return f"{value:%H:%M}"
    return value or ""


def _from_iso(text: str, kind: str) -> date | datetime | time | None:
    readers = {"date": date.fromisoformat, "time": time.fromisoformat,
               "datetime-local": datetime.fromisoformat}
    try:
        value = readers[kind](text.strip()) if "-" in text or kind == "time" else None
    except ValueError:
        return None
    # "2568-02-14" is a Buddhist-era year typed the ISO way: show it as it was typed.
    if isinstance(value, date) and value.year >= FIRST_BUDDHIST_ERA_YEAR:
        return None
    return value


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
