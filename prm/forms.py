"""One form layer: what staff typed → typed values, or field errors in their language.

Every HTML form and every query-string filter is a subclass of :class:`Form`: fields with
a type, a limit and a default. ``parse`` never raises; it returns the form with

- the values, typed (``form.day`` is a ``date``); a field that failed keeps its default;
- ``form.errors``: ``{field: message}`` in the request's language, empty when all is well;
- ``form.typed``: ``{field: text}`` exactly as typed, for the inputs when the form is
  shown again (a fresh form shows its values as text).

A value over its limit is an error beside its field, never a cut value. Limits come from
the model the form fills (``column_limit``), so the form and the database agree.

    class NoteForm(Form):
        body: Text = Field("", min_length=1, max_length=column_limit(PatientNote, "body"))
        due_on: IsoDate = None
        urgent: Checkbox = False

        def check(self) -> None:  # rules across fields; only add what is not said yet
            if self.urgent and self.due_on is None:
                self.add_error("due_on", _("An urgent note needs a date."))

    form = NoteForm.parse(posted)      # the body, read by prm.web.forms.Posted
    form.errors    # {"body": "At most 2000 characters."}
    form.body      # "" (the default: the typed value was refused)
    form.typed     # {"body": "what was typed, exactly", "due_on": "", "urgent": ""}

Templates: ``field("body", _("Note"), form.typed.body, form.errors)``. Routes that save
use :func:`prm.web.forms.submit` (parse → service → commit and redirect, or roll back and
show the form again). Services may take the form itself (``create_patient(form=...)``):
this module knows nothing of the web.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticUndefined

from prm import formatting
from prm.i18n import _

CHECKED = frozenset({"on", "true", "1", "yes"})
# Typed dates are between 1900 (no living patient was born earlier) and 2399 CE (a year
# from 2400 on is read as Buddhist era). Dates at the calendar's ends would also overflow
# the arithmetic services do on them (the day before, the week after).
FIRST_PLAUSIBLE_YEAR = 1900
LAST_PLAUSIBLE_YEAR = 2399
# Row ids are 64-bit signed integers in both databases; a larger one names no row.
LAST_ROW_ID = 2**63 - 1
LAST_PAGE = 100_000


def column_limit(model: type, name: str) -> int:
    """The length of ``model``'s column ``name``: the one place a text limit is written."""
    length = model.__table__.c[name].type.length
    if length is None:
        raise TypeError(f"{model.__name__}.{name} has no length limit")
    return length


# --- field types --------------------------------------------------------------------------

# Dates are typed as pages show them, day/month/year (06/12/2569 in Thai, the year in the
# Buddhist era from FIRST_BUDDHIST_ERA_YEAR on), or ISO yyyy-mm-dd as links, query strings
# and fresh forms carry them; on a phone's digit pad, 06122569. Times are 24-hour.
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d+)")
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DIGITS_DAY = re.compile(r"(\d{2})(\d{2})(\d{4})")
_CLOCK = re.compile(r"(\d{1,2})[:.]?(\d{2})(?::(\d{2})(?:\.\d+)?)?")
_DAY_AND_CLOCK = re.compile(r"(.+?)(?:\s+|T)(\d{1,2}[:.]?\d{2}(?::\d{2}(?:\.\d+)?)?)")


def _bad_date() -> ValueError:
    example = formatting.format_date_input(date.today())
    return ValueError(_("Type the date as day/month/year, e.g. %(example)s.", example=example))


def _bad_clock() -> ValueError:
    return ValueError(_("Type the time as HH:MM on the 24-hour clock, e.g. 14:30."))


def _bad_local_datetime() -> ValueError:
    example = formatting.format_date_input(date.today()) + " 14:30"
    return ValueError(_("Type the date and time as day/month/year HH:MM, e.g. %(example)s.",
                        example=example))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _id(value: Any) -> int | None:
    """A row id from a <select> or a hidden input; blank is "none chosen"."""
    if _blank(value):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= LAST_ROW_ID:
        raise ValueError(_("Choose one of the options."))
    return int(text)


def _read_day(text: str) -> date:
    """A typed date; raises ValueError with the words staff see."""
    if match := _ISO_DAY.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DAY_MONTH_YEAR.fullmatch(text):
        day, _separator, month, year = match.groups()
    elif match := _DIGITS_DAY.fullmatch(text):
        day, month, year = match.groups()
    else:
        raise _bad_date()
    if len(year) != 4:  # 06/12/69: which century, which era? Only the writer knows.
        example = formatting.format_date_input(date.today())[-4:]
        raise ValueError(_("Write the year in full, with 4 digits (e.g. %(year)s).",
                           year=example))
    year_ce = int(year) - (formatting.BUDDHIST_ERA_OFFSET
                           if int(year) >= formatting.FIRST_BUDDHIST_ERA_YEAR else 0)
    try:
        parsed = date(year_ce, int(month), int(day))
    except ValueError:
        raise _bad_date() from None
    if not FIRST_PLAUSIBLE_YEAR <= parsed.year <= LAST_PLAUSIBLE_YEAR:
        raise _bad_date()
    return parsed


def _read_clock(text: str) -> time:
    match = _CLOCK.fullmatch(text)
    try:
        return time(*(int(part) for part in match.groups() if part is not None))
    except (AttributeError, ValueError):  # no match, or 25:00
        raise _bad_clock() from None


def _typed_date(value: Any) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, date):
        return value
    return _read_day(str(value).strip())


