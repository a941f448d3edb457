"""solwatch as a new user gets it: a wheel built from this tree, installed into a fresh
virtualenv, run from an empty folder (no checkout, no editable install)."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
BUILD_LEFTOVERS = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def _run(command: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a command with no solwatch settings from the environment; fail with its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLWATCH_")}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from a copy of this source tree."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=BUILD_LEFTOVERS)
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", "dist"], base)
    [built] = (base / "dist").glob("solwatch-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv with the wheel and its dependencies installed."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", str(venv)], venv.parent)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], venv.parent)
    return venv / "bin"


def test_the_wheel_carries_every_package_and_runtime_file(wheel: Path) -> None:
    """Each package of the source, the templates and the migrations are in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {
        path.parent.relative_to(ROOT).as_posix()
        for path in (ROOT / "solwatch").rglob("__init__.py")
    }
    assert {f"{package}/__init__.py" for package in packages} <= names
    templates = {f"solwatch/templates/{p.name}" for p in (ROOT / "templates").glob("*-*.*")}
    assert templates
    assert templates <= names
    migrations = {
        f"solwatch/store/migrations/versions/{p.name}"
        for p in (ROOT / "solwatch" / "store" / "migrations" / "versions").glob("*.py")
    }
    assert migrations
    assert migrations <= names
    assert "solwatch/store/migrations/script.py.mako" in names


def test_the_installed_demo_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    """`solwatch demo` in a fresh virtualenv imports the sample and writes its digests."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run([str(installed / "solwatch"), "demo"], empty)
    assert "Imported into sqlite:///solwatch.db" in result.stdout
    assert "audiences written to solwatch-demo/outbox/" in result.stdout
    digests = list((empty / "solwatch-demo" / "outbox").glob("*.eml"))
    assert digests
    subjects = [email.message_from_bytes(path.read_bytes())["Subject"] for path in digests]
    assert all(subjects)
    assert "solwatch/templates" not in result.stderr


def test_the_installed_command_says_its_version(installed: Path, tmp_path: Path) -> None:
    """`solwatch --version` names the installed version."""
    from importlib.metadata import version

    result = _run([str(installed / "solwatch"), "--version"], tmp_path)
    assert result.stdout.strip() == f"solwatch, version {version('solwatch')}"
