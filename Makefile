# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv (Python >= 3.12) when missing and install oncotwin with its test extras into it.

VENV    ?= .venv
PY      := $(VENV)/bin/python
MPIRUN  := $(VENV)/bin/mpirun
NP      ?= 2
CASE    ?= cases/mni152_demo.yaml

# First interpreter >= 3.12 found: PYTHON=..., then python3.1x on PATH, then pyenv installs.
PYTHON_CANDIDATES := $(PYTHON) python3.14 python3.13 python3.12 python3 \
	$(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) \
	$(wildcard /usr/local/bin/python3.1[2-9]) $(wildcard /usr/bin/python3.1[2-9])
BASE_PYTHON := $(shell for p in $(PYTHON_CANDIDATES); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)

.PHONY: demo test test-serial test-parallel install clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(BASE_PYTHON)" || { echo "make: no Python >= 3.12 found (set PYTHON=/path/to/python3.12)"; exit 1; }
	@test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(MPIRUN) -n $(NP) $(VENV)/bin/oncotwin run $(CASE) --force

test: test-serial test-parallel

test-serial: $(VENV)/.installed
	$(PY) -m pytest -q tests

test-parallel: $(VENV)/.installed
	$(MPIRUN) -n $(NP) $(PY) -m pytest -q -m mpi -p no:cacheprovider tests

clean:
	rm -rf $(VENV) results build src/*.egg-info
