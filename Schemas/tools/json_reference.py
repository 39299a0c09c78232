#!/usr/bin/env python3
"""Reference JSON parsing for the Swift parser's agreement test.

Reads one hex-encoded candidate document per line on stdin; writes, per line,
the hex of its canonical form (sorted keys, no whitespace, UTF-8), or ERROR
when RFC 8259 (as Python's json module reads it, minus its NaN/Infinity
extension) refuses it. Numbers are normalised the way CaseHub's JSONValue
keeps them: a number whose value is a whole number that fits in 64 bits as
that integer, however it is spelled (1e16, 100.0); anything else as the
nearest double, written as ECMAScript writes numbers (RFC 8785).
"""
import json
import sys
from decimal import Decimal


def refuse_constant(name):
    raise ValueError(f"non-standard constant {name}")


def to_double(value) -> float:
    try:
        double = float(value)  # correctly rounded, from an int or a Decimal
    except OverflowError:
        raise ValueError("number out of range")
    if double != double or double in (float("inf"), float("-inf")):
        raise ValueError("non-finite number")
    return double


def normalise(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        if -(2**63) <= value < 2**63 and value == value.to_integral_value():
            return normalise(int(value))
        return to_double(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else to_double(value)
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return {key: normalise(item) for key, item in value.items()}


def ecmascript(number: float) -> str:
    """Number::toString of ECMAScript, from Python's shortest round-trip digits."""
    if number == 0:
        return "0"
    if number < 0:
        return "-" + ecmascript(-number)
    mantissa, _, exponent = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    n = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    return (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + ("-" if e < 0 else "+") + str(abs(e))


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
        return ecmascript(value)
    if isinstance(value, str):
        escaped = "".join(SHORT_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in value)
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return "{" + ",".join(f"{dump(key)}:{dump(value[key])}" for key in sorted(value)) + "}"


def canonical(text: bytes) -> bytes:
    value = normalise(json.loads(text.decode("utf-8"), parse_constant=refuse_constant, parse_float=Decimal))
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
