# Two commands on a fresh machine:  `make demo` (set up + predict with the shipped model, offline)
# and `make test` (set up + the test suite). Everything else is optional.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test benchmark clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0   # CPU wheel first: an unpinned torch pulls a CUDA build
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/affectlab predict "I can't believe you did this!"

test: setup
	$(BIN)/python -m pytest -q

benchmark: setup
	$(BIN)/python benchmarks/text_features.py

clean:
	rm -rf $(VENV) runs .pytest_cache
