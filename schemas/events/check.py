#!/usr/bin/env python3
"""Checks the event schemas: each is a valid draft 2020-12 schema, is what generate.py writes,
accepts every example under examples/<type>/valid/ and rejects every one under invalid/.

Run by ctest (schemas_events); exits non-zero and says which file failed. Formats are asserted
("date" with its calendar, "date-time" as RFC 3339), as the C++ parser does.
"""

import datetime
import json
import pathlib
import re
import sys

import jsonschema
from jsonschema import Draft202012Validator

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (same folder)

EXAMPLES_PER_KIND_MIN = 2
RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?"
                     r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)", re.ASCII)


def format_checker():
    checker = jsonschema.FormatChecker()

    # python3-jsonschema checks date-time only when rfc3339-validator is installed; check it here
    # so that the result does not depend on which optional package is present.
    @checker.checks("date-time", raises=ValueError)
    def is_date_time(instance):
        if not isinstance(instance, str):
            return True
        match = RFC3339.fullmatch(instance)
        if match is None:
            return False
        datetime.date(int(match[1]), int(match[2]), int(match[3]))  # raises on 2026-02-30
        return True

    @checker.checks("date", raises=ValueError)
    def is_date(instance):
        if not isinstance(instance, str):
            return True
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", instance, re.ASCII) is None:
            return False
        datetime.date(int(instance[:4]), int(instance[5:7]), int(instance[8:]))
        return True

    return checker


def ecma_pattern(validator, pattern, instance, schema):
    """`pattern` as ECMA-262 reads it, which JSON Schema specifies: there `$` matches only at
    the very end, where Python's also matches before a final newline ("12.00\n")."""
    if not validator.is_type(instance, "string"):
        return
    python_pattern = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(
        "\\$") else pattern
    if re.search(python_pattern, instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = jsonschema.validators.extend(Draft202012Validator, {"pattern": ecma_pattern})


def load_strict(path):
    """JSON with duplicate keys refused, as the C++ parser refuses them."""

    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{path}: duplicate key")
        return dict(pairs)

    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)


def is_within(error, field):
    """Whether a schema error lies on the way to `field` ("data.allocations[0].amount"): an
    invalid example must be rejected for the reason it was written for, not by accident.
    Keywords like anyOf or required report at a parent, hence a prefix, not an equality."""
    wanted = re.findall(r"[^.\[\]]+", field)
    found = [str(part) for part in error.absolute_path]
    return found == wanted[: len(found)]


def main():
    failures = []
    checker = format_checker()
    examples = HERE / "examples"
    expected_errors = load_strict(examples / "expected_errors.json")
    seen_invalid = set()
    counts = {"valid": 0, "invalid": 0}

    folders = {p.name for p in examples.iterdir() if p.is_dir()}
    if folders != set(generate.TYPES):
        failures.append(f"examples/ folders {sorted(folders)} differ from the types "
                        f"{sorted(generate.TYPES)}")

    for event_type in generate.TYPES:
        path = HERE / (event_type + ".json")
        if not path.exists():
            failures.append(f"{path.name}: missing (run generate.py)")
            continue
        if path.read_text(encoding="utf-8") != generate.render(event_type):
            failures.append(f"{path.name}: differs from what generate.py writes (run it)")
        schema = load_strict(path)
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as error:
            failures.append(f"{path.name}: not a valid draft 2020-12 schema: {error.message}")
            continue
        validator = Validator(schema, format_checker=checker)

        for kind in ("valid", "invalid"):
            files = sorted((examples / event_type / kind).glob("*.json"))
            if len(files) < EXAMPLES_PER_KIND_MIN:
                failures.append(f"examples/{event_type}/{kind}: {len(files)} examples, "
                                f"at least {EXAMPLES_PER_KIND_MIN} expected")
            for example in files:
                counts[kind] += 1
                name = example.relative_to(examples).as_posix()
                try:
                    instance = load_strict(example)
                except ValueError as error:
                    failures.append(f"{name}: not strict JSON: {error}")
                    continue
                errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
                if kind == "valid" and errors:
                    where = "/".join(str(p) for p in errors[0].path)
                    failures.append(f"{name}: rejected at '{where}': {errors[0].message}")
                if kind == "invalid":
                    seen_invalid.add(name)
                    if not errors:
                        failures.append(f"{name}: accepted, but it is an invalid example")
                    if name not in expected_errors:
                        failures.append(f"{name}: not listed in expected_errors.json")
                    elif errors and not any(is_within(e, expected_errors[name]) for e in errors):
                        failures.append(f"{name}: rejected elsewhere than at "
                                        f"{expected_errors[name]}: {errors[0].message}")

    for name in sorted(set(expected_errors) - seen_invalid):
        failures.append(f"expected_errors.json lists {name}, which does not exist")

    for failure in failures:
        print("FAIL", failure)
    print(f"{len(generate.TYPES)} schemas, {counts['valid']} valid and {counts['invalid']} "
          f"invalid examples checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
