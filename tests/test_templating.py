"""One Jinja environment per language, each with its catalog installed."""

from __future__ import annotations

import pytest

from prm import i18n
from prm.web import templating


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_every_template_compiles_in_every_language(language):
    env = templating.ENVIRONMENTS[language]
    names = env.list_templates(extensions=["html"])

    assert "patients/detail.html" in names
    for name in names:
        env.get_template(name)


def test_each_environment_speaks_its_own_language_whatever_the_request_language():
    thai = i18n.translations("th").gettext("Patients")
    assert thai != "Patients"  # the catalog has it

    token = i18n.current_language.set("en")
    try:
        rendered = templating.ENVIRONMENTS["th"].from_string('{{ _("Patients") }}').render()
    finally:
        i18n.current_language.reset(token)

    assert rendered == thai


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_values_in_a_translated_text_are_escaped(language):
    template = templating.ENVIRONMENTS[language].from_string(
        '{{ _("%(n)s years", n=value) }}')

    rendered = template.render(value="<b>7</b>")

    assert "&lt;b&gt;7&lt;/b&gt;" in rendered and "<b>" not in rendered


def test_a_fields_extra_attributes_reach_the_browser_as_attributes():
    template = templating.ENVIRONMENTS["en"].from_string(
        '{% from "macros/forms.html" import field %}'
        '{{ field("minutes", "Length", "15", type="number", attrs={"min": 5, "step": 5,'
        ' "inputmode": "numeric", "autofocus": true}) }}')

    html = template.render(csrf_token="x")

    assert 'min="5"' in html and 'step="5"' in html and 'inputmode="numeric"' in html
    assert "&#34;" not in html and "&quot;" not in html  # never an escaped string of markup


def test_no_template_hands_a_field_its_attributes_as_a_string():
    env = templating.ENVIRONMENTS["en"]
    for name in env.list_templates(extensions=["html"]):
        source = env.loader.get_source(env, name)[0]
        assert "attrs='" not in source and 'attrs="' not in source, name
