# FeeDesk — two commands: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# One test process per core, at most 4: PostgreSQL's concurrency tests open up to 50 connections
# each, and its default limit is 100. PYTEST_PARALLEL= runs them in one process.
PYTEST_PARALLEL ?= -n auto --maxprocesses 4
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: install demo serve test lint typecheck test-sqlite test-postgres messages bench bench-api bench-portal clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "FeeDesk needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

install: $(VENV)/.installed

# The demo database is SQLite (db.sqlite3) unless DATABASE_URL says otherwise; loading is skipped when done.
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --url http://$(DEMO_ADDR)
	$(PY) manage.py runserver $(DEMO_ADDR)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

test-sqlite: install
	DATABASE_URL= $(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# PostgreSQL runs whenever DATABASE_URL is set or 127.0.0.1:5432 answers; CI insists on it.
test-postgres: install
	@url="$${DATABASE_URL:-}"; \
	if [ -z "$$url" ] && $(PY) -m feedesk.core.pgprobe 127.0.0.1 5432; then url="$(PG_URL)"; fi; \
	if [ -n "$$url" ]; then \
		echo "== pytest on PostgreSQL"; DATABASE_URL="$$url" $(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS); \
	elif [ -n "$${FEEDESK_REQUIRE_POSTGRES:-}" ]; then \
		echo "PostgreSQL is required here but 127.0.0.1:5432 did not answer"; exit 1; \
	else echo "== PostgreSQL not reachable: the PostgreSQL pass is skipped"; fi

test: lint typecheck
	@echo "== pytest on SQLite"
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

messages: install
	cd feedesk && ../$(PY) ../manage.py makemessages -l zh_Hans --no-obsolete && ../$(PY) ../manage.py compilemessages

bench: install
	$(PY) bench/post_payments.py

# The JSON API under load: gunicorn on PostgreSQL driven by wrk (apt-get install -y wrk).
bench-api: install
	$(PY) bench/api_load.py

# The parent portal under load: 200 guardians sign in, fill a cart, check out and pay.
bench-portal: install
	$(PY) bench/portal_load.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
