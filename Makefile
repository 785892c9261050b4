# Two commands on a fresh machine:
#   make demo   -- create .venv, install kamopt, solve the bundled sample policy into out/demo
#   make test   -- create .venv, install kamopt with test extras (and Chromium, for the report's
#                  browser tests, with apt-get when missing), run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m compileall -q src  # bytecode now, as pip does for installed wheels
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kamopt solve policies/default.yaml --out out/demo --force

# The report's browser tests drive headless Chromium (Debian's chromium package).
test: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) out build src/*.egg-info .pytest_cache .hypothesis
