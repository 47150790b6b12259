# The two entry points of the README: `make demo` and `make test`. Each creates .venv by itself.
# torch==2.13.0 goes in first: it is a local CPU wheel here; an unpinned or newer torch would
# pull gigabytes of CUDA packages. The project's own torch requirement is satisfied by it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ECG    := $(VENV)/bin/ecgfeat
JOBS   ?= 2
# numpy / tsfresh are slower with many BLAS threads per worker: one thread, parallel records.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: demo test venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The main job on the embedded synthetic dataset, in this folder as the workspace.
demo: $(VENV)/.installed
	@test -f data/synthetic/synthetic.json || $(ECG) data synth data/synthetic --n 1800 --seed 0 --jobs $(JOBS)
	$(ECG) data info data/synthetic --jobs $(JOBS)
	$(ECG) extract --jobs $(JOBS)
	$(ECG) store ls
	$(ECG) train --model xgb --protocol paper --jobs $(JOBS)

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) data/synthetic
