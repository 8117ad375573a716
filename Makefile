# FinHub developer commands. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := static/vendor/.installed

.DEFAULT_GOAL := help
.PHONY: help system-deps install run test schemathesis lint imports typecheck format migrate demo worker beat web sandbox check-deploy clean lock bench-ingest bench-metrics bench-dashboards bench-retention bench-forecast bench-alerts bench-reports bench-freshness fault-test load-test bench-periods

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js
	touch $@

# WeasyPrint (report PDFs) needs Pango and HarfBuzz, and the PDFs use DejaVu fonts: Debian
# packages, installed only when missing (so a machine that has them needs no root).
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

system-deps: ## Install the Debian libraries the report PDFs need, when missing (apt-get)
	@if dpkg-query -W -f='$${Status}\n' $(PDF_PACKAGES) 2>/dev/null | grep -qv '^install ok installed$$' \
	    || ! dpkg-query -W $(PDF_PACKAGES) >/dev/null 2>&1; then \
	  echo "Installing $(PDF_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; \
	fi

install: system-deps $(INSTALLED) $(ASSETS) ## Create the virtualenv and install Python and front-end dependencies

migrate: install ## Apply database migrations
	$(BIN)/python manage.py migrate --noinput

demo: migrate ## Load the demo data and logins (idempotent)
	$(BIN)/python manage.py load_demo

run: demo ## Run FinHub with demo data: web + worker + beat + sandbox sources at http://127.0.0.1:8000 (Ctrl-C stops all)
	@echo "FinHub: http://127.0.0.1:$${FINHUB_PORT:-8000}/ (log in with a demo login above)"
	$(BIN)/honcho start

test: install ## Lint, check the import contracts and the types, run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

schemathesis: install ## Fuzz every API operation from /api/schema/ (also part of make test)
	$(BIN)/pytest tests/api/test_schemathesis.py

lint: install ## Lint only (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

imports: install ## Check the import contracts between the apps (lint-imports; pyproject.toml)
	$(BIN)/lint-imports

typecheck: install ## Type-check (mypy; strict on metrics/computations, records/ingestion, finhub/core)
	$(BIN)/mypy

format: install ## Fix lint and formatting in place
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

web: install ## Run only the web server
	$(BIN)/python manage.py runserver 127.0.0.1:$${FINHUB_PORT:-8000}

# REMAP_SIGTERM=SIGQUIT: SIGTERM stops the worker within its grace period, returning unfinished
# tasks to their queue (docs/operations.md, "Stopping a worker").
worker: install ## Run only a Celery worker: every queue, or QUEUES=sync,metrics (a production pool)
	REMAP_SIGTERM=SIGQUIT $(BIN)/celery -A finhub worker --loglevel=INFO $(if $(QUEUES),--queues $(QUEUES))

beat: install ## Run only Celery beat (schedules from the database)
	$(BIN)/celery -A finhub beat --loglevel=INFO --schedule=var/celerybeat-schedule

sandbox: install ## Run only the sandbox source systems the demo connectors read (port 8765)
	$(BIN)/python -m connectors.sandbox --host 127.0.0.1 --port $${FINHUB_SANDBOX_PORT:-8765}

bench-ingest: migrate ## Ledger lines/s through the HTTP ingest API vs a raw COPY (ROWS=200000; PostgreSQL)
	$(BIN)/python manage.py bench_ingest --rows $${ROWS:-200000}

bench-metrics: migrate ## 7 attribution models x 2 levels over the whole generated history vs a raw COPY (ratio <= 3), per model, channelattribution (SCALE=1 ROUNDS=3)
	$(BIN)/python manage.py bench_metrics --scale $${SCALE:-1} --rounds $${ROUNDS:-3} --install-channelattribution

bench-periods: migrate ## Every dashboard for custom periods without a stored snapshot: p50/p95 (<= 500 ms, marketing <= 2 s; SCALE=1 REQUESTS=20; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py bench_periods --scale $${SCALE:-1} --requests $${REQUESTS:-20}

bench-dashboards: migrate ## p50/p95 server time + queries of every dashboard at 1M GL lines/touchpoints (SCALE=1; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py bench_dashboards --scale $${SCALE:-1} --requests $${REQUESTS:-30}

bench-retention: migrate ## Retention + product ROI pages p95/queries and report recompute: 10k customers x 36 months, 200 initiatives (SCALE=1; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py bench_retention --scale $${SCALE:-1} --requests $${REQUESTS:-30}

bench-forecast: migrate ## Forecast + backtest of 500 series x 36 months (<= 60 s) and forecast page/API p95 (SCALE=1 PROCESSES=2; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py bench_forecast --scale $${SCALE:-1} --requests $${REQUESTS:-30} --processes $${PROCESSES:-2}

bench-alerts: migrate ## One beat tick evaluating 1,000 alert rule instances (<= 5 s; SCALE=1 TICKS=5; PostgreSQL)
	$(BIN)/python manage.py bench_alerts --scale $${SCALE:-1} --ticks $${TICKS:-5}

bench-reports: migrate ## Build + render the 10-report pack to PDF and XLSX at 1M GL lines/touchpoints (<= 20 s; SCALE=1; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py bench_reports --scale $${SCALE:-1}

bench-freshness: migrate ## Seconds from a push of 100 GL lines to the executive page showing them (<= 10 s; SCALE=1; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py bench_freshness --scale $${SCALE:-1}

load-test: migrate ## Locust mixed traffic vs gunicorn at 1M GL lines/touchpoints; fails on >0.1% errors or a p95 over target (USERS=20 DURATION=120 SCALE=1 NO_WARM=1 skips the recompute; PostgreSQL)
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py load_test --scale $${SCALE:-1} --users $${USERS:-20} --duration $${DURATION:-120} $${NO_WARM:+--no-warm}

fault-test: install ## Faults against private PostgreSQL + Redis + workers: kill -9, restarts, races, clock skew, chaos (FAULT_MINUTES=3)
	$(BIN)/python -m benchmarks.faults.run --chaos-minutes $${FAULT_MINUTES:-3}

check-deploy: install ## Django's deployment checks with production settings
	DJANGO_ENV=production SECRET_KEY=$${SECRET_KEY:-$$(python3 -c 'import secrets;print(secrets.token_urlsafe(50))')} ALLOWED_HOSTS=$${ALLOWED_HOSTS:-example.com} FINHUB_ENCRYPTION_KEY=$${FINHUB_ENCRYPTION_KEY:-$$($(BIN)/python -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())')} $(BIN)/python manage.py check --deploy --fail-level WARNING

clean: ## Remove the virtualenv, installed assets and local data (var/)
	rm -rf $(VENV) node_modules static/vendor var

lock: $(BIN)/python ## Re-pin constraints.txt from a fresh resolve of pyproject.toml
	rm -rf var/lock-venv && $(PYTHON) -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet -e ".[dev]"
	(echo "# Pinned versions for reproducible installs: pip install -c constraints.txt -e '.[dev]'"; \
	 echo "# Regenerate after changing pyproject.toml: make lock"; \
	 var/lock-venv/bin/pip freeze --exclude-editable) > constraints.txt
	rm -rf var/lock-venv
