"""Translations (Babel .po catalogs) and the language of the current request.

Catalogs are read from ``prm/locale/<lang>/LC_MESSAGES/messages.po`` at start-up and
compiled in memory, so there is no build step to forget.
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = {"th": "ไทย", "en": "English"}
DEFAULT_LANGUAGE = "th"
LOCALE_DIR = Path(__file__).parent / "locale"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@lru_cache
def translations(language: str) -> gettext_module.NullTranslations:
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return gettext_module.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def gettext(message: str, **params) -> str:
    text = translations(current_language.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    text = translations(current_language.get()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


_ = gettext


def normalise_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE
