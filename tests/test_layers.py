"""The package's shape: stages import only stages below them, and no module imports itself
back through another. A climbing import or a circle is how a gate ends up sharing code with
what it checks, so the structure is a test, not a convention."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "temoin"

# Lowest first. A module may import its own stage and any stage before it.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "files", "cache", "script_policy", "strict_yaml", "progress",
     "padding", "config", "settings", "clock", "tmpfs"},
    {"keys"},
    {"trust", "custody"},  # the signed roster; the sealed, hash-chained log
    {"cases"},
    {"intake"},
    {"gates"},      # the canary matcher is a library that curation's publish step uses too
    {"curation"},
    {"site"},
    {"publish"},
    {"share"},
    {"scaffold", "demo", "cli", "__main__"},
]


def _rank(stage: str) -> int:
    for i, layer in enumerate(LAYERS):
        if stage in layer:
            return i
    raise AssertionError(f"src/temoin/{stage}: a new stage or top-level module; give it a "
                         "place in tests/test_layers.py LAYERS (and docs/DESIGN.md)")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(("temoin", *parts))


def _imports(path: Path) -> set[str]:
    """Every temoin module `path` imports, at any depth, except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "temoin":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _exists(sub) else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "temoin")
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        graph[_module(path)] |= {m for m in _imports(path) if _exists(m)}
    return graph


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_stage_imports_a_later_stage() -> None:
    climbs = [f"{src} -> {dst}" for src, dsts in _graph().items() for dst in sorted(dsts)
              if _rank(_stage(dst)) > _rank(_stage(src))]
    assert climbs == []


def test_no_import_circle_between_modules() -> None:
    graph = _graph()
    circles: list[str] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ importing its own submodules is how a face is made
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


def test_at_most_a_dozen_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py",
                                                                          "__main__.py"))
    assert len(top) <= 12, top


def test_no_module_over_500_lines() -> None:
    big = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert big == {}
