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

# One MPI job per test package: MPICH allows 2048 communicators per process, and the whole suite in one
# job runs out of them (every mesh and solver duplicates its communicator). Exit code 5: none collected.
# The packages in MPI_PER_FILE run one job per file: their calibrations build many meshes and solvers;
# tests/calibration in one job died with exit 15 in its 8th test once the multilevel test came in (each
# file alone passes), which looks like the same exhaustion (not confirmed).
MPI_PER_FILE := tests/calibration/
test-parallel: $(VENV)/.installed
	@for t in $$(for d in tests/*/ tests/test_*.py; do \
		case " $(MPI_PER_FILE) " in *" $$d "*) ls $$d*.py | grep '/test_' ;; *) echo $$d ;; esac; done); do \
		$(MPIRUN) -n $(NP) $(PY) -m pytest -q -m mpi -p no:cacheprovider $$t; rc=$$?; \
		if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then echo "make: MPI tests failed in $$t"; exit $$rc; fi; \
	done

clean:
	rm -rf $(VENV) results build src/*.egg-info
