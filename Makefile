# Every target uses the project's own virtual environment in .venv, created on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: install run migrate demo test lint format messages clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

# The newcomer's command: install, migrate, load demo data and serve on http://127.0.0.1:$(PORT)/
# with the periodic jobs (SLA breaches) and a simulated PBX (calls to the demo agents, once the
# server answers) running beside the server; Ctrl-C stops all three.
run: demo
	@echo "Open http://127.0.0.1:$(PORT)/ and log in with a demo user from README.md."
	DJANGO_DEBUG=1 $(PY) manage.py embedded_beat & beat=$$!; \
	$(PY) manage.py simulate_pbx --url http://127.0.0.1:$(PORT) --rate 2 --speed 4 & sim=$$!; \
	trap 'kill $$beat $$sim 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The browser tests drive the system's Chromium (Debian's package); Playwright's own download
# is not used. As root with apt-get it is installed here; otherwise say how.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install -y chromium" \
			"(or set CHROMIUM=/path/to/chromium)"; exit 1; \
	fi

# The test command CI runs (on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set).
# Tasks run eagerly in tests: there is no worker, even when REDIS_URL names a real broker.
test: install $(CHROMIUM)
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	CELERY_TASK_ALWAYS_EAGER=1 CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Refresh locale/{ru,it}/LC_MESSAGES/django.po from the code and templates (needs GNU gettext),
# then compile them. Translate new entries and run it again; commit the .po and .mo files, so
# that a checkout without gettext still has every translation.
messages: install
	$(PY) manage.py makemessages -l ru -l it --no-obsolete --ignore=.venv --ignore=var --ignore=bench --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var

clean:
	rm -rf $(VENV) var/*.sqlite3*
