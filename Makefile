# One-line entry points; each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint demo clean

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

clean:
	rm -rf $(VENV) build *.egg-info
