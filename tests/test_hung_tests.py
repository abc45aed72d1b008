"""pyproject.toml's per-test timeout: a hung test fails alone, with its stack, and the run goes on,
for the suite's asyncio tests and for a test that waits on a child process alike."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HUNG = """
import asyncio
import subprocess
import sys


async def test_a_hung_coroutine() -> None:
    await asyncio.sleep(600)


def test_a_hung_child_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        child.wait()
    finally:
        child.kill()
        child.wait()


def test_the_next_test_still_runs() -> None:
    assert True
"""


def test_the_suite_has_a_per_test_timeout() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert options["ini_options"]["timeout"] > 0
    assert options["ini_options"]["timeout_method"] == "signal"


def test_a_hung_test_fails_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "test_hung.py").write_text(textwrap.dedent(HUNG))
    # The project's own pytest settings, with the ceiling lowered from minutes to a second.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:randomly",
            "--timeout",
            "1",
            str(tmp_path / "test_hung.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    summary = result.stdout.splitlines()[-1]
    assert "2 failed, 1 passed" in summary, result.stdout[-3000:]
    for name in ("test_a_hung_coroutine", "test_a_hung_child_process"):
        assert f"FAILED test_hung.py::{name} - Failed: Timeout" in result.stdout, result.stdout
