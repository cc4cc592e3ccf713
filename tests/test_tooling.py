"""The code-quality checks run with the tests, so the one README command covers them all."""

from __future__ import annotations

import subprocess
import sys
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
