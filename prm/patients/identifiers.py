"""Validation of the identifiers staff type: Thai national ID, phone numbers, HN, passport."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_PHONE_REGION = "TH"


def national_id_is_valid(value: str) -> bool:
    """13 digits whose last is the check digit: (11 - Σ dᵢ·(14 - i) mod 11) mod 10."""
    if not re.fullmatch(r"\d{13}", value):
        return False
    total = sum(int(digit) * (13 - index) for index, digit in enumerate(value[:12]))
    return (11 - total % 11) % 10 == int(value[12])


def national_id_check_digit(first_twelve: str) -> str:
    total = sum(int(digit) * (13 - index) for index, digit in enumerate(first_twelve))
    return str((11 - total % 11) % 10)


def clean_national_id(value: str) -> str:
    """Staff type IDs with dashes or spaces (1-2345-67890-12-3); keep the digits."""
    return re.sub(r"[\s-]", "", value)


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 (+66812345678), or None when it is not a possible, valid number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_prefix(value: str) -> str | None:
    """A partial phone typed in national form ("0812") as an E.164 prefix ("+66812")."""
    digits = re.sub(r"[\s-]", "", value)
    if re.fullmatch(r"0\d{2,9}", digits):
        return "+66" + digits[1:]
    if re.fullmatch(r"\+\d{3,14}", digits):
        return digits
    return None


def clean_hn(value: str) -> str:
    return re.sub(r"\s", "", value).upper()


def clean_passport(value: str) -> str:
    return re.sub(r"\s", "", value).upper()
