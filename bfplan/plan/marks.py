"""YAML with positions: load a document safely and remember where every node came from.

``load_marked`` composes the document with a ``yaml.SafeLoader`` subclass (so only plain YAML
types are ever built, exactly as ``yaml.safe_load`` would) and then walks the node tree itself,
building Python values while recording the 1-based line/column of every value and every mapping
key under its key path (``("phases", 0, "processors", 1)``), so that each problem can be
reported where a user has to edit (:mod:`bfplan.plan.messages`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: A path into a document: mapping keys and list indexes, from the root.
KeyPath = tuple[str | int, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
# Aliases can expand a small file into a huge tree ("billion laughs"); a plan never needs this many.
_MAX_NODES = 50_000


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
