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
