# kgkit — the two commands a user needs:
#   make demo   set up .venv, ingest the bundled sample into the embedded store, print stats and a query
#   make test   set up .venv (with test, viz and notebook extras) and Debian's chromium, lint (ruff) and
#               type-check (mypy) kgkit/, start the project's Neo4j, run the whole test suite (notebooks
#               included; data tests skip without $KGKIT_DATA / ../shared)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
KGKIT  := $(BIN)/kgkit
DEMO   := .kgkit/demo
SAMPLE_QUERY := MATCH (p:Person)-[:BORN_IN]->(c:Place) RETURN p.name AS person, c.name AS birthplace ORDER BY person LIMIT 15

.PHONY: setup chromium demo test test-fast lint neo4j-start neo4j-stop bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	touch $@

# Headless Chromium for the notebook and view tests (tests/viz): Debian's package, never a downloaded build.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

demo: setup
	$(KGKIT) ingest data/sample --workdir $(DEMO)
	$(KGKIT) stats --workdir $(DEMO)
	$(KGKIT) query "$(SAMPLE_QUERY)" --workdir $(DEMO)

neo4j-start:
	bash scripts/neo4j/start.sh

neo4j-stop:
	bash scripts/neo4j/stop.sh

# ruff (lint) and mypy, configured in pyproject.toml. `ruff format --check` is not run yet (see pyproject.toml).
lint: setup
	$(BIN)/ruff check kgkit
	$(BIN)/mypy

# Neo4j tests never skip: the server is started first and stopped afterwards whatever the result.
test: setup chromium lint neo4j-start
	status=0; OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider || status=$$?; \
	bash scripts/neo4j/stop.sh; exit $$status

test-fast: setup chromium
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not neo4j and not slow"

clean:
	rm -rf .kgkit build *.egg-info screenshots
