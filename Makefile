# reelhouse: `make run` and `make test` each create or update .venv themselves.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint ui bench clean

venv: $(STAMP)

# Re-installs only when the project's dependency list changes.
$(STAMP): pyproject.toml .ci/constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c .ci/constraints.txt -e '.[dev]'
	# aisfx (pretrained sound embeddings) pins numpy 1.23 and librosa 0.9 in its metadata but needs
	# neither at run time: install it without its pins. `pip check` will list them; that is expected.
	$(BIN)/python -m pip install -q --no-deps aisfx==0.1.2
	# facenet-pytorch ships the MTCNN face detector's weights (the regions feature); its metadata pins
	# torch 2.2, torchvision 0.17, numpy < 2 and Pillow 10.2, none of which MTCNN needs: install it without its pins.
	$(BIN)/python -m pip install -q --no-deps facenet-pytorch==2.6.0
	@touch $@

run: $(STAMP)
	$(BIN)/reelhouse run

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Static checks (.ci/run runs them too): ruff, mypy on the core packages ([tool.mypy] files), and the
# layer contracts in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every benchmark, one at a time; writes benchmarks/RESULTS.md (`python -m benchmarks.run NAME` for one).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

ui: $(STAMP)
	$(BIN)/reelhouse ui

clean:
	rm -rf .reelhouse
