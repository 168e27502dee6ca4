# ThemeLoop: `make run` starts everything on SQLite; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# bench/scale.py's project size under `make bench` (CI time); the full 100,000 run is recorded in bench/README.md.
SCALE_SIZE ?= 5000

.PHONY: run test install lint typecheck bench clean

$(PY):
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) scripts/run_dev.py

test: install
	PYTHON=$(PY) bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy ml labeling_app

bench: install
	$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) bench/label_efficiency.py
	$(PY) bench/autocode.py
	$(PY) bench/sentiment.py
	$(PY) bench/waves.py
	$(PY) bench/embedding_throughput.py
	$(PY) bench/retrain_latency.py
	$(PY) bench/discovery_quality.py
	$(PY) bench/dashboard_latency.py
	$(PY) bench/projects_list_latency.py
	$(PY) bench/load.py
	$(PY) bench/scale.py --size $(SCALE_SIZE)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
