"""Plan problems in plain words, each at the line and column a user has to edit.

:class:`IssueCollector` gathers ``PlanIssue``s for one file, each placed at the mark of a key
path, and translates JSON Schema errors into the sentences people read ("unknown key 'phses'
(did you mean 'phases'?)", "must be a positive integer, got 0").
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import referencing.exceptions

from bfplan.errors import PlanIssue, PluginError
from bfplan.plan.marks import KeyPath, Mark, MarkedDocument, describe, did_you_mean, format_path

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@functools.lru_cache(maxsize=64)
def _validator(schema_text: str) -> jsonschema.Draft202012Validator:
    """A checked validator per distinct schema (keyed by its JSON text), built once."""
    schema = json.loads(schema_text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


class IssueCollector:
    """Collects ``PlanIssue``s for one file, each placed at the mark of a key path.

    ``patterns`` gives plain words for the schema's regular expressions: ``{pattern: (noun,
    message)}``, e.g. ``{DATE: ("a date (YYYY-MM-DD)", "invalid date {!r} (expected YYYY-MM-DD)")}``.
    """

    def __init__(self, file: str, doc: MarkedDocument, patterns: Mapping[str, tuple[str, str]]) -> None:
        self.file = file
        self.doc = doc
        self.patterns = patterns
        self.issues: list[PlanIssue] = [
            PlanIssue(file, mark.line, mark.col, format_path(path), message) for path, mark, message in doc.problems
        ]
        #: Values already reported as wrong (e.g. an unknown ``${var}``): schema errors there add nothing.
        self.settled: set[KeyPath] = set(doc.unreadable)

    def mark(self, path: KeyPath, *, key: bool = False) -> Mark:
        """The position of ``path`` (of its key, if ``key`` and it is a mapping entry), else of its nearest ancestor."""
        if key and path in self.doc.key_marks:
            return self.doc.key_marks[path]
        while path not in self.doc.marks:
            path = path[:-1]
        return self.doc.marks[path]

    def report(self, path: KeyPath, message: str, *, at: KeyPath | None = None, key: bool = False) -> None:
        """Record ``path: message``, positioned at ``at`` (default ``path``)."""
        mark = self.mark(path if at is None else at, key=key)
        self.issues.append(PlanIssue(self.file, mark.line, mark.col, format_path(path), message))

    def schema(self, instance: Any, schema: Mapping[str, Any], base: KeyPath, owner: str = "plan") -> None:
        """Validate ``instance`` (found at ``base``) against ``schema``; report each error in plain words."""
        try:
            errors = list(_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
        except jsonschema.SchemaError as exc:  # a plugin's bug, not the plan's
            raise PluginError(f"{owner}: invalid JSON Schema: {exc.message}") from exc
        except referencing.exceptions.Unresolvable as exc:
            raise PluginError(f"{owner}: invalid JSON Schema: cannot resolve {exc}") from exc
        except (TypeError, ValueError) as exc:  # not JSON at all (json.dumps refused it)
            raise PluginError(f"{owner}: invalid JSON Schema: {exc}") from exc
        found = [item for error in errors for item in self._translate(error, base)]
        typed = {path for path, _, _, is_type in found if is_type}
        for path, message, at_key, is_type in found:
            # A value of the wrong type also fails its enum or pattern; the type error says it all.
            if (is_type or path not in typed) and path not in self.settled:
                self.report(path[:-1] if at_key else path, message, at=path, key=at_key)

    def _translate(self, error: jsonschema.ValidationError, base: KeyPath) -> Iterator[tuple[KeyPath, str, bool, bool]]:
        """(path, message, positioned at the key?, a type error?) for one jsonschema error."""
        path: KeyPath = (*base, *error.absolute_path)
        kind, value, schema, expected = error.validator, error.instance, error.schema, error.validator_value
        if "propertyNames" in error.relative_schema_path:  # the bad thing is a key, not a value
            if kind == "pattern" and expected in self.patterns:
                yield (*path, value), self.patterns[expected][1].format(value), True, False
            else:
                yield (*path, value), f"invalid key {value!r}", True, False
        elif kind == "additionalProperties" and isinstance(value, dict):
            allowed = list(schema.get("properties", {}))
            patterns = list(schema.get("patternProperties", {}))
            for key in value:
                if key not in allowed and not any(re.search(p, key) for p in patterns):
                    yield (*path, key), f"unknown key {key!r}{did_you_mean(key, allowed)}", True, False
        elif kind == "required" and isinstance(value, dict):
            for key in expected:
                if key not in value:
                    yield path, f"missing required key {key!r}", False, False
        elif kind == "type":
            types = [expected] if isinstance(expected, str) else [t for t in expected if t != "null"] or ["null"]
            wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
            wanted = self.patterns.get(schema.get("pattern", ""), (wanted,))[0]
            yield path, f"expected {wanted}, got {describe(value)}", False, True
        elif kind == "enum":
            choices = [repr(choice) for choice in expected]
            listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
            yield path, f"invalid value {value!r} (expected {listed})", False, False
        elif kind == "pattern" and expected in self.patterns:
            yield path, self.patterns[expected][1].format(value), False, False
        elif kind == "minimum" and isinstance(value, int | float):
            if expected == 1 and schema.get("type") == "integer":
                yield path, f"must be a positive integer, got {value}", False, False
            else:
                least = "must not be negative" if expected == 0 else f"must be at least {expected}"
                yield path, f"{least}, got {value}", False, False
        elif kind == "maximum" and isinstance(value, int | float):
            yield path, f"must be at most {expected}, got {value}", False, False
        elif kind in ("minItems", "minLength") and expected == 1:
            yield path, "must not be empty", False, False
        elif kind == "uniqueItems" and isinstance(value, list):
            for index, item in enumerate(value):
                if item in value[:index]:
                    yield (*path, index), f"duplicate entry {item!r}", False, False
        elif kind in ("minProperties", "maxProperties") and "title" in schema:
            yield path, f"expected {schema['title']}, got {len(value)} keys", False, False
        else:  # keywords the plan schema does not use, e.g. in a plugin's options schema
            yield path, error.message, False, False
