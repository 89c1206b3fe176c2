# Two commands: `make demo` and `make test` (plus `make bench`). Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: demo test test-sqlite test-pg bench setup translations lint clean

setup: $(STAMP) translations

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d core/translations

demo: setup
	GGZY_ENV=demo $(VENV)/bin/ggzy demo --port $(PORT)

# The suite on SQLite, then again on PostgreSQL when GGZY_TEST_DATABASE_URL is set (.ci/run sets it).
# Browser tests run once: on PostgreSQL when it follows (the production database), else on SQLite.
test: setup
	PYTEST_ADDOPTS="$${GGZY_TEST_DATABASE_URL:+-m 'not browser'}" GGZY_TEST_DATABASE_URL= GGZY_TEST_REQUIRE="$$(echo "$$GGZY_TEST_REQUIRE" | sed -E 's/(^|,)pg(,|$$)/\1/')" \
		$(PY) -m pytest -q -p no:cacheprovider
	@if [ -n "$$GGZY_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL =="; \
		$(PY) -m pytest -q -p no:cacheprovider -m "not nodb or browser"; \
	fi

bench: setup
	$(PY) bench/run.py $(ONLY)

# One checker a line: ruff (style, bugs), import-linter (the layers, pyproject.toml), deptry (pyproject.toml
# declares what the code imports).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/deptry .

clean:
	rm -rf $(VENV) instance .pytest_cache tests/artifacts
