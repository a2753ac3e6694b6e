# Vaarta: the README's two commands.
#   make run    set up a fresh Debian machine, build, and serve on the embedded default (SQLite)
#   make test   set up everything the tests need and run the whole test suite
SHELL := /bin/bash
CARGO ?= cargo
export VAARTA_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test setup setup-test build build-release bench clean

run: setup build-release
	./target/release/vaarta serve

test: setup-test
	scripts/test

setup:
	scripts/setup

setup-test:
	scripts/setup --test

build:
	$(CARGO) build --workspace

build-release:
	$(CARGO) build --release --bin vaarta

bench: setup-test
	scripts/bench

clean:
	$(CARGO) clean
