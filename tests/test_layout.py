"""The packages' layout: `bot/` imports `kurse/`, never the reverse, and no module imports
itself through others (an import circle usually names a module that is missing)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kurse", "bot")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the two packages by its dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> set[str]:
    """Every name ``module`` imports, at module level or inside a function; ``from x import
    y`` gives ``x.y`` (the module ``x.y`` if there is one, else a name in ``x``)."""
    names: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package the module is in
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names |= {f"{source}.{alias.name}" for alias in node.names}
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Which modules of the two packages each of them imports."""
    files = module_files(root)
    graph = {}
    for module, path in files.items():
        targets = set()
        for name in imported_names(module, path):
            if name in files:
                targets.add(name)
            elif name.rpartition(".")[0] in files:  # from x import y, y not a module
                targets.add(name.rpartition(".")[0])
        # A package's own __init__ is imported with every module in it; that is no circle.
        graph[module] = {t for t in targets if t != module and not module.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The import circles: each strongly connected group of modules, sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[tuple[str, ...]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_module_of_kurse_or_bot_imports_itself_through_others():
    found = set(cycles(import_graph()))

    assert found == set()


def test_the_domain_package_never_imports_telegram_or_the_bot_layer():
    offenders = [
        f"{module}: {name}"
        for module, path in module_files().items()
        if module.split(".")[0] == "kurse"
        for name in imported_names(module, path)
        if name.split(".")[0] in {"telegram", "bot"}
    ]

    assert offenders == []


def test_the_cycle_finder_names_a_circle_through_a_function_level_import(tmp_path):
    (tmp_path / "kurse").mkdir()
    (tmp_path / "bot").mkdir()
    (tmp_path / "kurse" / "__init__.py").write_text("")
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "kurse" / "a.py").write_text("from kurse import b\n")
    (tmp_path / "kurse" / "b.py").write_text("def f():\n    from kurse.c import g\n")
    (tmp_path / "kurse" / "c.py").write_text("from . import a\n")
    (tmp_path / "bot" / "d.py").write_text("import kurse.a\n")

    found = cycles(import_graph(tmp_path))

    assert found == [("kurse.a", "kurse.b", "kurse.c")]
