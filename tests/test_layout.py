"""The architecture, checked from the source text (nothing is imported): the layers of ``mlm_core`` and who may
import whom, no import cycle, tooling (``mlm_core.testing``, ``bench/``, ``scripts/``, ``tests/``) fenced off from
the core and the app, and short modules.

Every ``import`` statement counts, those inside functions too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300

# Lower layers never import higher ones; a module may import its own layer and any lower one.
LAYERS = [
    ("leaves", ["mlm_core.errors", "mlm_core.params", "mlm_core.cache", "mlm_core.files", "mlm_core.turns"]),
    (
        "specs and the compiled pass",
        [
            "mlm_core.catalog",
            "mlm_core.shapes",
            "mlm_core.families",
            "mlm_core.architecture",
            "mlm_core.programs",
            "mlm_core.forward",
        ],
    ),
    ("models", ["mlm_core.model", "mlm_core.model_files", "mlm_core.loading"]),
    ("one pass per text", ["mlm_core.analysis"]),
    ("tasks", ["mlm_core.tasks"]),
    ("training", ["mlm_core.training"]),
    ("public API", ["mlm_core"]),
    ("command line", ["mlm_core.cli", "mlm_core.__main__"]),
    ("dashboard", ["pages", "streamlit_app"]),
    # Never imported by any layer above (test_the_core_and_the_app_never_import_tooling); tests/ too.
    ("tooling: test models, benchmarks, scripts", ["mlm_core.testing", "bench", "scripts"]),
]
TOOLING = ("mlm_core.testing", "bench", "scripts", "tests")


def source_files() -> list[Path]:
    return sorted(
        [
            *ROOT.glob("mlm_core/**/*.py"),
            *ROOT.glob("pages/**/*.py"),
            ROOT / "streamlit_app.py",
            *ROOT.glob("bench/**/*.py"),
            *ROOT.glob("scripts/**/*.py"),
        ]
    )


def runtime_files() -> list[Path]:
    """The core and the app: every source file outside the tooling."""
    return [path for path in source_files() if not is_tooling(module_name(path))]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_tooling(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in TOOLING)


def imported_names(path: Path, root: Path = ROOT) -> set[str]:
    """Every dotted name an import statement of ``path`` may refer to (``from a import b`` gives a and a.b)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """Our modules → the modules of ours they import."""
    modules = {module_name(path): path for path in source_files()}
    return {
        name: {other for other in imported_names(path) if other in modules and other != name}
        for name, path in modules.items()
    }


def layer_of(module: str) -> int:
    """The layer whose most specific prefix matches ``module``."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{module} belongs to no layer — add it to LAYERS"
    return best


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 30  # the whole tree was read
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' → '.join(error.args[1])}")


def test_a_cycle_would_be_found():
    """The checker itself, on a made-up graph: the same call must report a → b → a."""
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


def test_modules_import_only_their_own_or_lower_layers():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {other} ({LAYERS[layer_of(other)][0]})"
        for module, imports in import_graph().items()
        for other in imports
        if layer_of(other) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def reached_from_app(graph: dict[str, set[str]]) -> set[str]:
    """Every module the app loads: the router and every page script (the router runs them by path, not by import),
    and all they import, transitively."""
    reached, todo = set(), [module for module in graph if module == "streamlit_app" or module.startswith("pages")]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph.get(module, ()))
    return reached


def tooling_imports(paths: list[Path], root: Path = ROOT) -> list[str]:
    """'module imports name' for every import of the tooling in ``paths``."""
    return [
        f"{module_name(path, root)} imports {name}"
        for path in paths
        for name in sorted(imported_names(path, root))
        if is_tooling(name)
    ]


def test_the_app_never_reaches_the_tooling():
    reached = reached_from_app(import_graph())
    assert "pages.predict" in reached and "mlm_core.tasks.explain" in reached
    assert not [module for module in reached if is_tooling(module)]


def test_the_core_and_the_app_never_import_tooling():
    """No module of mlm_core's runtime layers, pages/ or streamlit_app.py imports mlm_core.testing, bench, scripts or
    tests — lazily either."""
    names = {module_name(path) for path in runtime_files()}
    assert {"mlm_core.catalog", "pages.predict", "streamlit_app"} <= names and "mlm_core.testing.serve" not in names
    offenders = tooling_imports(runtime_files())
    assert not offenders, "\n".join(offenders)


def test_a_planted_tooling_import_would_be_found(tmp_path):
    """The checks themselves, on a made-up page that imports a benchmark and a test reference inside a function:
    both must name them."""
    planted = tmp_path / "pages" / "planted.py"
    planted.parent.mkdir()
    planted.write_text(
        "def run():\n    from bench.rows import time_calls\n    import tests.references\n\n"
        "from mlm_core.tasks.predict import predict\n",
        encoding="utf-8",
    )
    assert tooling_imports([planted], root=tmp_path) == [
        "pages.planted imports bench.rows",
        "pages.planted imports bench.rows.time_calls",
        "pages.planted imports tests.references",
    ]
    graph = {**import_graph(), "pages.planted": {"mlm_core.tasks.predict", "bench.rows"}}
    assert "bench.rows" in reached_from_app(graph) and "mlm_core.testing.synthetic" in reached_from_app(
        {**graph, "mlm_core.tasks.predict": {"mlm_core.testing.synthetic"}}
    )


def test_the_core_never_imports_streamlit():
    offenders = [
        module_name(path)
        for path in ROOT.glob("mlm_core/**/*.py")
        if any(name == "streamlit" or name.startswith("streamlit.") for name in imported_names(path))
    ]
    assert not offenders


def test_no_module_is_longer_than_the_limit():
    """The core's and the app's modules (the tooling's scripts are not held to it)."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in runtime_files()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


PAGE_LINES = 150


def test_pages_are_short_stories():
    """A page is inputs → core call → render: at most PAGE_LINES lines; charts and sentences live elsewhere."""
    long = {
        path.name: n
        for path in ROOT.glob("pages/*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > PAGE_LINES
    }
    assert not long


def test_chart_builders_never_call_streamlit():
    """pages/charts/ holds pure builders (data in, chart out), testable without a server."""
    calls = {}
    for path in ROOT.glob("pages/charts/*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = [
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "st"
        ]
        if used or "streamlit" in imported_names(path):
            calls[path.name] = used or ["import streamlit"]
    assert not calls
