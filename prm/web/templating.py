"""Jinja2 environment, filters and the one ``render`` every route uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from prm import i18n
from prm.config import PROJECT_ROOT, get_settings
from prm.web import formatting

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(PROJECT_ROOT / "templates")),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Templates(env=env)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
env.globals["LANGUAGES"] = i18n.LANGUAGES


def _tz():
    return get_settings().tz


env.filters["date"] = lambda value: formatting.format_date(value, _tz())
env.filters["datetime"] = lambda value: formatting.format_datetime(value, _tz())
env.filters["phone"] = formatting.format_phone
env.filters["masked_phone"] = formatting.mask_phone


def _age(birth_date):
    return formatting.age_in_years(birth_date, datetime.now(UTC).astimezone(_tz()).date())


env.filters["age"] = _age


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with what every page needs (user, CSRF token, language)."""
    base = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "language": i18n.current_language.get(),
    }
    base.update(context or {})
    return templates.TemplateResponse(request, template, base, status_code=status)


def _can(user, permission: str) -> bool:
    from prm.auth.permissions import Permission, role_may

    return user is not None and role_may(user.role, Permission(permission))


env.globals["can"] = _can


def _role_label(role: str) -> str:
    from prm.auth.labels import role_labels

    return role_labels().get(role, role)


env.globals["role_label"] = _role_label


env.globals["now_utc"] = lambda: datetime.now(UTC)
