"""The package layout stays clean: no import cycles, layers import only downwards, units stay small.

The import graph is read statically with :mod:`ast` (nothing is imported), so the test is fast and sees
imports inside functions and behind ``TYPE_CHECKING`` too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "oncotwin"

# Who may import whom (README, "Development"): a package may import itself and the packages listed.
ALLOWED = {
    "core": set(),
    "defaults": {"core"},
    "pk": {"core", "defaults"},
    "outcomes": {"core", "defaults", "pk"},
    "imaging": {"core"},
    "case": {"core", "defaults", "pk", "outcomes", "imaging"},
    "physics": {"core"},
    "kinetics": {"core"},
    "la": {"core"},
    "mesh": {"core", "defaults", "imaging", "case"},
    "problems": {"core", "physics", "kinetics", "la", "mesh"},
    "io": {"core", "imaging", "case", "mesh", "problems", "la"},
    "verification": {"core", "imaging", "physics", "kinetics", "la", "mesh", "problems"},
    "model": {"core", "imaging", "defaults", "pk", "case", "mesh", "physics", "kinetics", "la", "problems", "io"},
    "run": {"core", "imaging", "defaults", "pk", "case", "mesh", "physics", "kinetics", "la", "problems", "io", "model"},
    "studies": {"core", "imaging", "defaults", "pk", "outcomes", "case", "mesh", "la", "problems", "io", "model", "run"},
    "calibration": {"core", "imaging", "defaults", "pk", "outcomes", "case", "mesh", "la", "problems", "io", "model", "run",
                    "studies"},
    "series": {"core", "defaults", "kinetics", "case"},
    "report": {"core", "imaging", "defaults", "pk", "outcomes", "case", "io", "calibration"},
}
# The command modules (one per subcommand, loaded by cli) sit on top and may import any package.
ALLOWED["commands"] = set(ALLOWED) | {"commands"}
TOP_LEVEL = {"__init__", "__main__", "cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """oncotwin modules ``name`` imports, each with whether the import sits inside a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, inner) for a in child.names if a.name in known)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = base[: len(base) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                targets = [f"{source}.{a.name}" for a in child.names if f"{source}.{a.name}" in known]
                found.extend((t, inner) for t in (targets or ([source] if source in known else [])))
            visit(child, inner)

    visit(tree, False)
    return [(t, f) for t, f in found if t != name and t != "oncotwin"]


@pytest.fixture(scope="module")
def graph() -> dict[str, list[tuple[str, bool]]]:
    mods = modules()
    return {name: imported(name, path, set(mods)) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def package_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles(graph):
    edges = {m: {t for t, _ in targets} for m, targets in graph.items()}
    # A package's __init__ importing its own modules is not a cycle with them.
    assert cycles(edges) == []


def test_layers_import_only_downwards(graph):
    wrong = []
    for module, targets in graph.items():
        pkg = package_of(module)
        if pkg in TOP_LEVEL:
            continue
        for target, _ in targets:
            other = package_of(target)
            if other != pkg and other not in ALLOWED[pkg]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_only_cli_and_entry_points_at_the_top_level():
    loose = {p.stem for p in PACKAGE.glob("*.py")} - TOP_LEVEL
    assert not loose
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} <= set(ALLOWED)


def test_few_imports_inside_functions(graph):
    inner = [f"{m} -> {t}" for m, targets in graph.items() for t, in_function in targets if in_function]
    assert len(inner) < 20, "\n".join(inner)


def test_no_file_over_500_lines_and_no_function_over_80():
    long_files, long_functions = [], []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > 500:
            long_files.append(f"{path.relative_to(PACKAGE)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long_functions.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {length} lines")
    assert not long_files and not long_functions, "\n".join(long_files + long_functions)
