# CivicGrid: `make demo` to try it, `make test` to check it, `make bench` to measure it.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_SCALE ?= 0.05
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo demo-data serve test test-sqlite test-postgres lint bench messages clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium for the browser tests (Playwright's own download cannot work offline).
/usr/bin/chromium:
	@if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; \
	fi

locale/zh_Hans/LC_MESSAGES/django.mo: locale/zh_Hans/LC_MESSAGES/django.po
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules >/dev/null

setup: $(VENV)/.installed node_modules/.installed locale/zh_Hans/LC_MESSAGES/django.mo

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=var --no-obsolete
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules

# The category classifier of the demo learns from the real message board (../shared/data).
BOARD ?= ../shared/data/gov_messages

demo-data: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --scale $(DEMO_SCALE)
	$(PY) manage.py refresh_rollups --full
	$(PY) manage.py publish_scorecard --subject unit
	$(PY) manage.py classifier train --unless-active --activate --cv-folds 3 \
		--csv $(BOARD)/labelled_train.csv \
		--unlabelled $(BOARD)/attachment3_messages_with_votes_4326.csv \
		--unlabelled $(BOARD)/attachment4_messages_with_replies_2816.csv

# The demo runs the background work a real installation runs from its process manager: the
# deadline sweeper, the notification sender and the rollup refresher; stopping the server
# (Ctrl-C) stops them too.
demo: demo-data
	@$(PY) manage.py demo_logins
	@trap 'kill 0' EXIT; \
	$(PY) manage.py sweep_deadlines --loop --interval 60 & \
	$(PY) manage.py send_notifications --loop --interval 30 & \
	$(PY) manage.py refresh_rollups --loop 30 & \
	CIVICGRID_DEBUG=1 CIVICGRID_WARM_UP=1 $(PY) manage.py runserver 127.0.0.1:8000

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup /usr/bin/chromium lint test-sqlite test-postgres

test-sqlite: setup
	@echo "== test suite on SQLite =="
	CIVICGRID_DATABASE_URL= $(VENV)/bin/pytest -q -n 2

test-postgres: setup
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== test suite on PostgreSQL ($(PG_URL)) =="; \
		CIVICGRID_DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest -q -n 2 -m "not browser"; \
	else \
		echo "PostgreSQL is not reachable at $(PG_URL): the PostgreSQL run is SKIPPED."; \
		if [ -n "$$CI" ]; then echo "CI is set: failing."; exit 1; fi; \
	fi

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules var
