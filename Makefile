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

FN         ?=
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

build-SignupFunction:    ; $(call lambda-build,signup)
build-StatusFunction:    ; $(call lambda-build,status)
build-PageFunction:      ; $(call lambda-build,page)
build-ResumeFunction:    ; $(call lambda-build,resume)
build-SessionsFunction:  ; $(call lambda-build,sessions)
build-CallbacksFunction: ; $(call lambda-build,callbacks)
build-DemoFunction:      ; $(call lambda-build,demo)
build-DoctorFunction:    ; $(call lambda-build,doctor)
build-MetawebhooksFunction: ; $(call lambda-build,metawebhooks)
build-LifecycleFunction: ; $(call lambda-build,lifecycle)
build-CustomersFunction: ; $(call lambda-build,customers)

# --- local ------------------------------------------------------------------

.PHONY: help deps build test fuzz run invoke deploy bench doctor clean session demo-message demo-template

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

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
	@$(GO) test -race -count=1 -timeout 20m -skip '^TestColdStart$$' ./...
	@echo "== cold start and binary size, with nothing else running (.artifacts/coldstart.txt)"
	@$(GO) test -count=1 -timeout 10m -run '^TestColdStart$$' ./infra/rietest
	@sed 's/^/   /' .artifacts/coldstart.txt
	@echo "== fuzz (10s per target)"
	@infra/scripts/fuzz.sh 10s

fuzz: ## fuzz every Fuzz target for FUZZTIME (default 2m) each
	@infra/scripts/fuzz.sh $(FUZZTIME)

run: ## the local stack: API, page, DynamoDB Local and simulators
	$(GO) run ./infra/local

invoke: ## run one function's binary under aws-lambda-rie: EVENT=events/signup-ok.json [FN=signup]
	@infra/scripts/deps.sh java dynamodb rie >/dev/null
	@$(GO) run ./infra/invoke -fn "$(FN)" -event "$(EVENT)"

deploy: ## sam build && sam deploy (CONFIG_ENV=default|prod)
	sam build --config-env $(CONFIG_ENV)
	sam deploy --config-env $(CONFIG_ENV)

session: ## print an onboarding link for the local stack: CLIENT_REF=customer-1 TTL=15m
	@$(GO) run ./infra/mint-session -client-ref "$(or $(CLIENT_REF),customer-1)" -ttl "$(or $(TTL),15m)"

bench: ## load benchmarks against the local stack
	$(GO) run ./infra/bench

doctor: ## readiness checklist of the local stack; BROKEN=1 breaks it on purpose, AWS=1 checks AWS, JSON=1
	@$(GO) run ./infra/doctor $(if $(JSON),-json) $(if $(BROKEN),-broken) $(if $(AWS),-aws)

# Defaults of the demo targets; commas and # cannot be written inline there.
DEMO_TEXT     := Hello from our WhatsApp integration!
DEMO_BODY     := Hi {{1}}, your order {{2}} has shipped.
DEMO_EXAMPLES := Ana,\#1042

demo-message: ## App Review demo 1, send a message: WABA=<id> DST=+14155550100 [TEXT=...] [API=<url>]
	@$(GO) run ./infra/demo message -waba "$(WABA)" -dst "$(DST)" -text "$(or $(TEXT),$(DEMO_TEXT))" $(if $(API),-api "$(API)")

demo-template: ## App Review demo 2, create a template: WABA=<id> [NAME=...] [CATEGORY=UTILITY] [BODY=...] [API=<url>]
	@$(GO) run ./infra/demo template -waba "$(WABA)" -name "$(or $(NAME),order_update)" -category "$(or $(CATEGORY),UTILITY)" \
	  -body "$(or $(BODY),$(DEMO_BODY))" -examples "$(or $(EXAMPLES),$(DEMO_EXAMPLES))" $(if $(API),-api "$(API)")

clean: ## remove build output and test artifacts (keeps the .cache of tools)
	rm -rf $(BUILD_DIR) .aws-sam .artifacts
