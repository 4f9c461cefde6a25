# make test    system packages + virtualenv, lint, then the whole test suite (MariaDB mandatory)
# make lint    ruff only
# make run     the app on the demo database
# make demo    rebuild the demo database
# make bench   benchmarks

SHELL   := /bin/bash
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.requirements.stamp
DEMO_DB := data/demo.sqlite
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=

# Root runs apt-get directly; anyone else goes through sudo when there is one.
SUDO := $(shell [ "$$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && echo sudo; })
APT  := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: venv system-deps lint test run demo bench

venv: $(STAMP)

# Reinstall only when a requirements file changed.
$(STAMP): requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

system-deps:
	@missing=""; \
	command -v mariadbd >/dev/null 2>&1 || test -x /usr/sbin/mariadbd || missing="$$missing mariadb-server"; \
	test -x $(CHROMIUM) || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then echo "system-deps: mariadb-server and chromium already installed"; \
	else echo "system-deps: installing$$missing"; \
	  $(APT) update && $(APT) install -y$$missing; fi

test: system-deps venv lint
	MOR_REQUIRE_MARIADB=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# pyflakes, pycodestyle, import order and bugbear (pyproject.toml); also run by `make test`.
lint: venv
	$(VENV)/bin/ruff check .

$(DEMO_DB): | venv
	mkdir -p $(dir $@)
	$(PY) -m core demo

run: venv $(DEMO_DB)
	$(VENV)/bin/streamlit run app.py

demo: venv
	rm -f $(DEMO_DB)
	$(MAKE) $(DEMO_DB)

bench: venv
	$(PY) -m bench
	$(PY) -m bench.app_cache
	$(PY) -m bench.sync_speed
	$(PY) -m bench.large
	$(PY) -m bench --report-only
