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
# make test fuzzes by a count of inputs, so a loaded machine is slower, never failed.
FUZZ_INPUTS ?= 10000x
CONFIG_ENV ?= default
SAM        ?= sam
AWS_CLI    ?= aws

# require stops a target, before anything runs, unless each variable named
# in $(1) is set; the message names the variable as it is typed on the make
# command line. A target that calls it says "required: VAR=" in its ## help.
missing = $(strip $(foreach v,$(1),$(if $(strip $($(v))),,$(v))))
require = $(if $(call missing,$(1)),$(error make $@ needs $(foreach v,$(call missing,$(1)),$(v)=): e.g. make $@ $(foreach v,$(call missing,$(1)),$(v)=...) (make help lists each target's variables)))

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

.PHONY: help deps build test lint fuzz run invoke deploy stack-policy bench doctor clean session demo-message demo-template

help: ## list the targets; "required:" names the variables a target cannot run without
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

deps: ## install java, DynamoDB Local, aws-lambda-rie, chromium, actionlint, cfn-lint, staticcheck and unparam (idempotent)
	@infra/scripts/deps.sh all

build: ## build every function into .build/<fn>/bootstrap for this machine
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn; \
	  printf '  %-8s %s\n' $$fn "$$(du -h $(BUILD_DIR)/$$fn/bootstrap | cut -f1)"; \
	done

test: deps ## vet, all tests (race detector on), a short fuzz run, then make lint
	@echo "== go vet ./..."
	@$(GO) vet ./...
	@echo "== go test -race ./..."
	@$(GO) test -race -count=1 -timeout 20m -skip '^TestColdStart$$' ./...
	@echo "== cold start and binary size, with nothing else running (.artifacts/coldstart.txt)"
	@$(GO) test -count=1 -timeout 10m -run '^TestColdStart$$' ./infra/e2e/binaries
	@sed 's/^/   /' .artifacts/coldstart.txt
	@echo "== fuzz (FUZZ_INPUTS=$(FUZZ_INPUTS) new inputs per target, bounded by work, not time)"
	@infra/scripts/fuzz.sh $(FUZZ_INPUTS)
	@$(MAKE) lint

lint: ## gofmt, staticcheck and unparam on the Go code, then lint the GitHub workflows (actionlint), template.yaml and infra/ci's template (cfn-lint)
	@echo "== gofmt -l"
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  [ -z "$$unformatted" ] || { echo "not gofmt-formatted (run gofmt -w):" >&2; echo "$$unformatted" >&2; exit 1; }
	@infra/scripts/deps.sh actionlint cfnlint gotools >/dev/null
	@echo "== staticcheck ./..."
	@.cache/bin/staticcheck ./...
	@echo "== unparam ./..."
	@.cache/bin/unparam ./...
	@echo "== actionlint .github/workflows"
	@.cache/bin/actionlint
	@echo "== cfn-lint template.yaml infra/ci/*.yaml"
	@PATH="$$PATH:$(CURDIR)/.cache/bin" cfn-lint template.yaml infra/ci/*.yaml

fuzz: ## fuzz every Fuzz target for FUZZTIME (default 2m) each
	@infra/scripts/fuzz.sh $(FUZZTIME)

run: ## the local stack: API, page, DynamoDB Local and simulators
	$(GO) run ./infra/cmd/local

invoke: ## run one function's binary under aws-lambda-rie: EVENT=events/signup-ok.json [FN=signup]
	@infra/scripts/deps.sh java dynamodb rie >/dev/null
	@$(GO) run ./infra/cmd/invoke -fn "$(FN)" -event "$(EVENT)"

# find-region sets the shell's $$region to the AWS region deploys go to, or
# stops the target naming what to set.
find-region = region="$${AWS_REGION:-$${AWS_DEFAULT_REGION:-$$($(AWS_CLI) configure get region 2>/dev/null || true)}}"; \
  [ -n "$$region" ] || { echo "make $@: no AWS region: set AWS_REGION, or a region in your AWS profile (aws configure)" >&2; exit 1; }

deploy: ## sam build && sam deploy with samconfig.toml's CONFIG_ENV=default|prod, in your AWS region, then make stack-policy (docs/deploy.md)
	@command -v $(SAM) >/dev/null || { echo "make deploy needs the AWS SAM CLI, and '$(SAM)' is not on PATH: install it (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html), then follow docs/deploy.md" >&2; exit 1; }
	@$(find-region); \
	  echo "== $(SAM) build + deploy --config-env $(CONFIG_ENV) --region $$region"; \
	  $(SAM) build --config-env $(CONFIG_ENV) && \
	  $(SAM) deploy --config-env $(CONFIG_ENV) --region "$$region"
	@$(MAKE) stack-policy

# A later template change that would replace or delete a table, a secret,
# the event bus, the API or the failure queue fails instead of quietly
# swapping it for an empty one: sam deploy cannot set a stack policy, so
# every deploy sets it after the stack exists (docs/sam.md, "Upgrading").
stack-policy: ## forbid later deploys to replace or delete CONFIG_ENV's stack's tables, secrets, event bus, API and failure queue (infra/ci/stack-policy.json)
	@command -v $(AWS_CLI) >/dev/null || { echo "make stack-policy needs the AWS CLI, and '$(AWS_CLI)' is not on PATH (docs/deploy.md)" >&2; exit 1; }
	@$(find-region); \
	  stack="$$(awk -v section='[$(CONFIG_ENV).global.parameters]' '$$0 == section { in_section = 1; next } /^\[/ { in_section = 0 } in_section && $$1 == "stack_name" { gsub(/"/, "", $$3); print $$3 }' samconfig.toml)"; \
	  [ -n "$$stack" ] || { echo "make stack-policy: samconfig.toml has no stack_name under [$(CONFIG_ENV).global.parameters]" >&2; exit 1; }; \
	  echo "== stack policy of $$stack ($$region): infra/ci/stack-policy.json"; \
	  $(AWS_CLI) cloudformation set-stack-policy --stack-name "$$stack" --stack-policy-body file://infra/ci/stack-policy.json --region "$$region"

session: ## print an onboarding link for the local stack: CLIENT_REF=customer-1 TTL=15m
	@$(GO) run ./infra/cmd/mint-session -client-ref "$(or $(CLIENT_REF),customer-1)" -ttl "$(or $(TTL),15m)"

bench: ## load benchmarks against the local stack
	$(GO) run ./infra/cmd/bench

doctor: ## readiness checklist of the local stack; BROKEN=1 breaks it on purpose, AWS=1 checks AWS, JSON=1
	@$(GO) run ./infra/cmd/doctor $(if $(JSON),-json) $(if $(BROKEN),-broken) $(if $(AWS),-aws)

# Defaults of the demo targets; commas and # cannot be written inline there.
DEMO_TEXT     := Hello from our WhatsApp integration!
DEMO_BODY     := Hi {{1}}, your order {{2}} has shipped.
DEMO_EXAMPLES := Ana,\#1042

demo-message: ## App Review demo 1, send a message; required: WABA=<id> DST=+14155550100; optional: TEXT=... API=<url>
	$(call require,WABA DST)
	@$(GO) run ./infra/cmd/demo message -waba "$(WABA)" -dst "$(DST)" -text "$(or $(TEXT),$(DEMO_TEXT))" $(if $(API),-api "$(API)")

demo-template: ## App Review demo 2, create a template; required: WABA=<id>; optional: NAME=... CATEGORY=UTILITY BODY=... EXAMPLES=... API=<url>
	$(call require,WABA)
	@$(GO) run ./infra/cmd/demo template -waba "$(WABA)" -name "$(or $(NAME),order_update)" -category "$(or $(CATEGORY),UTILITY)" \
	  -body "$(or $(BODY),$(DEMO_BODY))" -examples "$(or $(EXAMPLES),$(DEMO_EXAMPLES))" $(if $(API),-api "$(API)")

clean: ## remove build output and test artifacts (keeps the .cache of tools)
	rm -rf $(BUILD_DIR) .aws-sam .artifacts
