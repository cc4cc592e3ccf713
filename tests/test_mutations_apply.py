"""The mutation check's list (`tests/mutations.py`) still fits the code it mutates."""

from __future__ import annotations

from tests import mutations


def test_every_mutation_snippet_is_found_exactly_once_in_its_file():
    assert mutations.problems() == []


def test_every_test_file_the_mutation_check_runs_exists():
    assert [t for t in mutations.TESTS if not (mutations.ROOT / t).is_file()] == []
