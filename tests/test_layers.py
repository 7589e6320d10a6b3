"""The layering rules of ARCHITECTURE.md, checked on the real source tree."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_textual() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "glint_tui" / "core").rglob("*.py")
        if "textual" in _imports(p)
    ]
    assert offenders == []


def test_core_imports_without_loading_textual() -> None:
    code = (
        "import sys, pkgutil, importlib, glint_tui.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'glint_tui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_only_the_adapter_talks_to_openstack() -> None:
    allowed = {
        *(ROOT / "glint_tui" / "core" / "clouds" / "openstack").glob("*.py"),
        ROOT / "glint_tui" / "sandbox" / "identity.py",
    }
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in ("glint_tui", "glint_backup")
        for p in (ROOT / pkg).rglob("*.py")
        if p not in allowed and _imports(p) & {"openstack", "keystoneauth1"}
    ]
    assert offenders == []


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff not installed",
)
def test_ruff_check_and_format_are_clean() -> None:
    ruff = (
        str(Path(sys.executable).parent / "ruff")
        if (Path(sys.executable).parent / "ruff").exists()
        else "ruff"
    )
    check = subprocess.run([ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [ruff, "format", "--check", "--quiet", str(ROOT)], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
