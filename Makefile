# The two commands of the README: `make demo` (the main job on built-in sample data) and
# `make check` (the whole test suite, ruff and mypy included). Both set the machine up first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo check lint test bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# An editable install is not byte-compiled (pip compiles only what it copies): compile the
	# sources once, as an installed package is, so no command compiles them at every start.
	$(PY) -m compileall -q src
	touch $@

demo: setup
	$(PY) -m fellwatch demo

lint: setup
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/mypy

test: setup
	$(VENV)/bin/pytest -n 2

check: lint test

bench: setup
	$(PY) -m bench
