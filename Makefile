# Two commands on a fresh machine:  `make demo` (portal on 127.0.0.1:5000; `make demo PORT=5102`)  and  `make test`.
PY ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# System packages the tests use: PostgreSQL, Redis, Chromium (headless portal tests), poppler (pdfsig).
system:
	@bash scripts/system-packages.sh

demo: $(STAMP)
	$(BIN)/saas demo run --port $(PORT)

test: $(STAMP) system
	SAAS_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider
	SAAS_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider

# Every benchmark, one after the other (the 1M-subject sweep alone takes a few minutes).
bench: $(STAMP) system
	$(BIN)/python -m bench
	$(BIN)/python -m bench seal
	$(BIN)/python -m bench signing
	$(BIN)/python -m bench sweep
