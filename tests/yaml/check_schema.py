#!/usr/bin/python3
"""Check schemas/resnet.schema.json against the examples and against resnetc.

    check_schema.py [--resnetc build/resnetc]

1. Every examples/*.yaml and examples/demo/demo.yaml must validate.
2. Each case below must validate or fail as marked, and, given --resnetc,
   `resnetc info` must accept or refuse it the same way: the schema editors
   use and the compiler must not drift apart.

A small validator for the part of JSON Schema draft-07 the schema uses is
included (Debian's python3-jsonschema is not a dependency); a keyword it does
not know is an error, so the schema cannot quietly outgrow it. Checks the
schema cannot express (padding below the kernel size, one width/stride per
stage, bottleneck width above 0, an input large enough for the strides) are
resnetc's alone and not listed here.
Needs Debian's python3-yaml (a dependency of python3-torch).
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "examples"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def errors(schema, v, path="$"):
    """Yields one message per violation of schema by v."""
    for key in schema:
        if key not in ANNOTATIONS and key not in KEYWORDS:
            raise SystemExit(f"check_schema.py: error: keyword '{key}' is not supported by this validator")
    for key, arg in schema.items():
        if key in KEYWORDS:
            yield from KEYWORDS[key](arg, v, path, schema)


def is_valid(schema, v):
    return next(errors(schema, v), None) is None


def k_type(arg, v, path, schema):
    types = arg if isinstance(arg, list) else [arg]
    if not any(TYPES[t](v) for t in types):
        yield f"{path}: expected {arg}, got {v!r}"


def k_properties(arg, v, path, schema):
    if isinstance(v, dict):
        for k, sub in arg.items():
            if k in v:
                yield from errors(sub, v[k], f"{path}.{k}")


def k_additional(arg, v, path, schema):
    if isinstance(v, dict) and arg is False:
        for k in v:
            if k not in schema.get("properties", {}):
                yield f"{path}: unknown key '{k}'"


def k_required(arg, v, path, schema):
    if isinstance(v, dict):
        for k in arg:
            if k not in v:
                yield f"{path}: missing '{k}'"


def k_items(arg, v, path, schema):
    if isinstance(v, list):
        for i, item in enumerate(v):
            yield from errors(arg, item, f"{path}[{i}]")


def simple(test, what):
    def check(arg, v, path, schema):
        if test(arg, v):
            yield f"{path}: {what} {arg}, got {v!r}"
    return check


def k_oneof(arg, v, path, schema):
    n = sum(is_valid(s, v) for s in arg)
    if n != 1:
        yield f"{path}: matches {n} of oneOf, not exactly 1 ({schema.get('description', '')})"


def k_allof(arg, v, path, schema):
    for s in arg:
        yield from errors(s, v, path)


def k_not(arg, v, path, schema):
    if is_valid(arg, v):
        yield f"{path}: must not match {arg}"


def k_if(arg, v, path, schema):
    if is_valid(arg, v) and "then" in schema:
        yield from errors(schema["then"], v, path)


KEYWORDS = {
    "type": k_type,
    "properties": k_properties,
    "additionalProperties": k_additional,
    "required": k_required,
    "items": k_items,
    "const": simple(lambda a, v: v != a or type(v) is not type(a), "expected"),
    "enum": simple(lambda a, v: v not in a, "expected one of"),
    "minimum": simple(lambda a, v: TYPES["number"](v) and v < a, "minimum"),
    "maximum": simple(lambda a, v: TYPES["number"](v) and v > a, "maximum"),
    "minItems": simple(lambda a, v: isinstance(v, list) and len(v) < a, "minItems"),
    "maxItems": simple(lambda a, v: isinstance(v, list) and len(v) > a, "maxItems"),
    "minLength": simple(lambda a, v: isinstance(v, str) and len(v) < a, "minLength"),
    "pattern": simple(lambda a, v: isinstance(v, str) and not re.search(a, v), "pattern"),
    "oneOf": k_oneof,
    "allOf": k_allof,
    "not": k_not,
    "if": k_if,
    "then": lambda arg, v, path, schema: iter(()),
}

HEAD = "resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: [1, 1]\nclasses: 10\n"
CASES = [  # (valid?, yaml)
    (True, HEAD + "init: {seed: 1}\n"),
    (True, HEAD + "init: {seed: 1}\nname: x\nwidth: 16\nstrides: [1, 1]\nstem: {kernel: 3, stride: 1, pool: none}\n"),
    (True, HEAD + "init: {seed: 1}\nwidths: [8, 16]\nstem: {channels: 4, padding: 0}\n"),
    (True, HEAD + "init: {seed: 1}\nstem:\n"),
    (True, HEAD.replace("basic", "bottleneck") + "init: {seed: 1}\ngroups: 4\nwidth_per_group: 16\n"),
    (False, HEAD),
    (False, HEAD + "init: {seed: 1}\nweights: w.safetensors\n"),
    (False, HEAD + "weights: /abs/w.safetensors\n"),
    (False, HEAD + "init: {seed: -1}\n"),
    (False, HEAD + "init: {}\n"),
    (False, HEAD + "init: {seed: 1, x: 2}\n"),
    (False, HEAD.replace("resnetc: 1", "resnetc: 2") + "init: {seed: 1}\n"),
    (False, HEAD.replace("resnetc: 1", "resnetc: '1'") + "init: {seed: 1}\n"),
    (False, HEAD.replace("[1, 3, 32, 32]", "[1, 3, 32]") + "init: {seed: 1}\n"),
    (False, HEAD.replace("[1, 1]", "[1, 0]") + "init: {seed: 1}\n"),
    (False, HEAD.replace("[1, 1]", "[]") + "init: {seed: 1}\n"),
    (False, HEAD.replace("basic", "bottlenek") + "init: {seed: 1}\n"),
    (False, HEAD.replace("classes: 10", "classes: 0") + "init: {seed: 1}\n"),
    (False, HEAD + "init: {seed: 1}\nwidth: 64.0\n"),
    (False, HEAD + "init: {seed: 1}\nwidth: 8\nwidths: [8, 16]\n"),
    (False, HEAD + "init: {seed: 1}\ngroups: 2\n"),
    (False, HEAD + "init: {seed: 1}\nwidth_per_group: 4\n"),
    (False, HEAD + "init: {seed: 1}\nstride: [1, 2]\n"),
    (False, HEAD + "init: {seed: 1}\nstem: {kernel: 0}\n"),
    (False, HEAD + "init: {seed: 1}\nstem: {stirde: 1}\n"),
    (False, HEAD + "init: {seed: 1}\nstem: {pool: avg}\n"),
    (False, HEAD + "init: {seed: 1}\nstem: 7\n"),
    (False, HEAD + "init: {seed: 1}\nname: [a]\n"),
]


def resnetc_accepts(resnetc, text):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([resnetc, "info", path], capture_output=True, text=True)
        return r.returncode == 0, (r.stderr.strip().splitlines() or [""])[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resnetc", help="also check that resnetc agrees on every case")
    args = ap.parse_args()
    with open(os.path.join(ROOT, "schemas", "resnet.schema.json")) as f:
        schema = json.load(f)
    failed = 0
    files = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))) + [
        os.path.join(ROOT, "examples", "demo", "demo.yaml")]
    for path in files:
        with open(path) as f:
            errs = list(errors(schema, yaml.safe_load(f)))
        if errs:
            print(f"FAIL {os.path.relpath(path, ROOT)}: {errs[0]}")
            failed += 1
    for want, text in CASES:
        errs = list(errors(schema, yaml.safe_load(text)))
        label = text[len(HEAD):].replace("\n", " ").strip() if text.startswith(HEAD) else text.replace("\n", " ")[:60]
        if (not errs) != want:
            print(f"FAIL schema {'refuses' if errs else 'accepts'}: {label}" + (f" ({errs[0]})" if errs else ""))
            failed += 1
        if args.resnetc:
            ok, msg = resnetc_accepts(args.resnetc, text)
            if ok != want:
                print(f"FAIL resnetc {'accepts' if ok else 'refuses'}: {label} {msg}")
                failed += 1
    n = len(files) + len(CASES) * (2 if args.resnetc else 1)
    print(f"{n - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
