"""Jinja2 environments, filters and the one ``render`` every route uses.

One environment per language: a template is compiled once for each, with its fixed
texts (``_("…")`` without values) already translated, so a page does not pay for
dozens of gettext calls on every render. Texts with values (``_("%(n)s years", n=…)``)
are translated when the page renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
from fastapi import Request
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup
from starlette.responses import HTMLResponse

from prm import i18n
from prm.auth.permissions import Permission, role_may
from prm.config import PROJECT_ROOT, get_settings
from prm.web import formatting


class PreTranslate(Extension):
    """Replaces ``_("literal")`` by its translation, marked safe, at compile time.

    Same result as the newstyle gettext call it replaces: the translated text is markup
    and is %-formatted with no values (so ``%%`` becomes ``%``).
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        tokens = list(stream)
        language = self.environment.prm_language  # type: ignore[attr-defined]
        index = 0
        while index < len(tokens):
            text = _literal_call(tokens, index, language)
            if text is None:
                yield tokens[index]
                index += 1
                continue
            line = tokens[index].lineno
            yield from (Token(line, "lparen", "("), Token(line, "string", text),
                        Token(line, "pipe", "|"), Token(line, "name", "safe"),
                        Token(line, "rparen", ")"))
            index += 4


def _literal_call(tokens: list[Token], index: int, language: str) -> str | None:
    """The translation when tokens[index:] read ``_ ( "text" )``, else None."""
    if not (tokens[index].test("name:_") and index + 3 < len(tokens)
            and tokens[index + 1].type == "lparen" and tokens[index + 2].type == "string"
            and tokens[index + 3].type == "rparen"):
        return None
    if index and tokens[index - 1].type == "dot":  # something._("…"), not our gettext
        return None
    translated = i18n.translations(language).gettext(tokens[index + 2].value)
    try:
        return str(Markup(translated) % {})
    except (KeyError, TypeError, ValueError):
        return None  # a placeholder without a value: leave it to fail as it did before


def _gettext(message: str, **values: Any) -> Markup:
    """``_()`` at render time (texts with values): newstyle gettext's contract, the
    translation is markup and the values are escaped into it, in one call."""
    return Markup(i18n.translations(i18n.current_language.get()).gettext(message)) % values


def _tz():
    return get_settings().tz


def _age(birth_date):
    return formatting.age_in_years(birth_date, datetime.now(UTC).astimezone(_tz()).date())


@cache
def _role_may(role: str, permission: str) -> bool:
    return role_may(role, Permission(permission))  # an unknown name fails loudly


def _can(user, permission: str) -> bool:
    return user is not None and _role_may(user.role, permission)


def _role_label(role: str) -> str:
    from prm.auth.labels import role_labels

    return role_labels().get(role, role)


def _environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=True,
        extensions=["jinja2.ext.i18n", PreTranslate],
        # Re-reading template files on change is for development only.
        auto_reload=get_settings().environment == "development",
    )
    env.extend(prm_language=language)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.globals.update(_=_gettext, LANGUAGES=i18n.LANGUAGES, can=_can, role_label=_role_label,
                       now_utc=lambda: datetime.now(UTC))
    env.filters.update(
        date=lambda value: formatting.format_date(value, _tz()),
        datetime=lambda value: formatting.format_datetime(value, _tz()),
        phone=formatting.format_phone, masked_phone=formatting.mask_phone, age=_age,
    )
    return env


ENVIRONMENTS = {language: _environment(language) for language in i18n.LANGUAGES}


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with what every page needs (user, CSRF token, language)."""
    language = i18n.current_language.get()
    base = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "language": language,
    }
    base.update(context or {})
    page = ENVIRONMENTS[i18n.normalise_language(language)].get_template(template)
    return HTMLResponse(page.render(base), status_code=status)
