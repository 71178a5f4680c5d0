# harpy — build, test, bench, lint.
# HARPY_TARBALLS: where upstream tarballs from Debian's source packages are kept.
# HARPY_TEST_CACHE: harpy's build cache shared by all tests (compiled HAProxy binaries).
export HARPY_TARBALLS ?= $(CURDIR)/.cache/tarballs
export HARPY_TEST_CACHE ?= $(CURDIR)/.cache/test
GO ?= go

.PHONY: all deps tarballs consul harpy self-package run test test-short fuzz bench lint fmt

all: harpy

deps:
	bash .ci/deps.sh

tarballs:
	bash scripts/tarballs.sh $(HARPY_TARBALLS)

# The Consul agent the watch tests run, built once per machine outside the clone.
consul:
	bash scripts/consul.sh

harpy:
	$(GO) build -ldflags "-X main.buildVersion=$$(git describe --always --dirty 2>/dev/null || echo unknown)" -o bin/harpy ./cmd/harpy

# harpy's own packages (static binary + the harpy-watch unit), for hosts that run harpy watch.
self-package:
	CGO_ENABLED=0 $(GO) build -ldflags "-s -w -X main.buildVersion=$$(git describe --always --dirty 2>/dev/null || echo unknown)" -o bin/harpy-static ./cmd/harpy
	./bin/harpy-static self-package --binary bin/harpy-static --version $${HARPY_VERSION:-0.0.0+$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)} --out dist/

# The main job on embedded defaults: build and package the default HAProxy release.
# Upstream's download site is not reachable from every machine, so the release
# tarball is taken from Debian's source packages and passed in as a mirror.
run: deps tarballs harpy
	./bin/harpy build --mirror file://$(HARPY_TARBALLS) --format rpm,deb --dist el9 --out dist/

# Everything, with the real tools: what CI runs.
test: deps tarballs consul
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m $$($(GO) list ./... | grep -v /livetest)
	# Traffic scenarios measure failed requests under load: run them alone, after the
	# compiles, so the figures are the proxy's and not the machine's.
	$(GO) test -count=1 -timeout 30m ./livetest/

test-short:
	$(GO) test -short ./...

# Each fuzzer for FUZZTIME (go test runs only their seeds and corpus); new crashers land
# in the package's testdata/fuzz, to be fixed and kept.
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: deps tarballs harpy
	bash bench/run.sh

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
