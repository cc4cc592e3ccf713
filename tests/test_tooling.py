"""The code-quality checks run with the tests, so the one README command covers them all."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_ruff_finds_no_lint_errors():
    result = run("ruff", "check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_no_file():
    result = run("ruff", "format", "--check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_checks_security_unused_arguments_returns_and_pytest_style_everywhere():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    lint = lint["lint"]

    assert {"S", "ARG", "RET", "SIM", "PT"} <= set(lint["select"])
    assert lint["ignore"] == ["RUF001", "RUF002", "RUF003"]  # only the typographic quotes
    assert not {"S", "ARG", "RET", "SIM", "PT"} & set(lint["per-file-ignores"].get("*", []))


def test_every_file_pattern_ruff_makes_exceptions_for_says_why_above_it():
    lines = (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index("[tool.ruff.lint.per-file-ignores]") + 1
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("["))
    entries = [n for n in range(start, end) if lines[n].startswith('"')]

    unexplained = [lines[n] for n in entries if not lines[n - 1].startswith("# ")]

    assert entries
    assert unexplained == []


def test_the_pre_commit_hooks_run_the_same_checks_as_these_tests():
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    entries = [
        line.split("entry:", 1)[1].strip() for line in config.splitlines() if "entry:" in line
    ]

    assert [entry.split()[:3] for entry in entries] == [
        [".venv/bin/ruff", "check", "--force-exclude"],
        [".venv/bin/ruff", "format", "--check"],
        [".venv/bin/mypy"],
    ]


def test_mypy_strict_passes_on_the_domain_package():
    result = run("mypy")

    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_checks_every_package_strictly_with_no_error_code_switched_off():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    loosened = {
        tuple(override["module"]): sorted(set(override) - {"module", "ignore_missing_imports"})
        for override in config.get("overrides", [])
    }

    assert config["packages"] == ["kurse", "bot"]
    assert config["strict"] is True
    assert config["warn_unused_ignores"] is True
    assert "disable_error_code" not in config
    assert {module: keys for module, keys in loosened.items() if keys} == {}


def test_every_type_ignore_in_kurse_names_its_error_code():
    bare = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "kurse").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "# type: ignore" in line and "# type: ignore[" not in line
    ]

    assert bare == []
