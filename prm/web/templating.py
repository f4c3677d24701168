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
from jinja2 import meta
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup, escape
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


# --- Parts of a page that are the same for every patient -----------------------------
# The 360° page's forms (log a contact, add a note or a coverage, SMS consent) were most
# of its rendering time, and with nothing typed into them they differ from one patient
# to the next only in the patient's id and the CSRF token. Such a part is rendered once
# for each language and each value of everything else it shows (the user, clinics,
# schemes), with stand-ins for those two that every page then fills in. The key is
# every context variable the part's template names, so a part cannot show a stale value
# (globals are not in the key: a part must not call one that changes by itself, such
# as the time).
_STAND_INS = {"patient_id": "0PRMPATIENTID0", "csrf_token": "0PRMCSRFTOKEN0"}
_PARTS: dict[tuple, str] = {}
# Entries are per staff member (a part may show who is logged in), ~5 KB each: a few
# hundred staff × two languages × three parts stay well under this bound.
_MOST_PARTS = 4096


@jinja2.pass_context
def _same_for_every_patient(context, template_name: str) -> Markup:
    """Render ``template_name`` with the page's context, from the cache when its inputs
    were seen before; rendered directly when something was typed (a failed action)."""
    env = context.environment
    template = env.get_template(template_name)
    if context.get("typed") or context.get("err"):
        return Markup(template.render(context.get_all()))
    key = (env.prm_language, template_name, *(  # type: ignore[attr-defined]
        _frozen(context.get(name)) for name in _named_in(env, template_name)))
    html = _PARTS.get(key)
    if html is None:
        html = template.render({**context.get_all(), **_STAND_INS})
        if len(_PARTS) >= _MOST_PARTS:
            _PARTS.clear()
        _PARTS[key] = html
    return Markup(html.replace(_STAND_INS["patient_id"], str(int(context["patient_id"])))
                  .replace(_STAND_INS["csrf_token"], str(escape(context["csrf_token"]))))


@cache
def _named_in(env: jinja2.Environment, template_name: str) -> tuple[str, ...]:
    """The context variables a template reads (not globals, not the stand-ins)."""
    source = env.loader.get_source(env, template_name)[0]  # type: ignore[union-attr]
    names = meta.find_undeclared_variables(env.parse(source))
    return tuple(sorted(names - env.globals.keys() - _STAND_INS.keys()))


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a context value: dicts and lists of plain values become
    tuples (a deeper structure fails the cache lookup loudly, as any unhashable does)."""
    if isinstance(value, dict):
        return tuple(value.items())
    if isinstance(value, list):
        return tuple(value)
    return value


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
                       same_for_every_patient=_same_for_every_patient,
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
