"""No module of `kurse/` or `bot/` uses another module's private names (``_AttendanceList``,
``_FONT``): what two modules share is a public, documented part of one of them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kurse", "bot")


def _private(name: str) -> bool:
    # ``_`` alone is gettext's marker of a text to translate (`bot.i18n`), not private.
    return name.startswith("_") and not name.startswith("__") and name != "_"


def borrowed_private_names(source: str, module: str) -> list[str]:
    """``module.name`` for each private name ``source`` imports from one of our modules or
    reads as an attribute of one it imported."""
    tree = ast.parse(source)
    found: list[str] = []
    ours: dict[str, str] = {}  # local name -> our module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _private(alias.name):
                    found.append(full)
                else:  # `from kurse import exports`: a module, whose attributes are read
                    ours[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    ours[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ours
            and ours[node.value.id] != module
            and _private(node.attr)
        ):
            found.append(f"{ours[node.value.id]}.{node.attr}")
    return found


def test_the_check_finds_a_private_name_imported_or_read_from_another_module():
    source = "from kurse.exports import _FONT, spreadsheet_csv\nfrom kurse import db\ndb._x\n"

    assert borrowed_private_names(source, "kurse.report") == ["kurse.exports._FONT", "kurse.db._x"]


def test_no_module_uses_another_modules_private_names():
    borrowed = {
        str(path.relative_to(ROOT)): names
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (
            names := borrowed_private_names(
                path.read_text(encoding="utf-8"),
                ".".join(path.relative_to(ROOT).with_suffix("").parts),
            )
        )
    }

    assert borrowed == {}
