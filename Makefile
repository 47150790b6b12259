# The two entry points of the README: `make demo` and `make test`. Each creates .venv by itself.
# torch==2.13.0 goes in first, the CPU build: from PyTorch's CPU index where it can be reached, else
# from the default index (where a machine may hold a local CPU wheel); an unpinned or newer torch
# would pull gigabytes of CUDA packages. The project's own torch requirement is satisfied by it.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ECG    := $(VENV)/bin/ecgfeat
JOBS   ?= 2
# The demo's cnn: 6 epochs (~5.5 min on 2 cores) keep the whole demo under 10 min; the cpu
# preset's own budget (up to 30 epochs, early stopping) reaches macro F1 >= 0.95 at 10 (docs/cnn.md).
CNN_EPOCHS ?= 6
# numpy / tsfresh are slower with many BLAS threads per worker: one thread, parallel records.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: demo test venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0 --index-url $(TORCH_CPU_INDEX) --timeout 10 --retries 1 \
	  || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all,test]'
	touch $@

# The main job on the embedded synthetic dataset, in this folder as the workspace.
demo: $(VENV)/.installed
	@test -f data/synthetic/synthetic.json || $(ECG) data synth data/synthetic --n 1800 --seed 0 --jobs $(JOBS)
	$(ECG) data info data/synthetic --jobs $(JOBS)
	$(ECG) extract --jobs $(JOBS)
	$(ECG) store ls
	$(ECG) train --model xgb --protocol paper --jobs $(JOBS)
	$(ECG) train --model cnn --protocol paper --epochs $(CNN_EPOCHS) --jobs $(JOBS)
	$(ECG) explain --model xgb-synthetic-cpsc9-paper-all
	$(ECG) compare
	@echo "report: $(CURDIR)/reports/compare.html"

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) data/synthetic
