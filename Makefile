# ironmage: common commands. `make` (or `make help`) lists them.
# The demo targets talk to a running stack (`make up` in another terminal); point them
# elsewhere with e.g. `make demo WEB=http://127.0.0.1:16789 PREDICT=http://127.0.0.1:15000`.

WEB ?= http://localhost:6789
PREDICT ?= http://localhost:5000

# Pretty-print JSON with jq when it is installed, else print it as is.
JSON := $(if $(shell command -v jq 2>/dev/null),jq .,cat && echo)
CURL := curl -sS

CUSTOMER := {"account_age": 24, "monthly_charges": 65.5, "total_charges": 1569.5, "num_services": 3, "customer_service_calls": 4, "contract_length": 12, "payment_method_score": 0.8, "usage_frequency": 0.7, "support_tickets": 2, "satisfaction_score": 0.6}

.DEFAULT_GOAL := help
.PHONY: help build up demo health list-pipelines show-models show-latest-model test-predict test fmt lint

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

lint: ## Clippy on every crate and target, warnings as errors
	cargo clippy --workspace --all-targets -- -D warnings
