#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Strict parser of the Prometheus text exposition format 0.0.4 (the
"Exposition formats" page of prometheus.io, text-based format), for
test_web_api.sh: reads a /metrics body on stdin, fails (exit 1, with the
line) on anything the format does not allow, and prints every sample as
"name{label="value",...} value" with labels sorted, one per line, for the
test to check values. Arguments: metric family names that must be present.

Checked: HELP/TYPE syntax and at most one each per family, TYPE before the
family's samples, a known type, the family's samples contiguous, metric and
label names, label value escapes (only \\\\, \\" and \\n), no duplicate series,
Go float syntax of values (NaN, +Inf, -Inf), counters not negative, the
text ending with a newline."""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
FLOAT = re.compile(r"^[+-]?(Inf|NaN|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)$")


def fail(n, line, why):
    print(f"prom_check: line {n}: {why}: {line!r}", file=sys.stderr)
    sys.exit(1)


def parse_labels(n, line, s):
    """s starts after '{'; returns (labels, rest after '}')."""
    labels = {}
    i = 0
    while True:
        if s[i:i + 1] == "}":
            return labels, s[i + 1:]
        m = re.match(LABEL, s[i:])
        if not m:
            fail(n, line, "bad label name")
        name = m.group(0)
        i += len(name)
        if s[i:i + 2] != '="':
            fail(n, line, "label without =\"")
        i += 2
        val = []
        while True:
            if i >= len(s):
                fail(n, line, "unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    fail(n, line, "bad escape in label value")
                val.append({"n": "\n"}.get(nxt, nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                fail(n, line, "newline in label value")
            else:
                val.append(c)
                i += 1
        if name in labels:
            fail(n, line, "duplicate label")
        labels[name] = "".join(val)
        if s[i:i + 1] == ",":
            i += 1
        elif s[i:i + 1] != "}":
            fail(n, line, "expected , or }")


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def main():
    text = sys.stdin.read()
    if not text.endswith("\n"):
        fail(0, text[-40:], "no newline at the end")
    helps, types, done, series, out = {}, {}, set(), set(), []
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (" + NAME + r")(?: (.*))?$", line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    fail(n, line, "bad HELP/TYPE line")
                continue
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            table = helps if kind == "HELP" else types
            if name in table:
                fail(n, line, f"second {kind} for {name}")
            if kind == "TYPE":
                if rest not in TYPES:
                    fail(n, line, "unknown type")
                if name in done or current == name:
                    fail(n, line, "TYPE after the family's samples")
            else:
                if re.search(r"\\[^\\n]", rest) or rest.endswith("\\"):
                    fail(n, line, "bad escape in HELP")
            table[name] = rest
            continue
        m = re.match(r"^(" + NAME + r")(\{)?", line)
        if not m:
            fail(n, line, "bad metric name")
        name = m.group(1)
        rest = line[m.end():]
        labels = {}
        if m.group(2):
            labels, rest = parse_labels(n, line, rest)
        parts = rest.split(" ")
        if len(parts) not in (2, 3) or parts[0] != "":
            fail(n, line, "expected one space, a value and an optional timestamp")
        if not FLOAT.match(parts[1]):
            fail(n, line, "bad value")
        if len(parts) == 3 and not re.match(r"^-?\d+$", parts[2]):
            fail(n, line, "bad timestamp")
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                fail(n, line, f"samples of {fam} not together")
            if current:
                done.add(current)
            current = fam
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            fail(n, line, "duplicate series")
        series.add(key)
        if types.get(fam) == "counter" and parts[1] != "NaN" and float(parts[1]) < 0:
            fail(n, line, "negative counter")
        lbl = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        out.append(f"{name}{{{lbl}}} {parts[1]}" if lbl else f"{name} {parts[1]}")
    present = {family_of(s[0], types) for s in series} | set(types)
    for want in sys.argv[1:]:
        if want not in present:
            print(f"prom_check: no family {want}", file=sys.stderr)
            sys.exit(1)
    print("\n".join(out))


main()
