#!/usr/bin/env python3
"""Reference JSON parsing for the Swift parser's agreement test.

Reads one hex-encoded candidate document per line on stdin; writes, per line,
the hex of its canonical form (sorted keys, no whitespace, UTF-8), or ERROR
when RFC 8259 (as Python's json module reads it, minus its NaN/Infinity
extension) refuses it. Numbers are normalised the way CaseHub's JSONValue
keeps them: 64-bit integers as integers, anything else as a double, and a
double with an integral value below 1e15 written as an integer.
"""
import json
import sys


def refuse_constant(name):
    raise ValueError(f"non-standard constant {name}")


def normalise(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else normalise(float(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite number")
        if value == int(value) and abs(value) < 1e15:
            return int(value)
        return value
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return {key: normalise(item) for key, item in value.items()}


SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def dump(value) -> str:
    """CaseHub's canonical form (JSONValue.canonicalBytes): sorted keys, no
    whitespace, only quote, backslash and control characters escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = "".join(SHORT_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in value)
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return "{" + ",".join(f"{dump(key)}:{dump(value[key])}" for key in sorted(value)) + "}"


def canonical(text: bytes) -> bytes:
    value = normalise(json.loads(text.decode("utf-8"), parse_constant=refuse_constant))
    # A lone surrogate cannot be written as UTF-8: refused, as the Swift parser does.
    return dump(value).encode("utf-8")


def main() -> None:
    for line in sys.stdin:
        try:
            print(canonical(bytes.fromhex(line.strip())).hex())
        except (ValueError, UnicodeError, RecursionError):
            print("ERROR")


if __name__ == "__main__":
    main()
