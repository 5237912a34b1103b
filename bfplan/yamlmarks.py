"""YAML with positions: load a document safely, remember where every node came from, and report
problems there — including JSON Schema errors, translated into plain words.

``load_marked`` composes the document with a ``yaml.SafeLoader`` subclass (so only plain YAML
types are ever built, exactly as ``yaml.safe_load`` would) and then walks the node tree itself,
building Python values while recording the 1-based line/column of every value and every mapping
key under its key path (``("phases", 0, "processors", 1)``). ``IssueCollector`` then reports
each problem at the exact place a user has to edit, as a ``PlanIssue``.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import referencing.exceptions
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bfplan.errors import PlanIssue, PluginError

#: A path into a document: mapping keys and list indexes, from the root.
KeyPath = tuple[str | int, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
# Aliases can expand a small file into a huge tree ("billion laughs"); a plan never needs this many.
_MAX_NODES = 50_000
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@dataclass(frozen=True, order=True)
class Mark:
    """A 1-based position in a plan file."""

    line: int
    col: int


class DocumentError(Exception):
    """The file cannot be read as one YAML document at all (the only error then reported)."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


@dataclass
class MarkedDocument:
    """A loaded document with the positions of its nodes and the non-fatal problems found."""

    data: Any
    marks: dict[KeyPath, Mark] = field(default_factory=dict)
    key_marks: dict[KeyPath, Mark] = field(default_factory=dict)
    #: (path shown in the message, position, message); a key's problem shows its mapping's path.
    problems: list[tuple[KeyPath, Mark, str]] = field(default_factory=list)
    #: Paths whose value could not be built (read as null); their problem is reported already.
    unreadable: set[KeyPath] = field(default_factory=set)


class MarkedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` used only to compose nodes; a subclass so that nothing global changes."""


def format_path(path: KeyPath) -> str:
    """Render a key path the way messages show it: ``phases[0].processors[1].depends_on[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _offset_to_mark(text: str, offset: int) -> Mark:
    before = text[:offset]
    return Mark(before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def decode(raw: bytes) -> str:
    """Decode a plan file's bytes as UTF-8 (a BOM is allowed); raise ``DocumentError`` if not."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = _offset_to_mark(raw[: exc.start].decode("utf-8", "replace"), exc.start)
        raise DocumentError(where, "the file is not UTF-8 text") from exc


def load_marked(text: str) -> MarkedDocument:
    """Load one YAML document from ``text`` with marks; raise ``DocumentError`` if it is not YAML."""
    try:
        loader = MarkedSafeLoader(text)  # the reader rejects control characters right here
        try:
            root = loader.get_single_node()
            walker = _Walker(loader)
            data = None if root is None else walker.value(root, ())
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        position = exc.problem_mark or exc.context_mark
        where = Mark(position.line + 1, position.column + 1) if position else Mark(1, 1)
        problem = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise DocumentError(where, f"invalid YAML: {problem}") from exc
    except yaml.reader.ReaderError as exc:
        where = _offset_to_mark(text, exc.position)
        what = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "character"
        raise DocumentError(where, f"invalid YAML: unacceptable {what} ({exc.reason})") from exc
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above carries a position
        raise DocumentError(Mark(1, 1), f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise DocumentError(Mark(1, 1), "invalid YAML: the document is nested too deeply") from exc
    doc = MarkedDocument(data, walker.marks, walker.key_marks, walker.problems, walker.unreadable)
    doc.marks.setdefault((), Mark(1, 1))
    return doc


class _Walker:
    """Builds Python values from composed nodes, recording marks per key path."""

    def __init__(self, loader: MarkedSafeLoader) -> None:
        self.loader = loader
        self.marks: dict[KeyPath, Mark] = {}
        self.key_marks: dict[KeyPath, Mark] = {}
        self.problems: list[tuple[KeyPath, Mark, str]] = []
        self.unreadable: set[KeyPath] = set()
        self.active: set[int] = set()
        self.count = 0

    def value(self, node: Node, path: KeyPath, mark: Mark | None = None) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise DocumentError(_mark(node), "the document is too large (aliases expand too far)")
        self.marks[path] = mark or _mark(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            return self.unreadable_value(path, node, "a YAML alias refers to itself")
        expected = _MAP_TAG if isinstance(node, MappingNode) else _SEQ_TAG
        if node.tag != expected:
            return self.unreadable_value(path, node, f"unsupported YAML tag {node.tag!r}")
        self.active.add(id(node))
        try:
            return self.mapping(node, path) if isinstance(node, MappingNode) else self.sequence(node, path)
        finally:
            self.active.discard(id(node))

    def sequence(self, node: SequenceNode, path: KeyPath) -> list[Any]:
        return [self.value(item, (*path, index)) for index, item in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        own = sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys in place
        merged = len(node.value) - own  # merged entries come first; later entries override them
        result: dict[str, Any] = {}
        own_keys: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, ScalarNode):
                self.problems.append((path, _mark(key_node), "a mapping key must be a plain name"))
                continue
            # The key's source text: `on:` stays "on" (not True) and `2021-11-01:` stays a string.
            key = str(key_node.value)
            key_path = (*path, key)
            if index >= merged:
                if key in own_keys:
                    first = self.key_marks[key_path].line
                    message = f"duplicate key {key!r} (first at line {first})"
                    self.problems.append((path, _mark(key_node), message))
                    continue
                own_keys.add(key)
            self.key_marks[key_path] = _mark(key_node)
            # An empty value (`gates:`) has no text of its own; point at its key instead.
            empty = isinstance(value_node, ScalarNode) and value_node.tag == _NULL_TAG and not value_node.value
            result[key] = self.value(value_node, key_path, _mark(key_node) if empty else None)
        return result

    def scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        try:
            return self.loader.construct_object(node)
        except yaml.constructor.ConstructorError:
            return self.unreadable_value(path, node, f"unsupported YAML tag {node.tag!r}")
        except (ValueError, KeyError, TypeError, OverflowError):
            if node.tag == _TIMESTAMP_TAG:
                # `2021-02-30` looks like a date but is not one: keep the text, so the date
                # check reports it as such (and a description may contain it freely).
                return node.value
            kind = node.tag.rsplit(":", 1)[-1]
            return self.unreadable_value(path, node, f"invalid {kind} value {node.value!r}")

    def unreadable_value(self, path: KeyPath, node: Node, message: str) -> None:
        self.problems.append((path, _mark(node), message))
        self.unreadable.add(path)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""`` if none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(value: Any) -> str:
    """A value as a message shows it: ``a string 'x'``, ``7``, ``true``, ``a list``."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return f"a string {value!r}"
    if isinstance(value, int | float):
        return str(value)
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


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
