# Infrastructure targets (included by the Makefile: -include mk/*.mk).
# The CDK app is the Go module in infra/ (cdk.json: "cd infra && go run .");
# the CLI is the project's pinned aws-cdk in node_modules. docs/deploy.md
# explains the deployment, the context parameters and the LocalStack path.

.PHONY: synth deploy diff test-infra infra-tools localstack-up localstack-down localstack-deploy localstack-test

CDK      := node_modules/.bin/cdk
CDKLOCAL := node_modules/.bin/cdklocal
# Offline and quiet: no version check or notices from the network, no jsii
# Node 20 end-of-life banner.
CDK_ENV  := CDK_DISABLE_VERSION_CHECK=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# Extra CLI arguments, e.g. CDK_ARGS='-c stage=dev -c removalPolicy=destroy'.
CDK_ARGS ?=

# Stack outputs written by deploy targets (ApiUrl, TableName, ...).
CDK_OUTPUTS       := build/cdk-outputs.json
LOCALSTACK_OUTPUTS := build/localstack-outputs.json

# LocalStack (needs Docker; not available on the project's CI machines).
# API Gateway v2 (HTTP APIs) exists only in the licensed image (LocalStack "Base"
# plan and up), which reads LOCALSTACK_AUTH_TOKEN.
LOCALSTACK_IMAGE ?= localstack/localstack-pro:4
LOCALSTACK_NAME  ?= rampart-localstack
LOCALSTACK_PORT  ?= 4566
LOCALSTACK_STAGE ?= local
LOCALSTACK_ENV := AWS_ENDPOINT_URL=http://localhost.localstack.cloud:$(LOCALSTACK_PORT) \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	EDGE_PORT=$(LOCALSTACK_PORT)
LOCALSTACK_CONTEXT := -c stage=$(LOCALSTACK_STAGE) -c removalPolicy=destroy -c deletionProtection=false

# node_modules (aws-cdk, aws-cdk-local) through the project's tool script.
$(CDK) $(CDKLOCAL):
	@scripts/tools.sh --npm-only

synth: build $(CDK) ## cdk synth into cdk.out (needs the Lambda zips of make build)
	@$(CDK_ENV) $(CDK) synth --no-notices -q $(CDK_ARGS)
	@echo "synth: $$(ls cdk.out/*.template.json)"

diff: build $(CDK) ## cdk diff against the deployed stack (AWS credentials needed)
	@$(CDK_ENV) $(CDK) diff --no-notices $(CDK_ARGS)

deploy: build $(CDK) ## cdk deploy to the AWS account of the current credentials
	@mkdir -p build
	@$(CDK_ENV) $(CDK) deploy --no-notices --strict --outputs-file $(CDK_OUTPUTS) $(CDK_ARGS)

# asl-validator for the state machine test, pinned in infra/tools (its own
# package.json and lock). The lock's copy in node_modules marks a done npm ci.
infra/tools/node_modules/.package-lock.json: infra/tools/package-lock.json infra/tools/package.json
	@echo "infra-tools: npm ci --prefix infra/tools"
	@npm ci --prefix infra/tools --no-audit --no-fund --loglevel=error
	@touch $@

infra-tools: infra/tools/node_modules/.package-lock.json ## Install the infra tests' Node tools (asl-validator)

# The assertion tests (any set of functions, dummy zips of their own), then
# an offline synth of the real functions/ tree with dummy zips into a
# temporary directory: it checks the app as `cdk synth` runs it, without
# needing `make build`.
test-infra: infra-tools $(CDK) ## Infra assertion tests and an offline cdk synth (dummy zips)
	@echo "test-infra: cd infra && go test -count=1 ./..."
	@cd infra && RAMPART_REQUIRE_ASL_VALIDATOR=1 $(CDK_ENV) go test -count=1 ./...
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	printf '#!/bin/sh\necho dummy\n' >"$$tmp/bootstrap"; chmod +x "$$tmp/bootstrap"; \
	n=0; for dir in functions/*/; do \
		name=$$(basename "$$dir"); [[ $$name == local ]] && continue; \
		compgen -G "$$dir*.go" >/dev/null || continue; \
		(cd "$$tmp" && zip -q -X "$$name.zip" bootstrap); n=$$((n+1)); \
	done; \
	echo "test-infra: cdk synth of $$n function(s) with dummy zips into $$tmp/cdk.out"; \
	$(CDK_ENV) $(CDK) synth --no-notices -q -c buildDir="$$tmp" -o "$$tmp/cdk.out" $(CDK_ARGS)

localstack-up: ## Start LocalStack in Docker (needs Docker, and LOCALSTACK_AUTH_TOKEN for HTTP APIs)
	@command -v docker >/dev/null || { echo "localstack-up: Docker is required (not available on the CI machines)" >&2; exit 1; }
	docker run -d --rm --name $(LOCALSTACK_NAME) -p 127.0.0.1:$(LOCALSTACK_PORT):4566 \
		-e LOCALSTACK_AUTH_TOKEN -e DEBUG=0 \
		-v /var/run/docker.sock:/var/run/docker.sock $(LOCALSTACK_IMAGE)
	@for i in $$(seq 1 60); do \
		curl -fsS http://127.0.0.1:$(LOCALSTACK_PORT)/_localstack/health >/dev/null 2>&1 && { echo "localstack-up: ready"; exit 0; }; \
		sleep 2; done; echo "localstack-up: not ready after 120 s (docker logs $(LOCALSTACK_NAME))" >&2; exit 1

localstack-down: ## Stop the LocalStack container
	-docker stop $(LOCALSTACK_NAME)

localstack-deploy: build $(CDKLOCAL) ## cdklocal bootstrap + deploy into LocalStack (stage local, destroyable)
	@mkdir -p build
	$(LOCALSTACK_ENV) $(CDK_ENV) $(CDKLOCAL) bootstrap --no-notices $(LOCALSTACK_CONTEXT) $(CDK_ARGS)
	$(LOCALSTACK_ENV) $(CDK_ENV) $(CDKLOCAL) deploy --no-notices --require-approval never \
		--outputs-file $(LOCALSTACK_OUTPUTS) $(LOCALSTACK_CONTEXT) $(CDK_ARGS)

# The stack's ApiUrl is the AWS form (https://<id>.execute-api.<region>.amazonaws.com/);
# LocalStack serves the same API at http://<id>.execute-api.localhost.localstack.cloud:<port>/.
localstack-test: ## Black-box API suite against the LocalStack deployment
	@test -f $(LOCALSTACK_OUTPUTS) || { echo "localstack-test: run make localstack-deploy first" >&2; exit 1; }
	@url=$$(node -e ' \
		const o = Object.values(require("./$(LOCALSTACK_OUTPUTS)"))[0]; \
		const id = new URL(o.ApiUrl).hostname.split(".")[0]; \
		console.log("http://" + id + ".execute-api.localhost.localstack.cloud:$(LOCALSTACK_PORT)/")'); \
	echo "localstack-test: RAMPART_BASE_URL=$$url"; \
	RAMPART_BASE_URL=$$url go test -count=1 ./shared/blackbox/...
