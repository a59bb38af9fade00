# One-line entry points; each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint demo mutation clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -c "import faceparse_mm, mmseg.models; print('faceparse_mm', faceparse_mm.__version__, 'installed')"
	touch $(STAMP)

# everything; CI runs this (after lint)
test: install
	$(PY) -m pytest -q tests

# the developer loop: leaves out the tests marked slow (whole tool processes, DDP, kill -9,
# the notebook)
test-fast: install
	$(PY) -m pytest -q -m "not slow" tests

lint: install
	$(PY) -m ruff check .

# train BiSeNetV1 on generated faces (CPU), evaluate, draw overlays under work_dirs/
demo: install
	$(PY) tools/demo.py

# mutation testing of the protocol code (datasets, evaluation, engine, utils/io, protocol, the
# converters), the inference API and the TDNet and Dynamic Routing modules against their unit
# tests; not run in CI (the protocol code alone took 14 min on 2 cores). Configured in setup.cfg
# [mutmut]; results are kept in mutants/ (a rerun only retests changed functions; rm -rf mutants
# for a fresh run). MUTANTS narrows the run to mutant names (globs), e.g.
#   make mutation MUTANTS='faceparse_mm.protocol.* faceparse_mm.utils.io.*'
# One thread per worker: 2 workers on 2 cores, and no OpenMP pool in the forking process.
MUTMUT_JOBS ?= 2
MUTANTS ?=
mutation: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children $(MUTMUT_JOBS) \
		$(foreach m,$(MUTANTS),'$(m)'); \
	status=$$?; $(PY) tools/mutation_report.py; exit $$status

clean:
	rm -rf $(VENV) build *.egg-info
