"""The import rules of docs/architecture.md, read from the source (no imports are executed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "deepi2i"

# layer -> layers it must never import, at module level or inside a function
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "deepi2i.networks": (
        "deepi2i.training",
        "deepi2i.data",
        "deepi2i.metrics",
        "deepi2i.cli",
        "deepi2i.translate",
        "deepi2i.web",
        "deepi2i.demo",
        "deepi2i.visualize",
        "deepi2i.convert",
    ),
    "deepi2i.metrics": (
        "deepi2i.training",
        "deepi2i.cli",
        "deepi2i.web",
        "deepi2i.demo",
        "deepi2i.translate",
        "deepi2i.visualize",
    ),
    "deepi2i.data": ("deepi2i.networks", "deepi2i.training", "deepi2i.metrics", "deepi2i.cli", "deepi2i.translate"),
    "deepi2i.training": ("deepi2i.metrics", "deepi2i.cli", "deepi2i.web", "deepi2i.demo", "deepi2i.translate"),
    "deepi2i.checkpoint": ("deepi2i.networks", "deepi2i.training", "deepi2i.metrics", "deepi2i.data"),
    "deepi2i._io": ("deepi2i.",),
    "deepi2i.version": ("deepi2i.",),
    "deepi2i.config": ("deepi2i.",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> list[tuple[str, bool]]:
    """(imported deepi2i module, at module level?) for every import in `name`'s source."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    top |= {id(n) for n in tree.body if isinstance(n, ast.If) for n in n.body}  # `if TYPE_CHECKING:` blocks
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "deepi2i":
            for alias in node.names:  # `from deepi2i import losses` imports the module deepi2i.losses
                sub = f"{node.module}.{alias.name}"
                found.append((sub if sub in MODULES else node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names if a.name.split(".")[0] == "deepi2i"]
    return found


def within(module: str, layer: str) -> bool:
    return module == layer.rstrip(".") or module.startswith(layer if layer.endswith(".") else layer + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_never_import_what_sits_above_them(layer):
    broken = [
        f"{name} imports {target}"
        for name in MODULES
        if within(name, layer)
        for target, _ in imports(name)
        for banned in FORBIDDEN[layer]
        if within(target, banned)
    ]
    assert not broken, "\n".join(broken)


def test_no_import_cycles_between_modules():
    """Module-level imports form a DAG (a package's __init__ counts as the module it is)."""
    graph = {name: {t for t, top in imports(name) if top and t in MODULES and t != name} for name in MODULES}
    # a package __init__ that re-exports its own submodules is not a cycle with them
    graph = {
        n: {t for t in ts if not (n in MODULES and MODULES[n].name == "__init__.py" and within(t, n))}
        for n, ts in graph.items()
    }
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_rules_see_real_imports():
    """The checker reads imports at all (a parser that found none would pass every rule)."""
    assert ("deepi2i.networks.layers", True) in imports("deepi2i.networks.adaptor")
    assert ("deepi2i.losses", True) in imports("deepi2i.training.objectives")
    assert any(t == "deepi2i.training" and not top for t, top in imports("deepi2i.cli"))
    assert within("deepi2i.training.loop", "deepi2i.training") and not within("deepi2i.trainingx", "deepi2i.training")
