# Two entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The test suite talks to the real services of this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/proofboard
TEST_BROKER_URL   ?= redis://127.0.0.1:6379/15

.PHONY: install test demo bench

# The checkout installed into the venv (editable, with the platform, demo and test extras):
# `zkml`, `proofboard-prover`, `python -m zkml` then work from any folder. pip builds the
# compiled kernels (setup.py); `python -m zkml.native build` checks that they load.
$(VENV)/.installed: pyproject.toml setup.py requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m zkml.native build
	touch $@

# The compiled kernels (zkml/native: Fr vectors, G1 MSM): rebuilt whenever a source changes.
zkml/native/_fr.so: zkml/native/fr.c zkml/native/g1.c zkml/native/limbs.h | $(VENV)/.installed
	$(PY) -m zkml.native build

install: $(VENV)/.installed zkml/native/_fr.so

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	$(PY) -m pytest -q --durations=15 $(PYTEST_ARGS)

PORT ?= 8000
demo: install
	$(PY) scripts/demo.py --port $(PORT)

bench: install
	$(PY) bench/bench_zkml.py
