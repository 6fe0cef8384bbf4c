#!/usr/bin/env python3
"""Runs the built halfcast on a small model, every way it writes JSON, and checks each object
against docs/cli-output.schema.json: a schema that fails to describe what the tool prints fails
here.

Usage: check_json_schema.py HALFCAST SCHEMA MODEL

The validator covers the keywords the schema uses (type, const, enum, required, properties,
items, allOf, oneOf, $ref to #/$defs); an unknown keyword is an error, so the schema cannot
silently use one this check ignores.
"""
import json
import os
import subprocess
import sys
import tempfile

KNOWN = {"$schema", "title", "description", "type", "const", "enum", "required", "properties",
         "items", "allOf", "oneOf", "$ref", "$defs"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def errors(value, schema, root, path):
    """The ways `value` breaks `schema`, as 'path: why' strings."""
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{path}: the schema uses unsupported keywords {sorted(unknown)}"]
    found = []
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        found += errors(value, root["$defs"][ref[len("#/$defs/"):]], root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return found + [f"{path}: {json.dumps(value)[:60]} is not {' or '.join(types)}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{path}: missing required '{key}'")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                found += errors(value[key], sub, root, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += errors(item, schema["items"], root, f"{path}[{i}]")
    for sub in schema.get("allOf", []):
        found += errors(value, sub, root, path)
    if "oneOf" in schema:
        results = [errors(value, sub, root, path) for sub in schema["oneOf"]]
        matching = sum(1 for r in results if not r)
        if matching != 1:
            best = min(results, key=len)
            found.append(f"{path}: matches {matching} of oneOf's schemas; closest: {best[:5]}")
    return found


def run(halfcast, args, expect_code=0):
    result = subprocess.run([halfcast] + args, capture_output=True, text=True)
    if result.returncode != expect_code:
        sys.exit(f"halfcast {' '.join(args)}: exit {result.returncode}, expected {expect_code}\n"
                 f"{result.stderr}")
    return result.stdout


def main():
    halfcast, schema_path, model = sys.argv[1:4]
    with open(schema_path) as f:
        schema = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        fp16 = os.path.join(tmp, "m16.onnx")
        report = os.path.join(tmp, "report.json")
        random = ["--random-inputs"]
        bound = ["--rtol", "1e-2", "--atol", "1e-3", "--progress=none"]
        objects = {
            "inspect": run(halfcast, ["inspect", model, "--json"]),
            "run": run(halfcast, ["run", model, "--json", "--output-dir", tmp] + random),
            # y.npy, written just above, has x's shape.
            "run, two input sets": run(halfcast, ["run", model, "--json", "--input-set",
                                                  "x=" + os.path.join(tmp, "y.npy"), "--input-set",
                                                  "x=" + os.path.join(tmp, "y.npy")]),
            "convert --json": run(halfcast, ["convert", model, fp16, "--json",
                                             "--node-block-list", "nothing", "--keep-io-types"]),
            "compare": run(halfcast, ["compare", model, fp16, "--json"] + random, expect_code=1),
            "auto": run(halfcast, ["auto", model, "-o", os.path.join(tmp, "a.onnx"), "--json"] +
                        random + bound),
            "auto --keep-best, not validated": run(
                halfcast, ["auto", model, "-o", os.path.join(tmp, "b.onnx"), "--json",
                           "--strategy", "bisect", "--max-evaluations", "2", "--keep-best",
                           "--rtol", "1e-3", "--atol", "1e-4", "--progress=none"] + random,
                expect_code=1),
        }
        run(halfcast, ["convert", model, os.path.join(tmp, "r16.onnx"), "-q",
                       "--report-json", report, "--target", "bf16", "--keep-io-types=x"])
        with open(report) as f:
            objects["convert --report-json"] = f.read()
        failures = 0
        for what, text in objects.items():
            lines = text.strip().split("\n")
            if len(lines) != 1:
                print(f"{what}: {len(lines)} lines, expected one JSON object")
                failures += 1
                continue
            value = json.loads(lines[0])
            problems = errors(value, schema, schema, value.get("command", "?"))
            for problem in problems:
                print(f"{what}: {problem}")
            failures += bool(problems)
            print(f"{what}: {'ok' if not problems else 'FAILED'}")
    # The checker itself must catch a missing field, a wrong type and an unknown command.
    sample = json.loads(objects["compare"])
    for broken in ({k: v for k, v in sample.items() if k != "all_close"},
                   dict(sample, feed_sets="2"), dict(sample, command="frobnicate")):
        if not errors(broken, schema, schema, "broken"):
            print(f"the checker accepted a broken object: {json.dumps(broken)[:100]}")
            failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
