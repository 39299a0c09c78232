# The two commands of the README: `make run` and `make test`.
# Both install what is missing (Deploy/local/setup.sh) and start their own
# PostgreSQL and broker on loopback (Deploy/local/stack.sh).
SHELL := /bin/bash

.PHONY: setup build run test bench fuzz stop clean schemas

setup:
	@Deploy/local/setup.sh

build: setup
	swift build

## Runs the whole hub on the embedded local stack at http://127.0.0.1:8080.
run: setup
	@Deploy/local/run.sh $(ARGS)

## Unit and integration tests against a fresh local broker and database.
test: setup
	@Deploy/local/test.sh $(ARGS)

## Hostile input: at least 10,000 generated and mutated inputs over HTTP, plus
## records straight onto Kafka (FUZZ_INPUTS, FUZZ_SEED to repeat a run).
fuzz: setup
	@CASEHUB_FUZZ_INPUTS=$${FUZZ_INPUTS:-10000} CASEHUB_FUZZ_SEED=$${FUZZ_SEED:-$$(date +%s)} Deploy/local/test.sh --filter FuzzTests

## Broker and SQL ceilings vs the hub end to end (release build; prints figures).
bench: setup
	@Deploy/local/bench.sh $(ARGS)

## Regenerates Schemas/ and the compiled catalogue from Schemas/tools/catalogue.py.
schemas: setup
	python3 Schemas/tools/generate.py
	.local/venv/bin/python Schemas/tools/validate.py --examples

## Stops stacks left running (e.g. after a killed `make run`).
stop:
	@Deploy/local/stack.sh stop run; Deploy/local/stack.sh stop test; Deploy/local/stack.sh stop bench

clean: stop
	rm -rf .local/run .local/test .local/bench .build
