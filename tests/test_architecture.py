"""The engine's shape: no import cycle, small modules, no pipeline's words, typed where it can be.

Imports are read from the source (``ast``): module-level and inside functions alike (an import
tucked into a function still makes a cycle, only a later one), but not those under
``if TYPE_CHECKING:`` (they never run). Importing ``a.b.c`` runs ``a`` and ``a.b`` first, so a
package's ``__init__`` counts as imported too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "bfplan"
#: the longest a module may be without saying why at its top
MAX_LINES = 400
PIPELINE_WORDS = re.compile(r"\b(nba|games?|players?|teams?|basketball)\b", re.IGNORECASE)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in ENGINE.rglob("*.py")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, here: str, known: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = here.split(".")[: len(here.split(".")) - node.level + (1 if here in _packages else 0)]
                base = ".".join([*package, *([base] if base else [])])
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            names = []
        for name in names:
            while name:
                if name in known and name != here:
                    found.add(name)
                name = name.rpartition(".")[0]
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


_packages = {_module(p) for p in ENGINE.rglob("__init__.py")}


def test_no_import_cycle_in_the_engine():
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in _imports(ast.parse(path.read_text()), name, set(modules)):
            if not name.startswith(f"{target}.") or target not in _packages:  # a package's own modules
                graph.add_edge(name, target)
    cycles = sorted(nx.simple_cycles(graph), key=len)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:5])


def test_modules_are_small_or_say_why():
    long = []
    for name, path in _modules().items():
        lines = path.read_text().splitlines()
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if len(lines) > MAX_LINES and "Why one module" not in doc:
            long.append(f"{name} ({len(lines)} lines)")
    assert long == []


def test_the_engine_speaks_no_pipelines_language():
    # the templates of `bfplan new` too: what they write is the engine's own example
    said = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in [*ENGINE.rglob("*.py"), *ENGINE.rglob("*.tmpl"),
                                                                    ROOT / "schemas" / "plan.schema.json"]
            for n, line in enumerate(p.read_text().splitlines(), 1) if PIPELINE_WORDS.search(line)]
    assert said == []


#: parameter names that always hold an engine object: annotating one ``Any`` hides its type
TYPED_NAMES = {"plan", "registry", "warehouse", "wh", "processor", "proc", "producer", "gate", "spec", "session",
               "ledger", "outcome", "summary", "policy", "node", "report"}


def test_engine_objects_are_typed_not_any():
    untyped = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                    if arg.arg in TYPED_NAMES and arg.annotation is not None and ast.unparse(arg.annotation) == "Any":
                        untyped.append(f"{name}.{node.name}({arg.arg})")
    assert untyped == []
