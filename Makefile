# The two set-up commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint bench clean

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
	$(BIN)/pytest -n 2 --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check prm fhir_adapter tests bench

clean:
	rm -rf $(VENV) var .pytest_cache
