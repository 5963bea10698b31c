# ironmage: common commands. `make` (or `make help`) lists them.
# The demo targets talk to a running stack (`make up` in another terminal, `make setup` for
# Docker Compose, or `make local-cluster`); point them elsewhere with e.g.
# `make demo WEB=http://127.0.0.1:16789 PREDICT=http://127.0.0.1:15000`.

WEB ?= http://localhost:6789
PREDICT ?= http://localhost:5000

# Pretty-print JSON with jq when it is installed, else print it as is.
JSON := $(if $(shell command -v jq 2>/dev/null),jq .,cat && echo)
CURL := curl -sS

CUSTOMER := {"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3, "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8, "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}

# Docker Compose (docker-compose.yml): the production topology in containers.
COMPOSE ?= docker compose

# `make local-cluster`: the production topology as local processes, one per role, on the
# PostgreSQL and Redis of this machine. The database is created if missing.
DATABASE_URL ?= postgres://$(shell id -un)@127.0.0.1:5432/ironmage
REDIS_URL ?= redis://127.0.0.1:6379/0
CLUSTER_DIR := .ironmage/cluster
CLUSTER_ROLES := web scheduler executor-1 executor-2 prediction
IRONMAGE_BIN := target/release/ironmage

.DEFAULT_GOAL := help
.PHONY: help build up demo trigger-demo health list-pipelines show-models show-latest-model \
	test-predict test fmt lint setup down logs logs-web logs-scheduler logs-executor \
	logs-prediction local-cluster local-cluster-down

help: ## List the targets
	@echo "usage: make <target> [WEB=$(WEB)] [PREDICT=$(PREDICT)]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build the release binary (target/release/ironmage)
	cargo build --release

up: ## Start every role in one process, create the demo project and run demo_mlops once
	cargo run --release -- up --demo

demo: health show-models test-predict ## Against a running stack: health, models, a prediction, lineage
	@echo "== lineage of the served version ($(PREDICT)/lineage)"
	@$(CURL) $(PREDICT)/lineage | $(JSON)

trigger-demo: ## Run demo_mlops once through the web API (answers 202 with the run id)
	@$(CURL) -X POST $(WEB)/api/pipelines/demo_mlops/runs -H 'Content-Type: application/json' -d '{}' | $(JSON)

health: ## Health of the web role and of the prediction service
	@echo "== web ($(WEB)/api/health)"
	@$(CURL) $(WEB)/api/health | $(JSON)
	@echo "== prediction ($(PREDICT)/health)"
	@$(CURL) $(PREDICT)/health | $(JSON)

list-pipelines: ## Pipelines of the project, with their blocks and variables
	@$(CURL) $(WEB)/api/pipelines | $(JSON)

show-models: ## Registered models and their versions, stages and metrics
	@echo "== models ($(WEB)/api/models)"
	@$(CURL) $(WEB)/api/models | $(JSON)

show-latest-model: ## The version being served (the Production one), with metrics and lineage
	@$(CURL) $(PREDICT)/model-info | $(JSON)

test-predict: ## One prediction with the Mage demo's customer
	@echo "== prediction ($(PREDICT)/predict)"
	@$(CURL) -X POST $(PREDICT)/predict -H 'Content-Type: application/json' -d '$(CUSTOMER)' | $(JSON)

test: ## The whole test suite (formatting, lints, tests, docs, dashboard in a browser)
	bash scripts/test.sh

fmt: ## Format the code
	cargo fmt --all

lint: ## Clippy on every crate and target, warnings as errors; no import cycle between files
	cargo clippy --workspace --all-targets -- -D warnings
	python3 scripts/import-cycles.py --self-test
	python3 scripts/import-cycles.py

# ---- production topology in Docker Compose -------------------------------------------------

setup: ## Build the image and start PostgreSQL, Redis and every role (docker compose up -d --build)
	$(COMPOSE) up -d --build
	@echo "dashboard: $(WEB)/   then: make trigger-demo, make demo"

down: ## Stop and remove the Compose services (volumes are kept; add -v by hand to drop them)
	$(COMPOSE) down

logs: ## Follow the logs of every Compose service
	$(COMPOSE) logs -f

logs-web: ## Follow the web role's logs
	$(COMPOSE) logs -f web

logs-scheduler: ## Follow the scheduler's logs
	$(COMPOSE) logs -f scheduler

logs-executor: ## Follow the executors' logs
	$(COMPOSE) logs -f executor

logs-prediction: ## Follow the prediction service's logs
	$(COMPOSE) logs -f prediction

# ---- production topology as local processes ------------------------------------------------

# $(call start-role,NAME,ARGS...): start `ironmage ARGS` in the background, log and pid file
# under $(CLUSTER_DIR). local-cluster-down only signals a pid whose process is still `ironmage`.
define start-role
	@env DATABASE_URL='$(DATABASE_URL)' REDIS_URL='$(REDIS_URL)' \
	  IRONMAGE_PROJECT_DIR=project IRONMAGE_ARTIFACT_DIR=$(CLUSTER_DIR)/artifacts \
	  IRONMAGE_DATA_DIR=$(CLUSTER_DIR)/data NO_COLOR=1 \
	  nohup $(IRONMAGE_BIN) $(2) > $(CLUSTER_DIR)/$(1).log 2>&1 < /dev/null & \
	  echo $$! > $(CLUSTER_DIR)/$(1).pid; echo "started $(1) (pid $$!): ironmage $(2)"
endef

local-cluster: ## Start web, scheduler, two executors and prediction as local processes on local PostgreSQL + Redis
	cargo build --release --locked --bin ironmage
	@mkdir -p $(CLUSTER_DIR)
	@for role in $(CLUSTER_ROLES); do \
	  if [ -f $(CLUSTER_DIR)/$$role.pid ] && [ "$$(ps -p $$(cat $(CLUSTER_DIR)/$$role.pid) -o comm= 2>/dev/null)" = ironmage ]; then \
	    echo "$$role is already running (pid $$(cat $(CLUSTER_DIR)/$$role.pid)): make local-cluster-down first"; exit 1; \
	  fi; \
	done
	@redis-cli -u '$(REDIS_URL)' ping >/dev/null || { echo "Redis does not answer at $(REDIS_URL)"; exit 1; }
	@url='$(DATABASE_URL)'; db=$${url##*/}; db=$${db%%\?*}; \
	  if ! psql "$$url" -qtAc 'SELECT 1' >/dev/null 2>&1; then \
	    echo "creating database $$db"; createdb --maintenance-db="$${url%/*}/postgres" "$$db" || exit 1; \
	  fi
	$(call start-role,web,web --web-addr 0.0.0.0:6789)
	$(call start-role,scheduler,scheduler --scheduler-health-addr 0.0.0.0:6790)
	$(call start-role,executor-1,executor --executor-health-addr 0.0.0.0:6791)
	$(call start-role,executor-2,executor --executor-health-addr 0.0.0.0:6792)
	$(call start-role,prediction,predict --predict-addr 0.0.0.0:5000)
	@for check in web=http://127.0.0.1:6789/api/health scheduler=http://127.0.0.1:6790/health \
	    executor-1=http://127.0.0.1:6791/health executor-2=http://127.0.0.1:6792/health \
	    prediction=http://127.0.0.1:5000/health; do \
	  role=$${check%%=*}; url=$${check#*=}; n=0; \
	  until curl -fsS "$$url" >/dev/null 2>&1; do \
	    n=$$((n+1)); \
	    if [ $$n -gt 60 ] || ! kill -0 $$(cat $(CLUSTER_DIR)/$$role.pid) 2>/dev/null; then \
	      echo "$$role did not come up (make local-cluster-down stops the others); last lines of $(CLUSTER_DIR)/$$role.log:"; \
	      tail -n 20 $(CLUSTER_DIR)/$$role.log; exit 1; \
	    fi; sleep 0.5; \
	  done; echo "$$role healthy: $$url"; \
	done
	@echo "logs and pids in $(CLUSTER_DIR)/; try: make trigger-demo, then make demo; stop: make local-cluster-down"

local-cluster-down: ## Stop the processes started by local-cluster (SIGTERM, then wait for them)
	@for role in $(CLUSTER_ROLES); do \
	  f=$(CLUSTER_DIR)/$$role.pid; [ -f $$f ] || continue; pid=$$(cat $$f); \
	  if [ "$$(ps -p $$pid -o comm= 2>/dev/null)" = ironmage ]; then \
	    kill -TERM $$pid; n=0; \
	    while kill -0 $$pid 2>/dev/null && [ $$n -lt 120 ]; do sleep 0.5; n=$$((n+1)); done; \
	    if kill -0 $$pid 2>/dev/null; then echo "$$role (pid $$pid) is still finishing; it was sent SIGTERM"; \
	    else echo "stopped $$role (pid $$pid)"; fi; \
	  fi; \
	  kill -0 $$pid 2>/dev/null || rm -f $$f; \
	done
