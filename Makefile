# The README's commands. Everything runs from a project-local virtualenv (.venv) that these
# targets create, so a fresh machine needs only Python 3.11+ and access to PyPI.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: demo test lint bench clean

demo: $(VENV)/.installed
	$(BIN)/asp-telemetry demo

# PYTEST_ARGS: e.g. -m spark (the Spark suite alone) or -m 'not spark'.
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# ruff (pyproject.toml) and sqlfluff (.sqlfluff). sqlfluff's dbt templater compiles the models
# as dbt does, which needs a database: the one every command uses (`asp-telemetry env`; the
# embedded server by default), which is only read and need not be upgraded (profiles.yml, `lint`).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	eval "$$($(BIN)/asp-telemetry env)" && $(BIN)/sqlfluff lint models tests/dbt

# BENCH_TASKS (default 100000) and BENCH_REPEATS (default 3) size the run; then the collector's
# (BENCH_COLLECTOR_SECONDS, default 60), whose client is the OpenTelemetry exporter (a dev extra).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench
	$(BIN)/python -m bench.collector

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("asp-telemetry needs Python 3.11 or newer, found " + sys.version.split()[0] + ": run make PYTHON=python3.11 ...") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[platform]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) target logs
