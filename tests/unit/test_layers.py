"""The layers docs/architecture.md describes: which package may import which, and demo's place.

The framework (everything but `demo/`, `cli/` and the tests) never imports the demo shop. The
one exception is the served graph's wiring at the bottom of each `graphs/<pattern>.py`: one
import from `demo`, after every function and class, whose names are used only by module-level
statements (``SERVED_OPTIONS``, ``graph``), never inside a factory.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FOUNDATIONS = {"state", "tools", "checkpointers", "memory"}
GUARDS = {"guardrails", "observability"}
RUNTIME = FOUNDATIONS | GUARDS | {"models", "nodes"}
ALLOWED_IMPORTS: dict[str, set[str]] = {
    **{package: set() for package in FOUNDATIONS},
    "guardrails": set(),
    "observability": {"guardrails"},
    "models": {"tools"},
    "nodes": FOUNDATIONS | GUARDS | {"models"},
    "graphs": RUNTIME | {"graphs", "demo"},
    "demo": FOUNDATIONS | {"models", "nodes", "demo"},
    "workers": RUNTIME | {"graphs", "workers"},
    "ops": RUNTIME | {"graphs", "workers", "ops"},
    "server": {"state", "checkpointers", "memory", "ops"} | GUARDS,
    "cli": RUNTIME | {"graphs", "demo", "workers", "ops"},
}
PROJECT_PACKAGES = set(ALLOWED_IMPORTS)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported_package(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module.split(".")[0]]
    return []


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_architecture_layers_hold() -> None:
    wrong = []
    for package, allowed in ALLOWED_IMPORTS.items():
        for path in _modules(package):
            for node in ast.walk(_tree(path)):
                for imported in set(_imported_package(node)) & PROJECT_PACKAGES:
                    if imported not in allowed | {package}:
                        wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not wrong, "imports docs/architecture.md does not allow:\n" + "\n".join(wrong)


def test_every_shipped_package_has_a_layer() -> None:
    """A package pyproject ships but the table omits would escape the check above."""
    found = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = {
        name.rstrip("*") for name in found["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert shipped == PROJECT_PACKAGES


def test_the_layers_have_no_cycle() -> None:
    """No package may reach itself through the packages it may import (its own modules aside)."""
    edges = {package: allowed - {package} for package, allowed in ALLOWED_IMPORTS.items()}
    for start in edges:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            current = todo.pop()
            assert current != start, f"{start} may reach itself through {sorted(seen)}"
            if current not in seen:
                seen.add(current)
                todo.extend(edges[current])


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def demo_problems(path: Path) -> list[str]:
    """What breaks the rule for demo in one graphs/ module (empty: it holds)."""
    tree, where = _tree(path), path.name
    nested = [n for n in ast.walk(tree) if n not in tree.body and _imported_package(n)]
    problems = [
        f"{where}: imports demo inside a function or class"
        for node in nested
        if "demo" in _imported_package(node)
    ]
    imports = [n for n in tree.body if _imported_package(n) == ["demo"]]
    if len(imports) > 1:
        problems.append(f"{where}: {len(imports)} imports of demo (one wires the graph)")
    if not imports:
        return problems
    if any(isinstance(n, _DEFINITIONS) for n in tree.body[tree.body.index(imports[0]) :]):
        problems.append(f"{where}: a function or class follows the demo import")
    names = {
        (alias.asname or alias.name).split(".")[0]
        for node in imports
        for alias in node.names  # type: ignore[attr-defined]
    }
    for node in ast.walk(tree):
        if isinstance(node, _DEFINITIONS):
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & names
            if used:
                problems.append(f"{where}: {node.name} uses {sorted(used)} from demo")
    return problems


def test_graphs_use_demo_only_to_wire_the_served_graph() -> None:
    problems = [problem for path in _modules("graphs") for problem in demo_problems(path)]
    assert not problems, "\n".join(problems)


def test_every_pattern_module_serves_a_graph_wired_from_its_options() -> None:
    from graphs.registry import GRAPH_BUILDERS, build_graph

    for graph_id in GRAPH_BUILDERS:
        module = __import__(f"graphs.{graph_id}", fromlist=["graph"])
        assert isinstance(module.SERVED_OPTIONS, dict), graph_id
        served = module.graph.get_graph().draw_mermaid()
        assert build_graph(graph_id).get_graph().draw_mermaid() == served, graph_id


def test_the_demo_rule_catches_each_way_of_breaking_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def build_x_graph():\n"
        "    from demo.fleet import fleet_tools\n"
        "    return order_tools() + fleet_tools()\n\n"
        "from demo.orders import order_tools  # noqa: E402\n"
        "from demo.teams import research_team  # noqa: E402\n\n"
        "def later():\n    return research_team()\n\n"
        "graph = build_x_graph()\n"
    )
    assert sorted(demo_problems(bad)) == [
        "bad.py: 2 imports of demo (one wires the graph)",
        "bad.py: a function or class follows the demo import",
        "bad.py: build_x_graph uses ['order_tools'] from demo",
        "bad.py: imports demo inside a function or class",
        "bad.py: later uses ['research_team'] from demo",
    ]
