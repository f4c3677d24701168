"""Validation of the identifiers staff type: Thai national ID (python-stdnum), phone
numbers (phonenumbers), country codes (pycountry), HN, passport."""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata

import phonenumbers
import pycountry
from stdnum.exceptions import InvalidComponent, ValidationError
from stdnum.th import pin

DEFAULT_PHONE_REGION = "TH"


def national_id_is_valid(value: str) -> bool:
    """13 digits (dashes and spaces as typed are fine) whose last is the check digit."""
    try:
        pin.validate(value)
    except InvalidComponent:
        # python-stdnum refuses a leading 0, which the registry gives people without
        # Thai registration status (stateless residents, many of them patients here);
        # the check digit still has to be right.
        number = pin.compact(value)
        return number[0] == "0" and number[-1] == pin.calc_check_digit(number)
    except ValidationError:
        return False
    return True


def national_id_check_digit(first_twelve: str) -> str:
    return pin.calc_check_digit(first_twelve)


def clean_national_id(value: str) -> str:
    """Staff type IDs with dashes or spaces (1-2345-67890-12-3); keep the digits."""
    return pin.compact(value)


def country_alpha2(code: str | None) -> str | None:
    """An ISO 3166 alpha-2 or alpha-3 code (any case) → alpha-2, else None."""
    code = (code or "").strip().upper()
    if len(code) not in (2, 3) or not code.isascii():
        return None
    country = pycountry.countries.get(**{"alpha_2" if len(code) == 2 else "alpha_3": code})
    return country.alpha_2 if country else None


@functools.cache
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(alpha-2, name in ``language``) of every ISO 3166-1 country, Thailand first and the
    rest by name: the options of the nationality and passport-country fields. Thai names
    come from the translations pycountry ships."""
    if language == "en":  # the short name people use ("Bolivia", not its official title)
        def name_of(country) -> str:
            return getattr(country, "common_name", None) or country.name
    else:
        translated = gettext.translation("iso3166-1", pycountry.LOCALES_DIR,
                                         languages=[language], fallback=True).gettext

        def name_of(country) -> str:
            return translated(country.name)
    # In Thai, the few names without a translation yet (in English) come after the rest.
    choices = sorted(((country.alpha_2, name_of(country)) for country in pycountry.countries),
                     key=lambda choice: (language != "en" and choice[1].isascii(), choice[1]))
    return tuple(sorted(choices, key=lambda choice: choice[0] != "TH"))


def country_name(code: str, language: str) -> str:
    """A country's name in ``language`` from its alpha-2 code; an unknown code as it is."""
    return dict(country_choices(language)).get(code, code)


# Besides letters and their marks (Thai vowels and tone marks are marks), what names hold:
# "Ma Thida", "Saint-Exupéry", "O'Brien", "Jr.".
_NAME_PUNCTUATION = frozenset(" .-'’")


def is_plausible_name(value: str) -> bool:
    """Letters of any script with their marks, and the spaces and punctuation names have;
    never markup, digits or symbols."""
    return all(unicodedata.category(char)[0] in "LM" or char in _NAME_PUNCTUATION
               for char in value)


def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


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
