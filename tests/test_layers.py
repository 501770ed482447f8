"""The package's house rules, read from the source with ``ast``: layers, import circles, root modules,
and SQL only in ``pipeline/store``.

Layers, lowest first; a module may import its own layer and the layers below it, never above. Every
import counts (module level, inside functions, under ``TYPE_CHECKING``), since each is a dependency a
reader has to hold in their head.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from pipeline.store import SqlStore, Store, StoreTx
from pipeline.store.sql import SqlTx

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"
LAYERS = ("core", "store", "documents", "scan", "extract", "rules", "cases", "outputs", "archive", "intake",
          "samples", "web", "cli")
MAX_ROOT_MODULES = 12


def _modules() -> dict[str, Path]:
    out = {}
    for path in PIPELINE.rglob("*.py"):
        parts = ("pipeline", *path.relative_to(PIPELINE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, ast.stmt]]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pipeline"):
                    yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("pipeline"):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in known else base), node


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target, _node in _imports(name, path, known):
            while target not in known:  # an attribute of a module: the module
                target = target.rpartition(".")[0]
            if target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ importing its own modules is not a dependency between layers.
    out: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph.items():
        for b in targets:
            if _layer(a) != _layer(b) and _layer(b):
                out[_layer(a)].add(_layer(b))
    return out


def test_no_import_circle_between_modules() -> None:
    assert _cycles(_graph()) == []


def test_no_import_circle_between_layers() -> None:
    assert _cycles(_package_graph(_graph())) == []


def test_imports_go_down_the_layers() -> None:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = sorted(f"{a} → {b}" for a, targets in _graph().items() for b in targets
                    if _layer(a) in rank and _layer(b) in rank and rank[_layer(b)] > rank[_layer(a)])
    assert upward == []


def test_every_package_is_a_known_layer_and_the_root_is_small() -> None:
    packages = {p.name for p in PIPELINE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS)
    root = sorted(p.name for p in PIPELINE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_the_circle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_pipeline_import_inside_a_function() -> None:
    """Dependencies are declared at the top of a module, where a reader looks for them."""
    hidden = []
    for name, path in _modules().items():
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden += [f"{name}:{n.lineno}" for n in ast.walk(fn)
                           if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("pipeline"))]
    assert hidden == []


def test_only_the_command_line_prints() -> None:
    """rich (tables, colours) is the command line's business; the domain modules return data."""
    printing = sorted(name for name, path in _modules().items() if _layer(name) != "cli"
                      and any(isinstance(n, ast.Import | ast.ImportFrom)
                              and any((getattr(n, "module", None) or a.name).split(".")[0] == "rich" for a in n.names)
                              for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    assert printing == []


# --- SQL only in pipeline/store ------------------------------------------------------------------

_SQL_CALL = re.compile(r"\.execute\(|\.exec_driver_sql\(|\bengine\.(connect|begin)\(|\.raw_connection\(")
_SQL_WORDS = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|PRAGMA)\b", re.IGNORECASE)
_DB_HANDLES = frozenset({"engine", "conn", "raw_connection", "exec_driver_sql"})


def _sql_sites(source: str, where: str) -> list[str]:
    """Lines of ``source`` that import sqlalchemy, run a statement, reach for the store's connection,
    or pass an SQL statement to ``text(``."""
    found = [f"{where}:{n}" for n, line in enumerate(source.splitlines(), 1)
             if _SQL_CALL.search(line) and not line.lstrip().startswith("#")]
    for node in ast.walk(ast.parse(source)):
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(m.split(".")[0] == "sqlalchemy" for m in modules):
            found.append(f"{where}:{node.lineno} import sqlalchemy")
        elif isinstance(node, ast.Attribute) and node.attr in _DB_HANDLES:
            found.append(f"{where}:{node.lineno} .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
              and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "text"):
            literal = " ".join(c.value for a in node.args for c in ast.walk(a)
                               if isinstance(c, ast.Constant) and isinstance(c.value, str))
            if _SQL_WORDS.search(literal):
                found.append(f"{where}:{node.lineno} text(SQL)")
    return sorted(set(found))


def test_no_sql_outside_the_store() -> None:
    """Callers see the ``Store`` interface and its rows, never SQLAlchemy, a connection or a statement:
    a second database (issue #14) then has one interface to implement."""
    sites = []
    for name, path in _modules().items():
        if _layer(name) != "store":
            sites += _sql_sites(path.read_text(encoding="utf-8"), name)
    assert sites == []


def test_the_sql_finder_finds_sql() -> None:
    snippet = (
        "from sqlalchemy import text\n"
        "def f(store, tx, case_id):\n"
        "    with store.engine.connect() as c:\n"
        "        c.execute(text('SELECT id FROM cases'))\n"
        "    tx.conn\n"
        "    text(f\"UPDATE cases SET x={case_id}\")\n"
        "    text('a plain sentence')\n"
    )
    assert _sql_sites(snippet, "m") == ["m:1 import sqlalchemy", "m:3", "m:3 .engine", "m:4", "m:4 text(SQL)",
                                        "m:5 .conn", "m:6 text(SQL)"]


def _parameters(cls: type) -> dict[str, str]:
    """Public method → its parameters as written (return types may narrow, e.g. ``begin``)."""
    return {n: str(inspect.signature(getattr(cls, n)).replace(return_annotation=inspect.Signature.empty))
            for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def test_the_sql_store_implements_the_whole_interface() -> None:
    """Every method the protocols declare exists on the SQL implementation with the same parameters."""
    for protocol, impl in ((Store, SqlStore), (StoreTx, SqlTx)):
        declared, present = _parameters(protocol), _parameters(impl)
        assert {n: present.get(n) for n in declared} == declared
