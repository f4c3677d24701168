# The two set-up commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint bench clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/prm migrate
	$(BIN)/prm demo --if-empty --patients $${PRM_DEMO_PATIENTS:-5000}
	PORT=$(PORT) $(BIN)/prm serve --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check prm fhir_adapter tests bench
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -n 2 --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check prm fhir_adapter tests bench
	$(BIN)/lint-imports --no-logo

clean:
	rm -rf $(VENV) var .pytest_cache

# Refresh the translation catalogs after adding or changing marked strings.
# babel.cfg maps prm/**.py and templates/**.html; extraction from "." skips dot
# directories such as .venv. New strings arrive with an empty msgstr: translate them in
# prm/locale/th/LC_MESSAGES/messages.po. "#, fuzzy" entries are guesses and are NOT used
# until the translator checks them and removes the flag.
LOCALES := th en
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 \
		--project=PRM --version=$$($(BIN)/python -c 'import prm; print(prm.__version__)') \
		--add-comments=Translators: --sort-by-file \
		-o prm/locale/messages.pot .
	for lang in $(LOCALES); do \
		$(BIN)/pybabel update --init-missing -i prm/locale/messages.pot -d prm/locale -l $$lang || exit 1; \
	done
