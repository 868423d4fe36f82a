# Hadron — the two commands a newcomer needs: `make dev` and `make test`.
# Every target installs the system packages it needs when they are missing, so a fresh machine just works.

SWIFT ?= swift
APT_GET = apt-get -y -o DPkg::Lock::Timeout=600
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# libcurl (with HTTP/2 via nghttp2) and OpenSSL: the Kubernetes client's transport (DESIGN.md §1).
SYSTEM_PACKAGES = libcurl4-openssl-dev libnghttp2-dev libssl-dev
BENCH_PACKAGES = fio nginx-light wrk nghttp2-client
# The chart tests (Tests/DeployTests): Go with sprig and YAML v2 build the `helm template` stand-in
# (Tests/HelmTemplate) offline in GOPATH mode; kubectl applies the rendered manifests to the API double.
TEST_PACKAGES = golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev kubectl

.PHONY: all deps build test dev bench format clean

all: build

# Installs the Debian packages that are not installed yet (apt-get update once, only when something is missing).
define apt_install
	@missing=""; for package in $(1); do dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing$$missing"; \
		$(SUDO) apt-get update -o DPkg::Lock::Timeout=600 -qq && $(SUDO) $(APT_GET) install -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(SYSTEM_PACKAGES))

build: deps
	$(SWIFT) build

# Tests build in debug (CI time matters more than test speed) and run every test target.
# Two test cases at a time (Swift Testing's default is twice the cores): many of them run clusters of real
# processes, and four at once on two cores starve the timing the failover and lease tests measure.
TEST_PARALLELISM ?= 2
test: deps
	$(call apt_install,$(TEST_PACKAGES))
	$(SWIFT) build --build-tests
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_PARALLELISM) $(SWIFT) test --skip-build

# The embedded default: controller, storage and gateway in one process on http://localhost:8080, data in ./.hadron.
dev: deps
	$(SWIFT) build --product hadron
	$$($(SWIFT) build --show-bin-path)/hadron dev $(DEV_FLAGS)

# Release build, linked as the container image links it (Swift's runtime and Foundation static: only the pages used
# are resident, 2 MiB less for an idle gateway); every figure printed as `BENCH <name> <value> <unit>`.
# HADRON_BENCH_ONLY=<prefix> runs part of HadronBench: a group (cloudevents, recordbatch, segmentlog, publish,
# publish.rf1, publish.rf3) or a CloudEvents benchmark (cloudevents.binary.decode), e.g.
# HADRON_BENCH_ONLY=cloudevents .build/release/HadronBench.
bench: deps
	$(call apt_install,$(BENCH_PACKAGES))
	$(SWIFT) build -c release --static-swift-stdlib --product hadron
	$(SWIFT) build -c release --static-swift-stdlib --product HadronBench
	.build/release/HadronBench

format:
	swift format --in-place --recursive Sources Tests Benchmarks Package.swift

clean:
	rm -rf .build
