# Every command CI runs is here, and nothing else: what CI does, a person can do.
GO       ?= go
MODULES  := . telemetry bench
FUZZTIME ?= 30s

.PHONY: test check bench fuzz build

build:
	$(GO) build -o abacus ./cmd/abacus

# test: formatting, vet, then every module's tests with the race detector.
test: check
	@for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 ./...) || exit 1; \
	done

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

# bench: the SDK against its peers (see BENCHMARKS.md).
bench:
	cd bench && $(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

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