def _clock(value: Any) -> time | None:
    if _blank(value):
        return None
    if isinstance(value, time):
        return value
    return _read_clock(str(value).strip())


def _local_datetime(value: Any, info: ValidationInfo) -> datetime | None:
    """A date and time typed as pages show them ("06/12/2569 09:30") or in ISO
    ("2026-12-06T09:30"), read in the hospital's zone."""
    if _blank(value):
        return None
    if isinstance(value, datetime) and value.tzinfo:
        return value
    tz = (info.context or {}).get("tz")
    if tz is None:  # a programming error, not the user's: say so loudly
        raise TypeError("a form with a LocalDateTime field is parsed with tz=")
    match = _DAY_AND_CLOCK.fullmatch(str(value).strip())
    if match is None:
        raise _bad_local_datetime()
    day_text, clock_text = match.groups()
    try:
        day = _read_day(day_text)
        clock = _read_clock(clock_text)
    except ValueError:
        raise _bad_local_datetime() from None
    return at_local(day, clock, tz)


# Tab, line feed and carriage return are typed (a note's lines); no other control
# character is, and PostgreSQL refuses NUL in text outright.
_TYPED_CONTROLS = frozenset("\t\n\r")


def _has_control_character(text: str) -> bool:
    return any(ord(char) < 32 and char not in _TYPED_CONTROLS or char == "\x7f"
               for char in text)


def _checkbox(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in CHECKED


# Text is stripped (Form's config); give it ``Field("", max_length=...)``.
Text = str
OptionalId = Annotated[int | None, BeforeValidator(_id)]
# Read from day/month/year in either era or ISO (``_read_day``); named for the ISO form
# links and query strings use.
IsoDate = Annotated[date | None, BeforeValidator(_typed_date)]
ClockTime = Annotated[time | None, BeforeValidator(_clock)]
LocalDateTime = Annotated[datetime | None, BeforeValidator(_local_datetime)]
Checkbox = Annotated[bool, BeforeValidator(_checkbox)]
PageNumber = Annotated[int, Field(ge=1, le=LAST_PAGE)]
# A choice from a StrEnum: annotate the field with the enum itself (``status: Status``).


def at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """A date and a clock time in the hospital's zone, as an aware UTC datetime."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


# --- messages -----------------------------------------------------------------------------

def _message(error: dict) -> str:
    """pydantic's error → words for staff, in the request's language."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "string_too_long":
        return _("At most %(n)s characters.", n=ctx["max_length"])
    if kind == "string_too_short":
        if ctx["min_length"] == 1:
            return _("This field is required.")
        return _("At least %(n)s characters.", n=ctx["min_length"])
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("At least %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("At most %(n)s.", n=ctx.get("le", ctx.get("lt")))
    if kind == "multiple_of":
        return _("Use steps of %(n)s.", n=ctx["multiple_of"])
    if kind in ("enum", "literal_error"):
        return _("Choose one of the options.")
    return _("Check this value.")


def _as_text(value: Any) -> str:
    """How a value is shown in an input when nobody typed it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


# --- the base class -----------------------------------------------------------------------

class Form(BaseModel):
    """Base of every form. Subclasses declare fields, each with a default (a field that
    fails falls back to it, so the form always exists); override ``check`` for rules
    across fields."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    _errors: dict[str, str] = PrivateAttr(default_factory=dict)
    _typed: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        missing = [name for name, info in cls.model_fields.items()
                   if info.default is PydanticUndefined and info.default_factory is None]
        if missing:
            raise TypeError(f"{cls.__name__}: give {', '.join(missing)} a default")

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, tz: ZoneInfo | None = None) -> Self:
        """The form from submitted ``data`` (a form body or query string). Never raises
        for anything a user can type; ``tz`` reads LocalDateTime fields."""
        present = [name for name in cls.model_fields if name in data]
        typed = {name: data[name] for name in present if isinstance(data[name], str)}
        # A file where text belongs (a crafted multipart post) is refused by name: never
        # stored as the file object's description, never silently dropped.
        files = {name: _("Type text here: this field does not take a file.")
                 for name in present if name not in typed}
        unreadable = {name: _("This text holds a control character; type it again.")
                      for name, value in typed.items() if _has_control_character(value)}
        readable = {name: value for name, value in typed.items() if name not in unreadable}
        context = {"tz": tz}
        try:
            form = cls.model_validate(readable, context=context)
            errors: dict[str, str] = {}
        except ValidationError as failure:
            errors = {}
            for error in failure.errors():
                errors.setdefault(str(error["loc"][0]) if error["loc"] else "", _message(error))
            kept = {name: value for name, value in readable.items() if name not in errors}
            form = cls.model_validate(kept, context=context)
        form._typed = typed
        form._errors = {**files, **unreadable, **errors}
        form.check()
        return form

    @classmethod
    def max_length(cls, name: str) -> int | None:
        """The length limit of text field ``name``, for the input's ``maxlength``."""
        return next((rule.max_length for rule in cls.model_fields[name].metadata
                     if getattr(rule, "max_length", None) is not None), None)

    def check(self) -> None:
        """Rules across fields; add errors with ``add_error``. Runs after every parse."""

    def add_error(self, name: str, message: str) -> None:
        """Say what is wrong with ``name``, unless something already is said about it."""
        self._errors.setdefault(name, message)

    @property
    def errors(self) -> dict[str, str]:
        return self._errors

    @property
    def typed(self) -> dict[str, str]:
        return {name: self._typed[name] if name in self._typed else
                _as_text(getattr(self, name)) for name in type(self).model_fields}
