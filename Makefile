# The two commands of the README: `make run` and `make test`.
# Both install what is missing (Deploy/local/setup.sh) and start their own
# PostgreSQL and broker on loopback (Deploy/local/stack.sh).
SHELL := /bin/bash

.PHONY: setup build run test bench fuzz fault stop clean schemas docs

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

## The fault suite at full size: 100,000 events with the hub SIGKILLed 20 times,
## the broker paused, the database connection cut (FAULT_EVENTS, FAULT_KILLS).
fault: setup
	@CASEHUB_FAULT_EVENTS=$${FAULT_EVENTS:-100000} CASEHUB_FAULT_KILLS=$${FAULT_KILLS:-20} Deploy/local/test.sh --filter FaultTests

## Broker and SQL ceilings vs the hub end to end, latency at several offered
## loads (release build; prints figures). ARGS="--scale-out" for 1, 2 and 4 hubs
## with 1 ms added each way; also --hubs N, --delay-ms D, --rates, --perf.
bench: setup
	@Deploy/local/bench.sh $(ARGS)

## Regenerates Schemas/ and the compiled catalogue from Schemas/tools/catalogue.py.
schemas: setup
	python3 Schemas/tools/generate.py
	.local/venv/bin/python Schemas/tools/validate.py --examples

## Rewrites the generated procedure tables of docs/case-model.md from the state
## machine (ProcedureTablesTests, which `make test` runs, fails when they differ).
docs: setup
	swift build --build-tests
	LD_LIBRARY_PATH=$(CURDIR)/.local/lib CASEHUB_WRITE_DOCS=1 swift test --skip-build --filter ProcedureTablesTests

## Stops stacks left running (e.g. after a killed `make run`).
stop:
	@Deploy/local/stack.sh stop run; Deploy/local/stack.sh stop test; Deploy/local/stack.sh stop bench

## Stops the stacks and removes their data (wherever the cluster lives) and the build.
clean:
	@for stack in run test bench; do Deploy/local/stack.sh destroy $$stack; done
	rm -rf .build
