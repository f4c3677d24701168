"""Jinja2 environments, filters and the one ``render`` every route uses.

One environment per language, each with that language's catalog installed (Jinja's
newstyle gettext: ``_("%(n)s years", n=…)`` escapes its values), so rendering never
looks the language up per text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse

from prm import formatting, i18n
from prm.config import PROJECT_ROOT, get_settings
from prm.roles import Permission, role_may
from prm.segment_labels import description as segment_description


def _tz():
    return get_settings().tz


def _age(birth_date):
    return formatting.age_in_years(birth_date, _hospital_today())


def _hospital_today():
    return datetime.now(UTC).astimezone(_tz()).date()


@cache
def _role_may(role: str, permission: str) -> bool:
    return role_may(role, Permission(permission))  # an unknown name fails loudly


def _can(user, permission: str) -> bool:
    return user is not None and _role_may(user.role, permission)


def _role_label(role: str) -> str:
    from prm.roles import role_labels

    return role_labels().get(role, role)


def _environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROJECT_ROOT / "templates")),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        # Re-reading template files on change is for development only.
        auto_reload=get_settings().environment == "development",
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)
    env.globals.update(LANGUAGES=i18n.LANGUAGES, can=_can, role_label=_role_label,
                       segment_description=segment_description,
                       now_utc=lambda: datetime.now(UTC), hospital_today=_hospital_today,
                       input_text=lambda value, kind: formatting.input_text(value, kind, _tz()))
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
