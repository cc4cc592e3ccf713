"""The benchmarks keep working: each runs in its tiny smoke mode (never timed here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "bench",
    [
        "bench.fanout",
        "bench.db_access",
        "bench.signup_burst",
        "bench.signup_burst --approval",
        "bench.signup_burst --scale",
        "bench.course_list",
        "bench.write_lock",
        "bench.certificates",
        "bench.figures",
    ],
)
def test_the_benchmark_runs_in_smoke_mode(bench):
    results = {p: p.read_bytes() for p in (ROOT / "bench" / "results").glob("*.jsonl")}

    result = subprocess.run(
        [sys.executable, "-m", *bench.split(), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # Smoke runs are not results: the recorded figures stay as they were.
    assert {p: p.read_bytes() for p in (ROOT / "bench" / "results").glob("*.jsonl")} == results
