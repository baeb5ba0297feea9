# rollbook: `make demo` and `make test` do all set-up, idempotently.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
EXPORTER_VENV ?= .venv-pgbouncer-exporter
AIRFLOW_VENV ?= .venv-airflow
PYTHON ?= python3
LAB_DIR ?= .lab
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup system venv kernel demo test lint typecheck lab-up lab-down lab-status jupyter clean-lab

setup: system venv kernel

system:
	@bash scripts/install-system-packages.sh

# The virtualenv is rebuilt only when the dependency pins change.
venv: $(VENV)/.installed $(EXPORTER_VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# PgBouncer exporter (PyPI prometheus-pgbouncer-exporter 2.1.2) pins old deps: own venv.
$(EXPORTER_VENV)/.installed: scripts/exporter-requirements.txt
	@test -x $(EXPORTER_VENV)/bin/python || $(PYTHON) -m venv $(EXPORTER_VENV)
	$(EXPORTER_VENV)/bin/pip install -q --disable-pip-version-check -r scripts/exporter-requirements.txt
	$(EXPORTER_VENV)/bin/pip install -q --disable-pip-version-check --no-deps prometheus-pgbouncer-exporter==2.1.2
	@touch $@

# Apache Airflow, only for the test of deploy/airflow (not a rollbook dependency): its own
# venv, every package pinned (about 30 s, 280 MB). make test installs it; nothing else does.
$(AIRFLOW_VENV)/.installed: scripts/airflow-constraints.txt
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install -q --disable-pip-version-check -c scripts/airflow-constraints.txt apache-airflow
	@touch $@

kernel: venv
	@test -f $(VENV)/share/jupyter/kernels/rollbook/kernel.json || \
	  $(PY) -m ipykernel install --sys-prefix --name rollbook --display-name "rollbook (Python 3)"

demo: setup
	$(VENV)/bin/rollbook demo --dir $(LAB_DIR)

test: setup $(AIRFLOW_VENV)/.installed
	$(VENV)/bin/ruff check conftest.py lib tests bench notebooks
	$(VENV)/bin/ruff format --check conftest.py lib tests bench notebooks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -ra

# mypy over lib/ as configured in pyproject.toml; its cache (.mypy_cache/) makes reruns fast.
typecheck: venv
	$(VENV)/bin/mypy

lint: venv
	$(VENV)/bin/ruff check --fix conftest.py lib tests bench notebooks
	$(VENV)/bin/ruff format conftest.py lib tests bench notebooks

lab-up: setup
	$(VENV)/bin/rollbook lab up --dir $(LAB_DIR)

lab-down: venv
	$(VENV)/bin/rollbook lab down --dir $(LAB_DIR)

lab-status: venv
	$(VENV)/bin/rollbook lab status --dir $(LAB_DIR)

jupyter: setup lab-up
	$(VENV)/bin/jupyter lab notebooks/
