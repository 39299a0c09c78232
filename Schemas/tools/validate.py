#!/usr/bin/env python3
"""Reference validation with Python's jsonschema (Draft 2020-12, formats checked).

  validate.py --examples    checks that every valid-*.json passes and every invalid-*.json fails,
                            and disclosure.json against disclosure.schema.json
  validate.py --stdin       reads [{"type": T, "instance": X}, ...] and prints [{"valid": bool}, ...]
                            (the Swift validator's agreement test uses this)
"""
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validators():
    resources = []
    by_type = {}
    for path in [os.path.join(SCHEMAS, "common.schema.json")] + glob.glob(os.path.join(SCHEMAS, "events", "*.schema.json")):
        schema = load(path)
        resources.append((schema["$id"], Resource.from_contents(schema)))
        if "/events/" in path:
            by_type[os.path.basename(path)[: -len(".schema.json")]] = schema
    registry = Registry().with_resources(resources)
    checker = Draft202012Validator.FORMAT_CHECKER
    return {t: Draft202012Validator(s, registry=registry, format_checker=checker) for t, s in by_type.items()}


def main():
    all_validators = validators()
    if "--stdin" in sys.argv:
        cases = json.load(sys.stdin)
        out = [{"valid": all_validators[c["type"]].is_valid(c["instance"])} for c in cases]
        json.dump(out, sys.stdout)
        return 0
    failures = 0
    # The need-to-know rule against its own schema.
    disclosure = Draft202012Validator(load(os.path.join(SCHEMAS, "disclosure.schema.json")), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in disclosure.iter_errors(load(os.path.join(SCHEMAS, "disclosure.json"))):
        failures += 1
        print(f"disclosure.json: {'/'.join(map(str, error.absolute_path))}: {error.message}")
    for example in sorted(glob.glob(os.path.join(SCHEMAS, "examples", "*", "*.json"))):
        type_name = os.path.basename(os.path.dirname(example))
        expected = os.path.basename(example).startswith("valid-")
        if all_validators[type_name].is_valid(load(example)) != expected:
            failures += 1
            print(f"unexpected verdict: {os.path.relpath(example, SCHEMAS)}")
    print(f"{failures} unexpected verdicts")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
