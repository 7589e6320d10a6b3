"""The layering rules of ARCHITECTURE.md, checked on the real source tree: import-linter's
contracts (pyproject.toml), Textual never loaded by the core at run time, a core that
never prints, and ruff."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is missing: install the test extra (pip install -e '.[test]')"
    return str(found)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(BIN)},
        capture_output=True,
        text=True,
    )


def test_the_import_contracts_hold() -> None:
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_contracts_catch_a_screen_reaching_past_the_backend_and_a_stray_sdk(
    tmp_path: Path,
) -> None:
    """The contracts are not vacuous: planted violations in a copy of the tree break them,
    and an ignore that matches no import is an error of its own."""
    for part in ("glint_tui", "glint_backup", "pyproject.toml"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, tmp_path / part)
    with open(tmp_path / "glint_tui/ui/screens/help.py", "a") as f:
        f.write("from glint_tui.core import sessions  # noqa\n")
    with open(tmp_path / "glint_backup/store.py", "a") as f:
        f.write("import keystoneauth1  # noqa\n")
    run = _lint_imports(tmp_path)
    assert run.returncode != 0
    assert "glint_tui.ui.screens.help -> glint_tui.core.sessions" in run.stdout
    assert "glint_backup.store -> keystoneauth1" in run.stdout

    config = tmp_path / "pyproject.toml"
    text = config.read_text()
    stale = '    "glint_tui.core.spool -> openstack",  # matches nothing\n'
    config.write_text(text.replace("ignore_imports = [\n", "ignore_imports = [\n" + stale))
    run = _lint_imports(tmp_path)
    assert run.returncode != 0
    assert "No matches for ignored import glint_tui.core.spool -> openstack" in run.stdout


def test_core_imports_without_loading_textual() -> None:
    code = (
        "import sys, pkgutil, importlib, glint_tui.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'glint_tui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _prints(path: Path) -> list[str]:
    """``print(...)`` calls and ``sys.stdout`` / ``sys.stderr`` uses in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            found.append(f"{path.name}:{node.lineno} print()")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr")
            and getattr(node.value, "id", None) == "sys"
        ):
            found.append(f"{path.name}:{node.lineno} sys.{node.attr}")
    return found


def test_the_core_never_prints() -> None:
    """Warnings and progress leave the core through callbacks, so the UI can show them
    and a script can route them; nothing in it writes to stdout or stderr itself."""
    offenders = [hit for p in (ROOT / "glint_tui" / "core").rglob("*.py") for hit in _prints(p)]
    assert offenders == []


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff_is_clean(args: list[str]) -> None:
    run = subprocess.run(
        [_tool("ruff"), *args, "--quiet", str(ROOT)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
