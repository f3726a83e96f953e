# One entry point for users and CI. Every target creates .venv and installs what it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= cpu
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install test book reproduce bench bench-quick gpu-carry clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[book,test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

# whole files to each worker: a module's fixtures (the book's smoke chapters) run once
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

book: $(STAMP)
	$(BIN)/jupyter-book build book/ --path-output .

# Rerun every chapter through papermill at PRESET, then rebuild the site
# (SEEDS=finished: the dropout chapters from the runs the study has finished so far, arm by arm).
reproduce: $(STAMP)
	$(BIN)/python -m danqrepro.replication.book_runner --preset $(PRESET) $(if $(SEEDS),--seeds $(SEEDS))
	$(BIN)/jupyter-book build book/ --path-output .

# The benchmarks add PyTorch (the `bench` extra) for the training benchmark's peer.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run_all.py

bench-quick: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run_all.py --quick

# What benchmarks/gpu/run.sh needs on a GPU machine without TensorFlow or network: the wheels
# Keras needs there (Python 3.12) and a small synthetic store (carry both; see the script).
gpu-carry: $(STAMP)
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
	  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
	  -d benchmarks/gpu/wheels keras==$$($(BIN)/python -c "import keras; print(keras.__version__)") \
	  optree==$$($(BIN)/python -c "import optree; print(optree.__version__)") namex
	test -d benchmarks/gpu/store || { d=$$(mktemp -d) && \
	  $(BIN)/danqrepro synth $$d/bundle --n-train 8000 --n-valid 2000 --n-test 2000 --seed 0 && \
	  $(BIN)/danqrepro convert $$d/bundle benchmarks/gpu/store && rm -r $$d; }

clean:
	rm -rf _build
