# The one Makefile of the project: `sam build` calls its build-<LogicalId>
# targets, people and CI call the rest. `make help` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO        ?= go
BUILD_DIR := .build
# Every folder under functions/ with a main.go is a function.
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))

# How every Lambda binary is built, for sam build and for local runs alike.
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags '-s -w'

FN         ?= signup
EVENT      ?= events/signup-ok.json
FUZZTIME   ?= 2m
CONFIG_ENV ?= default

# --- sam build (BuildMethod: makefile) ------------------------------------
# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set; Lambda runs
# $(ARTIFACTS_DIR)/bootstrap on provided.al2023, arm64.

define lambda-build
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" ./functions/$(1)
endef

build-SignupFunction: ; $(call lambda-build,signup)
build-StatusFunction: ; $(call lambda-build,status)
build-PageFunction:   ; $(call lambda-build,page)
build-ResumeFunction: ; $(call lambda-build,resume)

# --- local ------------------------------------------------------------------

.PHONY: help deps build test fuzz run invoke deploy bench doctor clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

deps: ## install java, DynamoDB Local, aws-lambda-rie and chromium (idempotent)
	@infra/scripts/deps.sh all

build: ## build every function into .build/<fn>/bootstrap for this machine
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn; \
	  printf '  %-8s %s\n' $$fn "$$(du -h $(BUILD_DIR)/$$fn/bootstrap | cut -f1)"; \
	done

test: deps ## vet, all tests (race detector on), then a short fuzz run
	@echo "== go vet ./..."
	@$(GO) vet ./...
	@echo "== go test -race ./..."
	@$(GO) test -race -count=1 -timeout 20m ./...
	@echo "== fuzz (10s per target)"
	@infra/scripts/fuzz.sh 10s

fuzz: ## fuzz every Fuzz target for FUZZTIME (default 2m) each
	@infra/scripts/fuzz.sh $(FUZZTIME)

run: ## the local stack: API, page, DynamoDB Local and simulators
	$(GO) run ./infra/local

invoke: ## run one function's binary under aws-lambda-rie: FN=signup EVENT=events/signup-ok.json
	@infra/scripts/deps.sh java dynamodb rie >/dev/null
	@$(GO) run ./infra/invoke -fn $(FN) -event $(EVENT)

deploy: ## sam build && sam deploy (CONFIG_ENV=default|prod)
	sam build --config-env $(CONFIG_ENV)
	sam deploy --config-env $(CONFIG_ENV)

bench: ## load benchmarks against the local stack
	$(GO) run ./infra/bench

doctor: ## check a deployed or local stack end to end
	$(GO) run ./infra/doctor

clean: ## remove build output and test artifacts (keeps the .cache of tools)
	rm -rf $(BUILD_DIR) .aws-sam .artifacts
