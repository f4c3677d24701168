"""What staff type is validated and shown the Thai way: national IDs, phones, dates, times."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from prm.formatting import (
    age_in_years,
    format_date,
    format_datetime,
    format_phone,
    mask_phone,
)
from prm.i18n import current_language
from prm.patients.identifiers import (
    clean_national_id,
    national_id_check_digit,
    national_id_is_valid,
    normalise_phone,
    phone_prefix,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


@contextmanager
def language(code: str) -> Iterator[None]:
    token = current_language.set(code)
    try:
        yield
    finally:
        current_language.reset(token)


# Check digits worked out by hand: (11 - Σ dᵢ·(13 - i) mod 11) mod 10.
KNOWN_GOOD_IDS = ["1101700230708", "3100600445091", "1234567890121", "1111111111119"]


@pytest.mark.parametrize("national_id", KNOWN_GOOD_IDS)
def test_it_accepts_national_ids_with_a_correct_check_digit(national_id):
    assert national_id_is_valid(national_id)
    assert national_id_check_digit(national_id[:12]) == national_id[12]


@pytest.mark.parametrize("national_id", [
    "1101700230707",  # last digit off by one
    "1234567890123",  # check digit should be 1
    "3100600445090",
    "110170023070",  # 12 digits
    "11017002307080",  # 14 digits
    "110170023070X",
    "",
    "9101700230703",  # no ID starts with 9 (python-stdnum's rule)
])
def test_it_rejects_national_ids_with_a_bad_check_digit_or_shape(national_id):
    assert not national_id_is_valid(national_id)


def test_it_accepts_a_national_id_as_printed_on_the_card_with_dashes():
    assert national_id_is_valid("1-1017-00230-70-8")


def test_it_accepts_the_ids_of_people_without_thai_registration_status():
    first_twelve = "008901234567"  # lead digit 0: stateless residents, refused by stdnum
    assert national_id_is_valid(first_twelve + national_id_check_digit(first_twelve))
    assert not national_id_is_valid(first_twelve + str((int(
        national_id_check_digit(first_twelve)) + 1) % 10))


def test_it_cleans_dashes_and_spaces_from_typed_national_ids():
    assert clean_national_id("1-1017-00230-70-8") == "1101700230708"
    assert clean_national_id("1 1017 00230 70 8") == "1101700230708"
    assert national_id_is_valid(clean_national_id("1-2345-67890-12-1"))


@pytest.mark.parametrize(("typed", "e164"), [
    ("081 234 5678", "+66812345678"),
    ("0812345678", "+66812345678"),
    ("081-234-5678", "+66812345678"),
    ("+66 81 234 5678", "+66812345678"),
    ("091 234 5678", "+66912345678"),
    ("02 123 4567", "+6621234567"),  # Bangkok landline
    ("(02) 123-4567", "+6621234567"),
    ("053 123 456", "+6653123456"),  # Chiang Mai landline
    ("+1 650 253 0000", "+16502530000"),
    ("+44 20 7031 3000", "+442070313000"),
])
def test_it_normalises_thai_and_foreign_phone_numbers_to_e164(typed, e164):
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize("garbage", ["", "hello", "123", "08123", "0812345678901234", "+", "--"])
def test_it_refuses_phone_numbers_that_are_not_numbers(garbage):
    assert normalise_phone(garbage) is None


def test_it_turns_a_partial_national_phone_into_an_e164_prefix():
    assert phone_prefix("0812") == "+66812"
    assert phone_prefix("081 234") == "+6681234"
    assert phone_prefix("+6681") == "+6681"
    assert phone_prefix("abc") is None


def test_it_shows_thai_numbers_in_national_format_and_foreign_ones_internationally():
    assert format_phone("+66812345678") == "081 234 5678"
    assert format_phone("+6621234567") == "02 123 4567"
    assert format_phone("+16502530000") == "+1 650-253-0000"
    assert format_phone(None) == ""
    assert format_phone("not-a-number") == "not-a-number"


def test_it_masks_all_but_the_last_four_digits():
    assert mask_phone("+66812345678") == "••• 5678"
    assert mask_phone(None) == ""


def test_it_shows_buddhist_era_years_in_thai():
    with language("th"):
        assert format_date(date(2026, 1, 2)) == "2 ม.ค. 2569"
        assert format_date(date(1980, 12, 31)) == "31 ธ.ค. 2523"


def test_it_shows_christian_era_years_in_english():
    with language("en"):
        assert format_date(date(2026, 1, 2)) == "2 Jan 2026"
        assert format_date(date(1980, 12, 31)) == "31 Dec 1980"


def test_it_shows_utc_times_in_bangkok_time_across_the_new_year():
    moment = datetime(2026, 1, 1, 17, 30, tzinfo=UTC)  # 00:30 on 2 January in Bangkok
    with language("en"):
        assert format_datetime(moment, BANGKOK) == "2 Jan 2026 00:30"
        assert format_date(moment, BANGKOK) == "2 Jan 2026"
        assert format_date(moment) == "1 Jan 2026"  # UTC when no zone is given
    with language("th"):
        assert format_datetime(moment, BANGKOK) == "2 ม.ค. 2569 00:30"


def test_it_shows_nothing_for_missing_dates():
    assert format_date(None) == ""
    assert format_datetime(None, BANGKOK) == ""


def test_it_counts_age_in_completed_years():
    born = date(1980, 5, 1)
    assert age_in_years(born, date(2026, 4, 30)) == 45
    assert age_in_years(born, date(2026, 5, 1)) == 46
    assert age_in_years(None, date(2026, 5, 1)) is None
