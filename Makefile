# Every command CI runs is here, and nothing else: what CI does, a person can do.
GO       ?= go
MODULES  := . telemetry bench e2e
FUZZTIME ?= 30s

.PHONY: test test-norace test-node test-compat check bench fuzz build

build:
	$(GO) build -o abacus ./cmd/abacus

# test: formatting, vet, then every module's tests with the race detector.
test: check
	@for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 -timeout 30m ./...) || exit 1; \
	done
	@$(MAKE) --no-print-directory test-norace
	@$(MAKE) --no-print-directory test-node
	@$(MAKE) --no-print-directory test-compat

# test-norace: the tests the race detector would distort (allocation budgets,
# timings), which skip themselves or do not build under -race, run once more
# without it. NORACE lists them as module:package:TestName; the check in
# e2e/makefile_test.go keeps the list complete.
NORACE := telemetry:.:TestTrackAllocations telemetry:.:TestHostile .:./internal/simulate:TestSpeed .:./internal/insights:TestRegressionWherePower .:./internal/insights:TestReportsAtServeDefaults .:./internal/insights:TestDemoSlowdownEveryHour .:./internal/ingest:TestProcessAllocations
test-norace:
	@for t in $(NORACE); do \
		m=$${t%%:*}; rest=$${t#*:}; pkg=$${rest%%:*}; name=$${rest#*:}; \
		echo "== go test (no -race) $$m $$pkg $$name"; \
		out=$$(cd $$m && $(GO) test -count=1 -run "^$$name\$$" -v $$pkg 2>&1); rc=$$?; \
		echo "$$out" | grep -E "^(--- |ok|FAIL|panic)"; \
		[ $$rc -eq 0 ] || { echo "$$out"; exit 1; }; \
		echo "$$out" | grep -q -- "--- PASS: $$name " || { echo "$$name did not run and pass"; exit 1; }; \
	done

# test-node: the Node.js SDK's tests (node:test). They need node and npm; the
# end-to-end test builds the abacus binary, the cross-SDK test runs the Go SDK.
test-node:
	@echo "== node --test clients/node"
	@cd clients/node && node --test test/*.test.mjs

# test-compat: the collector's PostHog, Segment and Strapi routes driven by the
# real clients (e2e/compat, its own module). Its npm packages are installed
# from the lock file, without install scripts, when node_modules is missing or
# older than the lock file. Prints what each client got stored.
test-compat:
	@echo "== go test e2e/compat (posthog-go, analytics-go, posthog-node, @segment/analytics-node, @strapi/core's sender)"
	@cd e2e/compat && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; } && $(GO) vet . && out=$$($(GO) test -count=1 -v . 2>&1); rc=$$?; \
		echo "$$out" | grep -E "^(--- |ok|FAIL|panic)|client "; \
		[ $$rc -eq 0 ] || { echo "$$out"; exit 1; }

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

# bench: the SDK against its peers (see BENCHMARKS.md).
bench:
	cd bench && $(GO) test -run='^$$' -bench=Track -benchtime=20000x -count=1 .
	cd bench && $(GO) test -run='^$$' -bench=CloseBlackHoled -count=1 .

# fuzz: every fuzz target for FUZZTIME each.
fuzz:
	@for m in $(MODULES); do \
		(cd $$m && for pkg in $$($(GO) list ./...); do \
			for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
				echo "== $$pkg $$f"; \
				$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
			done; \
		done) || exit 1; \
	done
