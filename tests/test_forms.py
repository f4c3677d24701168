"""The form layer (prm.forms): parsing never raises, keeps what was typed, and says what is
wrong beside each field in Thai or English; never a cut value."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

import pytest
from pydantic import Field

from prm.forms import (
    Checkbox,
    ClockTime,
    Form,
    IsoDate,
    LocalDateTime,
    OptionalId,
    Text,
    column_limit,
)
from prm.i18n import current_language
from prm.models.patient import Patient
from tests.factories import shown

BANGKOK = ZoneInfo("Asia/Bangkok")


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class SampleForm(Form):
    name: Text = Field("", max_length=5)
    clinic_id: OptionalId = None
    day: IsoDate = None
    at: ClockTime = None
    when: LocalDateTime = None
    colour: Colour = Colour.red
    urgent: Checkbox = False
    count: int = Field(1, ge=1, le=9)

    def check(self) -> None:
        if self.urgent and self.day is None:
            self.add_error("day", "An urgent one needs a day.")


def _in(language: str, form_class=SampleForm, **data):
    token = current_language.set(language)
    try:
        return form_class.parse(data, tz=BANGKOK)
    finally:
        current_language.reset(token)


def test_it_parses_what_was_typed_into_typed_values():
    form = _in("en", name="  Ann ", clinic_id="7", day="2025-03-01", at="09:30",
               when="2025-03-01T09:30", colour="blue", urgent="on", count="3")

    assert form.errors == {}
    assert (form.name, form.clinic_id, form.day, form.at) == ("Ann", 7, date(2025, 3, 1),
                                                             time(9, 30))
    assert form.when == datetime(2025, 3, 1, 2, 30, tzinfo=UTC)  # Bangkok is UTC+7
    assert (form.colour, form.urgent, form.count) == (Colour.blue, True, 3)


def test_blank_fields_are_their_defaults_without_an_error():
    form = _in("en", name="", clinic_id="", day="", at="", when="")

    assert form.errors == {}
    assert (form.clinic_id, form.day, form.at, form.when, form.urgent) == (None,) * 4 + (False,)


def test_it_never_cuts_a_value_it_refuses_it_and_keeps_it_as_typed():
    form = _in("en", name="Annabelle ")

    assert form.errors == {"name": "At most 5 characters."}
    assert form.name == ""  # the default, never "Annab"
    assert form.typed["name"] == "Annabelle "


def test_it_says_what_is_wrong_beside_each_field_in_thai_and_english():
    typed = {"clinic_id": "x", "day": "14/02/2568", "at": "9h", "colour": "green",
             "count": "many", "name": "ยาวเกินไป"}

    english, thai = _in("en", **typed), _in("th", **typed)

    assert english.errors == {
        "name": "At most 5 characters.", "clinic_id": "Choose one of the options.",
        "day": "Use the date picker or YYYY-MM-DD (Christian era).",
        "at": "Use the time picker or HH:MM (24-hour clock).",
        "colour": "Choose one of the options.", "count": "Enter a whole number."}
    assert thai.errors["day"] == shown("Use the date picker or YYYY-MM-DD (Christian era).")
    assert thai.errors["name"] == shown("At most %(n)s characters.", n=5)
    assert thai.errors["name"] != english.errors["name"]
    assert thai.typed["day"] == "14/02/2568"


def test_it_refuses_a_buddhist_era_year_typed_as_an_iso_date():
    assert _in("en", day="2568-02-14").errors == {
        "day": "Use the date picker or YYYY-MM-DD (Christian era)."}


def test_numbers_outside_their_range_are_field_errors():
    assert _in("en", count="0").errors == {"count": "At least 1."}
    assert _in("en", count="10").errors == {"count": "At most 9."}


def test_rules_across_fields_do_not_hide_a_fields_own_error():
    missing_day = _in("en", urgent="on")
    bad_day = _in("en", urgent="on", day="soon")

    assert missing_day.errors == {"day": "An urgent one needs a day."}
    assert bad_day.errors == {"day": "Use the date picker or YYYY-MM-DD (Christian era)."}


def test_a_fresh_form_shows_its_values_as_text():
    form = SampleForm(day=date(2025, 3, 1), at=time(8, 5), clinic_id=3, urgent=True)

    assert form.typed == {"name": "", "clinic_id": "3", "day": "2025-03-01", "at": "08:05",
                          "when": "", "colour": "red", "urgent": "on", "count": "1"}


def test_a_local_datetime_needs_the_hospitals_zone():
    with pytest.raises(TypeError):
        SampleForm.parse({"when": "2025-03-01T09:30"})


def test_every_field_needs_a_default_so_a_failed_form_still_exists():
    with pytest.raises(TypeError, match="give name a default"):
        class NoDefault(Form):
            name: str


def test_limits_come_from_the_database_columns():
    assert column_limit(Patient, "given_name_th") == 100
    assert column_limit(Patient, "hn") == 20
