# The Pluggable Rule Engine. `make run` serves it; `make test` runs the suite on SQLite,
# `make test-fast` the in-process part of it, `make test-postgres` the whole suite again on
# PostgreSQL, `make test-scale` replicas behind haproxy under load, `make lint` checks the
# code, the Dockerfile, the Kubernetes manifests and the docs, `make docs` serves the docs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` serves plain HTTP on the loopback, so HTTPS-only behaviour is off.
LOCAL_ENV := SECURE_SSL_REDIRECT=False SEED_DEMO_ORDERS=1
# mkdocs-material's notice about its end of life, printed on every build, stays out of the output.
DOCS_ENV := NO_MKDOCS_2_WARNING=1

.PHONY: run risk-service test test-fast test-postgres test-scale lint docs install install-dev superuser bench bench-bulk bench-layers bench-lines bench-partitions bench-decision-log bench-hostile bench-providers bench-cached-check chromium promtool redis nginx haproxy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# A local secret key, generated once; never committed (.gitignore).
.env:
	$(BIN)/python -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(50))" > $@

run: install .env
	$(LOCAL_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PATH="$(CURDIR)/$(BIN):$$PATH" $(LOCAL_ENV) bash scripts/release.sh
	$(LOCAL_ENV) $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT)

# The stand-in risk service (rules/risk_service.py) on http://127.0.0.1:8099/score, in the
# foreground: customer C-1042 scores 85, any other 20. Serve with it:
# RISK_SERVICE_URL=http://127.0.0.1:8099/score make run. RISK_SERVICE_ARGS="--latency-ms 50 ..."
RISK_SERVICE_ARGS ?= --score C-1042=85
risk-service: install .env
	$(BIN)/python manage.py risk_service $(RISK_SERVICE_ARGS)

superuser: install .env
	$(LOCAL_ENV) $(BIN)/python manage.py createsuperuser

chromium:
	bash scripts/ensure-chromium.sh

# promtool checks and unit-tests the alert rules of deploy/prometheus.
promtool:
	bash scripts/ensure-promtool.sh

# Debian's redis-server, for the tests that start throw-away ones (marker `redis`).
redis:
	bash scripts/ensure-redis.sh

# Debian's nginx, for the tests and benchmarks that run the proxied stack.
nginx:
	bash scripts/ensure-nginx.sh

# Debian's haproxy, for the scale tests (marker `scale`).
haproxy:
	bash scripts/ensure-haproxy.sh

# The suite on SQLite; tests marked `postgres` need PostgreSQL and are deselected, and so
# are the scale tests (`make test-scale`).
test: install-dev chromium promtool redis nginx
	$(BIN)/python -m pytest -m "not postgres and not scale" $(PYTEST_ARGS)

# The tests that need nothing beyond their own process: no browser, no live
# server or other processes, no benchmark scripts, no PostgreSQL, no Redis (markers in pytest.ini).
test-fast: install-dev
	$(BIN)/python -m pytest -m "not browser and not server and not bench and not postgres and not redis and not scale" $(PYTEST_ARGS)

# The whole suite again, PostgreSQL-only tests included, on a throw-away
# PostgreSQL 15 cluster that the script starts and removes; the scale tests apart.
test-postgres: install-dev chromium promtool redis nginx
	bash scripts/with-postgres.sh $(BIN)/python -m pytest -m "not scale and not sqlite" $(PYTEST_ARGS)

# Three replicas (nginx and two gunicorn pools each) behind haproxy, on a throw-away
# PostgreSQL 15 and Redis: a rolling restart under load, a key's limit across replicas.
test-scale: install-dev redis nginx haproxy
	bash scripts/with-postgres.sh $(BIN)/python -m pytest -m scale $(PYTEST_ARGS)

# The Kubernetes version whose schemas the manifests of deploy/kubernetes must pass.
KUBERNETES_VERSION := 1.31.0

# ruff, bandit (no medium or high findings), hadolint, all with no warnings; the
# Kubernetes manifests against the API's schemas, offline (kubernetes-validate ships them),
# no field the schemas do not know (--strict); and the docs site built with --strict (a
# broken link or a page missing from the nav fails).
# Not `mkdocs build --quiet`: it hides the warnings --strict counts (mkdocs issue 4126).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --recursive --severity-level medium --exclude "./.venv,*/tests/*" .
	$(BIN)/hadolint Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet --kubernetes-version $(KUBERNETES_VERSION) \
		deploy/kubernetes/*.yaml deploy/kubernetes/example/*.yaml
	$(DOCS_ENV) $(BIN)/mkdocs build --strict

# The documentation site (docs/, mkdocs.yml) on http://127.0.0.1:8001, rebuilt on every edit.
docs: install-dev
	$(DOCS_ENV) $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

# Benchmarks (not tests): each prints its figures as ratios measured in one run.
bench: install-dev
	$(BIN)/python bench/check_throughput.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/decision_filters.py

bench-bulk: install-dev
	$(BIN)/python bench/bulk.py

# A check's latency behind clients that try to hold the workers: bare gunicorn, then proxied.
bench-hostile: install-dev nginx
	$(BIN)/python bench/hostile_mix.py

# Not a ratio: where the time of one POST /rules/check/ goes, layer by layer (cProfile).
bench-layers: install-dev
	$(BIN)/python bench/layers.py

# A check of a stored 10-line order against a stored 1-line order, in process.
bench-lines: install-dev
	$(BIN)/python bench/lines.py

# PostgreSQL: purging 30 days of 10 M decisions, dropping partitions vs deleting rows.
bench-partitions: install-dev
	$(BIN)/python bench/partitions.py

# Not a ratio: what putting a check on the record costs, part by part, on each database.
bench-decision-log: install-dev
	$(BIN)/python bench/decision_log.py --database sqlite
	$(BIN)/python bench/decision_log.py --database postgresql

# Fact providers through gunicorn and stand-in services on the loopback: a cached provider, three
# at 50 ms, one that hangs, and checks without providers against the commit before them.
bench-providers: install-dev redis
	$(BIN)/python bench/providers.py

bench-cached-check: install-dev
	$(BIN)/python bench/cached_check.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .site
