"""Templates are compiled once per language with their fixed texts already translated;
the result must be exactly what translating at render time gave."""

from __future__ import annotations

import jinja2
import pytest

from prm import i18n
from prm.web import templating

SNIPPETS = [
    '{{ _("Patients") }}',
    '<a title="{{ _("Find a patient") }}">{{ _("Log out") }}</a>',
    '{{ _("%(n)s years", n=7) }} {{ _("%(n)s years", n="<b>") }}',
    '{% set label = _("Timeline") %}{{ label }} {{ label|length > 0 }}',
    '{{ missing or _("Nothing here yet.") }}',
    '{{ {"sms": "SMS", "phone": _("Phone call")}.get(kind, _("Unknown")) }}',
    '{% macro m(blank="") %}[{{ blank }}]{% endmacro %}{{ m(blank=_("— choose —")) }}',
    '{{ ngettext("%(num)s event", "%(num)s events", 2) }}',
    "{{ _('No patient with that id.') }} {{ _('&lt; not a tag') }}",
]


def _runtime_gettext_environment() -> jinja2.Environment:
    """The previous set-up: the i18n extension's newstyle gettext on every render."""
    env = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    return env


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
@pytest.mark.parametrize("source", SNIPPETS)
def test_pre_translated_templates_render_what_runtime_translation_did(language, source):
    token = i18n.current_language.set(language)
    try:
        expected = _runtime_gettext_environment().from_string(source).render(kind="x")
        got = templating.ENVIRONMENTS[language].from_string(source).render(kind="x")
    finally:
        i18n.current_language.reset(token)

    assert got == expected


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_every_template_compiles_in_every_language(language):
    env = templating.ENVIRONMENTS[language]
    names = env.list_templates(extensions=["html"])

    assert "patients/detail.html" in names
    for name in names:
        env.get_template(name)


def test_a_fixed_text_is_translated_when_the_template_is_compiled():
    compiled = templating.ENVIRONMENTS["th"].compile(
        '{{ _("Patients") }}', raw=True)

    assert i18n.translations("th").gettext("Patients") in compiled
    assert "gettext" not in compiled.split("def root", 1)[1]
