# Two commands for a fresh machine with only Python 3.11+ (and `make demo` to see it work first):
#   make demo  - a virtualenv from requirements.txt, then the whole flow on the sample data (no accounts needed)
#   make run   - a virtualenv from requirements.txt, migrations, then Handoff on http://localhost:8000
#   make test  - a virtualenv with the dev requirements, then the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo run test check-config bench clean

$(BIN)/.installed-run: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(BIN)/.installed-run

demo: $(BIN)/.installed-run
	$(BIN)/python -m bot demo $(DEMO_ARGS)

run: $(BIN)/.installed-run
	$(BIN)/python -m bot migrate
	$(BIN)/python -m bot run

test: $(BIN)/.installed-dev
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

check-config: $(BIN)/.installed-run
	$(BIN)/python -m bot check-config

bench: $(BIN)/.installed-dev
	$(BIN)/python -m bench.speed_to_lead
	$(BIN)/python -m bench.bulk_import
	$(BIN)/python -m bench.sla_sweep
	$(BIN)/python -m bench.slack_ack
	$(BIN)/python -m bench.backtest_speed
	$(BIN)/python -m bench.report_speed

clean:
	rm -rf $(VENV) var .pytest_cache
