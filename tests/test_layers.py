"""The package's layers only point down: no module imports one above it, and no import
circle anywhere in ``src/`` (imports inside functions and ``TYPE_CHECKING`` blocks count:
a circle there is still two modules that each need the other)."""

from __future__ import annotations

import ast
from pathlib import Path

import cinegen

SRC = Path(cinegen.__file__).parent

# HTTP's dialects and cinegen's own routes: each stands on the shared api modules alone.
DIALECTS = ["cinegen.api.openai", "cinegen.api.sora", "cinegen.api.native"]
# Lowest first. A module may import its own layer and those listed before it; it belongs
# to the entry naming it most precisely (a package's name covers its modules).
LAYERS: list[list[str]] = [
    ["cinegen.errors", "cinegen.version", "cinegen.progress", "cinegen.media"],  # no cinegen below
    # the request: GenerationSpec
    ["cinegen.limits", "cinegen.spec_choices", "cinegen.spec_parts", "cinegen.spec"],
    ["cinegen.registry", "cinegen.footprints"],  # models as data: what each can do, and holds
    ["cinegen.config"],  # settings
    ["cinegen.store", "cinegen.models"],  # the database; the embedded model's own code
    ["cinegen.provenance"],  # marks, C2PA, verify
    ["cinegen.safety"],  # the content policy
    ["cinegen.engine", "cinegen.characters", "cinegen.shot_planner"],  # specs -> frames
    ["cinegen.generation", "cinegen.files"],  # frames -> checked, marked, signed files
    ["cinegen.jobs"],  # the durable queue and its workers
    ["cinegen.api"],  # HTTP: what both dialects and the native routes share
    DIALECTS,  # none imports another (below)
    ["cinegen.web"],  # the studio's pages, over the same routes and services
    ["cinegen.api.app"],  # assembles them into one app
    ["cinegen.cli"],  # the `cinegen` command
    ["cinegen.__main__", "cinegen"],  # the entry points: `python -m cinegen`, `import cinegen`
]


def _module_name(path: Path) -> str:
    parts = ("cinegen", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module -> the cinegen modules it imports, anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:  # a module by its own name, a name by its module's
                    submodule = f"{base}.{alias.name}"
                    found.add(submodule if submodule in modules else base)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _layer(module: str) -> int:
    best = max(
        (len(prefix), i)
        for i, layer in enumerate(LAYERS)
        for prefix in layer
        if module == prefix or module.startswith(prefix + ".")
    )
    return best[1]


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                circles.append(sorted([v, *group]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}
GRAPH = _imports(MODULES)


def test_there_is_no_import_circle():
    assert _circles(GRAPH) == []


def test_every_module_has_a_layer():
    assert all(_layer(m) >= 0 for m in MODULES)


def test_no_module_imports_one_from_a_layer_above_it():
    upward = [
        f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
        for a, imported in sorted(GRAPH.items())
        for b in sorted(imported)
        if _layer(b) > _layer(a)
    ]
    assert upward == []


def test_no_dialect_imports_another():
    """The API's dialects and cinegen's own routes stand on the shared api modules only."""

    def dialect(module: str) -> str | None:
        return next((d for d in DIALECTS if module == d or module.startswith(d + ".")), None)

    across = [
        f"{a} imports {b}"
        for a, imported in sorted(GRAPH.items())
        for b in sorted(imported)
        if dialect(a) and dialect(b) not in (None, dialect(a))
    ]
    assert across == []


def test_the_check_sees_a_circle_and_an_upward_import():
    """The checks themselves: a made-up circle is found, and so is a low module reaching up."""
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _layer("cinegen.spec") < _layer("cinegen.engine.plan") < _layer("cinegen.api.app")
