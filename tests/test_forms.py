"""The form layer (prm.forms): parsing never raises, keeps what was typed, and says what is
wrong beside each field in Thai or English; never a cut value."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

import pytest
from pydantic import Field

from prm.formatting import format_date_input, input_text
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


def _bad_date_message(language: str) -> str:
    token = current_language.set(language)
    try:
        example = format_date_input(date.today())  # in the language's era
    finally:
        current_language.reset(token)
    return shown("Type the date as day/month/year, e.g. %(example)s.", language,
                 example=example)


TIME_MESSAGE = "Type the time as HH:MM on the 24-hour clock, e.g. 14:30."


def test_it_says_what_is_wrong_beside_each_field_in_thai_and_english():
    typed = {"clinic_id": "x", "day": "31/02/2568", "at": "9h", "colour": "green",
             "count": "many", "name": "ยาวเกินไป"}

    english, thai = _in("en", **typed), _in("th", **typed)

    assert english.errors == {
        "name": "At most 5 characters.", "clinic_id": "Choose one of the options.",
        "day": _bad_date_message("en"), "at": TIME_MESSAGE,
        "colour": "Choose one of the options.", "count": "Enter a whole number."}
    assert thai.errors["day"] == _bad_date_message("th")
    assert thai.errors["day"] != english.errors["day"]
    assert thai.errors["name"] == shown("At most %(n)s characters.", n=5)
    assert thai.errors["name"] != english.errors["name"]
    assert thai.typed["day"] == "31/02/2568"


@pytest.mark.parametrize(("typed", "expected"), [
    ("06/12/2569", date(2026, 12, 6)),  # as Thai pages show it: Buddhist era
    ("6/12/2026", date(2026, 12, 6)),  # as English pages show it
    ("06-12-2569", date(2026, 12, 6)),
    ("6.12.2026", date(2026, 12, 6)),
    ("06122569", date(2026, 12, 6)),  # a phone's digit pad has no slash
    ("2026-12-06", date(2026, 12, 6)),  # ISO, as links and query strings carry it
    ("2568-02-14", date(2025, 2, 14)),  # a Buddhist-era year typed the ISO way
    (" 14/2/2518 ", date(1975, 2, 14)),
])
def test_dates_are_read_as_pages_show_them_in_either_era(typed, expected):
    assert _in("en", day=typed).day == expected
    assert _in("th", day=typed).day == expected


def test_a_two_digit_year_is_refused_with_a_clear_word():
    form = _in("en", day="06/12/69")

    assert form.day is None
    assert form.errors["day"].startswith("Write the year in full, with 4 digits")


@pytest.mark.parametrize(("typed", "expected"), [
    ("14:30", time(14, 30)), ("9:05", time(9, 5)), ("14.30", time(14, 30)),
    ("1430", time(14, 30)), ("09:30:00", time(9, 30)),
])
def test_times_are_read_on_the_24_hour_clock(typed, expected):
    assert _in("en", at=typed).at == expected


@pytest.mark.parametrize("typed", ["2:30 PM", "25:00", "14:61", "soon"])
def test_a_time_that_is_not_one_is_a_field_error(typed):
    assert _in("en", at=typed).errors == {"at": TIME_MESSAGE}


@pytest.mark.parametrize("typed", ["06/12/2569 14:30", "6/12/2026 14:30", "2026-12-06T14:30",
                                   "2026-12-06 14:30:00"])
def test_a_date_and_time_is_read_in_the_hospitals_zone(typed):
    assert _in("th", when=typed).when == datetime(2026, 12, 6, 7, 30, tzinfo=UTC)


def test_a_date_and_time_that_is_not_one_is_a_field_error():
    assert set(_in("en", when="06/12/2569").errors) == {"when"}
    assert set(_in("en", when="tomorrow 14:30").errors) == {"when"}


@pytest.mark.parametrize(("language", "shown_as"), [("th", "06/12/2569"), ("en", "06/12/2026")])
def test_inputs_show_dates_as_the_page_does(language, shown_as):
    token = current_language.set(language)
    try:
        assert input_text(date(2026, 12, 6), "date", BANGKOK) == shown_as
        assert input_text("2026-12-06", "date", BANGKOK) == shown_as  # from a link
        assert input_text("2026-12-06T07:30:00+00:00", "datetime-local",
                          BANGKOK) == shown_as + " 14:30"
        assert input_text("2026-12-06T14:30", "datetime-local", BANGKOK) == shown_as + " 14:30"
        assert input_text(time(9, 5), "time", BANGKOK) == "09:05"
        # What was typed and refused is shown as typed, whatever it looks like.
        assert input_text("31/02/2568", "date", BANGKOK) == "31/02/2568"
        assert input_text("2568-02-14", "date", BANGKOK) == "2568-02-14"
    finally:
        current_language.reset(token)


def test_numbers_outside_their_range_are_field_errors():
    assert _in("en", count="0").errors == {"count": "At least 1."}
    assert _in("en", count="10").errors == {"count": "At most 9."}


def test_rules_across_fields_do_not_hide_a_fields_own_error():
    missing_day = _in("en", urgent="on")
    bad_day = _in("en", urgent="on", day="soon")

    assert missing_day.errors == {"day": "An urgent one needs a day."}
    assert bad_day.errors == {"day": _bad_date_message("en")}


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


# --- every form of the product, field by field ---------------------------------------------

def _parsed(language: str, form_class: type[Form], data: dict):
    token = current_language.set(language)
    try:
        return form_class.parse(data, tz=BANGKOK)
    finally:
        current_language.reset(token)


def _all_forms() -> list[type[Form]]:
    import prm.app  # noqa: F401  (imports every feature, so every form class exists)

    found, waiting = [], [Form]
    while waiting:
        for subclass in waiting.pop().__subclasses__():
            waiting.append(subclass)
            if subclass.__module__.startswith("prm."):
                found.append(subclass)
    return found


PRODUCT_FORMS = _all_forms()


def _fields(kind) -> list[tuple[type[Form], str]]:
    return [(form, name) for form in PRODUCT_FORMS
            for name, info in form.model_fields.items() if info.annotation is kind]


def _constraint(form: type[Form], name: str, attribute: str):
    return next((getattr(rule, attribute) for rule in form.model_fields[name].metadata
                 if getattr(rule, attribute, None) is not None), None)


def test_the_product_has_its_forms():
    names = {form.__name__ for form in PRODUCT_FORMS}
    assert {"PatientForm", "AppointmentForm", "ContactForm", "StaffForm"} <= names


@pytest.mark.parametrize(("form", "name"), _fields(str),
                         ids=lambda value: getattr(value, "__name__", value))
def test_every_text_field_has_a_limit_and_refuses_one_character_more(form, name):
    limit = _constraint(form, name, "max_length")
    assert limit, f"{form.__name__}.{name} has no max_length"

    parsed = _parsed("en", form, {name: "ก" * (limit + 1)})

    assert name in parsed.errors
    assert getattr(parsed, name) != "ก" * (limit + 1)  # refused, not kept, never cut
    assert parsed.typed[name] == "ก" * (limit + 1)


@pytest.mark.parametrize(("form", "name"), _fields(int),
                         ids=lambda value: getattr(value, "__name__", value))
def test_every_number_field_has_bounds_and_refuses_a_huge_number(form, name):
    assert _constraint(form, name, "le") is not None, f"{form.__name__}.{name} has no upper bound"

    parsed = _parsed("en", form, {name: "9" * 30})

    assert name in parsed.errors


@pytest.mark.parametrize("form", PRODUCT_FORMS, ids=lambda form: form.__name__)
def test_every_field_of_every_form_survives_hostile_input(form):
    for name in form.model_fields:
        for value in ("0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59",
                      "9" * 30, "-1", "\x00", "<script>", "๑๒๓", "\ud800"[:0] + "💥" * 3):
            parsed = _parsed("th", form, {name: value})  # never raises
            assert isinstance(parsed.errors, dict)


@pytest.mark.parametrize("form", PRODUCT_FORMS, ids=lambda form: form.__name__)
def test_a_file_where_text_is_expected_is_an_error_never_stored_as_text(form):
    from starlette.datastructures import UploadFile

    name = next(iter(form.model_fields))
    upload = UploadFile(file=__import__("io").BytesIO(b"data"), filename="x.txt")

    parsed = _parsed("en", form, {name: upload})

    assert parsed.errors[name] == "Type text here: this field does not take a file."
    assert "UploadFile" not in str(getattr(parsed, name))


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "9999-12-31", "2400-01-01"])
def test_dates_at_the_edges_of_the_calendar_are_field_errors(value):
    form = _in("en", day=value, when=value + "T09:00")

    assert set(form.errors) == {"day", "when"}
    assert form.day is None and form.when is None


def test_an_id_beyond_64_bits_is_not_one_of_the_options():
    form = _in("en", clinic_id=str(2**64))

    assert form.errors == {"clinic_id": "Choose one of the options."}


@pytest.mark.parametrize("form", PRODUCT_FORMS, ids=lambda form: form.__name__)
def test_a_control_character_no_one_types_is_refused_and_never_kept(form):
    name = next((name for name, info in form.model_fields.items() if info.annotation is str),
                next(iter(form.model_fields)))

    parsed = _parsed("en", form, {name: "Som\x00chai"})

    assert parsed.errors[name] == "This text holds a control character; type it again."
    assert "\x00" not in str(getattr(parsed, name))
    assert parsed.typed[name] == "Som\x00chai"


def test_tabs_and_line_breaks_in_a_note_are_text():
    class Note(Form):
        body: Text = Field("", max_length=100)

    assert _parsed("en", Note, {"body": "line one\r\n\tline two"}).errors == {}
