# Rampart: on a fresh machine (Go, Node, Java), `make run` and `make test`
# install what they need (scripts/tools.sh) and start the local emulators
# (scripts/emulators.sh) themselves. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

FUZZTIME ?= 30s
RAMPART_DATA_DIR ?= .data
export RAMPART_DATA_DIR

EMULATORS := scripts/emulators.sh

.PHONY: help tools test run build openapi fuzz bench docs-assets clean reset

help: ## List the targets
	@echo "Targets:"
	@awk -F':.*## ' '/^[a-zA-Z0-9_.-]+:.*## / { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

tools: ## Install npm packages, MinIO and Debian packages (idempotent, fast when present)
	@scripts/tools.sh

test: tools ## gofmt, go vet and go test against the emulators (then test-infra if infra/go.mod)
	@MAKE='$(MAKE)' $(EMULATORS) --mode test run-with -- scripts/test.sh

run: tools ## Local server on RAMPART_ADDR (default 127.0.0.1:8080) with data kept in .data
	@test -d functions/local || { echo "run: functions/local does not exist yet" >&2; exit 1; }
	@RAMPART_LOCAL=true $(EMULATORS) --mode run run-with -- go run ./functions/local

build: ## Lambda zips in build/lambda/<name>.zip (linux/arm64) and their sizes
	@scripts/build.sh

openapi: ## Write openapi.generated.json from the code
	@# Through a temporary file: a failed run must not leave a truncated spec.
	@go run ./functions/local -openapi > openapi.generated.json.tmp || { rm -f openapi.generated.json.tmp; exit 1; }
	@mv openapi.generated.json.tmp openapi.generated.json
	@echo "openapi: wrote openapi.generated.json"

fuzz: ## Run every Fuzz target for FUZZTIME each (default 30s)
	@FUZZTIME='$(FUZZTIME)' scripts/fuzz.sh

bench: tools ## go test -bench against the emulators
	@$(EMULATORS) --mode test run-with -- go test -run='^$$' -bench=. -benchmem ./...

docs-assets: ## Copy Swagger UI and ReDoc from node_modules into shared/httpapi/docsassets
	@scripts/docs-assets.sh

clean: ## Remove build outputs (build/, cdk.out/)
	rm -rf build cdk.out

reset: ## Delete the data of `make run` (RAMPART_DATA_DIR, default .data)
	@case '$(RAMPART_DATA_DIR)' in ''|/|.|..) echo "reset: refusing to delete '$(RAMPART_DATA_DIR)'" >&2; exit 1;; esac
	@if [ -f '$(RAMPART_DATA_DIR)/.lock' ] && ! flock -n '$(RAMPART_DATA_DIR)/.lock' true; then \
		echo "reset: $(RAMPART_DATA_DIR) is in use by a running 'make run'" >&2; exit 1; fi
	rm -rf '$(RAMPART_DATA_DIR)'

# Fallback for `make test-infra` until mk/infra.mk defines it: an explicit
# `test-infra:` rule there takes precedence over this pattern rule, with no
# "overriding recipe" clash. (Not .PHONY: phony targets skip pattern rules.)
test-infr%:
	@if [ -f infra/go.mod ]; then cd infra && go test ./...; else echo "test-infra: no infra/go.mod yet"; fi

# Infrastructure targets (synth, deploy, localstack-*, test-infra) live in
# mk/infra.mk, owned by the infra side.
-include mk/*.mk
