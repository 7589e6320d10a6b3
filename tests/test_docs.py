"""The design document's invariants name real tests (so a renamed or deleted test cannot
leave a rule unproven without this failing), and ARCHITECTURE.md lists every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test_")
    }


def test_every_test_the_design_document_names_exists() -> None:
    text = (ROOT / "docs" / "design.md").read_text()
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", text)
    assert len(named) > 40
    missing = [f"{f}::{t}" for f, t in named if t not in _tests_in(ROOT / "tests" / f)]
    assert missing == []
    rules = re.findall(r"^\d+\. \*\*", text, re.MULTILINE)
    proven = re.split(r"^\d+\. \*\*", text, flags=re.MULTILINE)[1:]
    assert len(rules) == len(proven) and all("Tests:" in rule for rule in proven)


def test_architecture_lists_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    modules = [
        p.relative_to(ROOT)
        for pkg in ("glint_tui", "glint_backup")
        for p in (ROOT / pkg).rglob("*.py")
        if p.name != "__init__.py"
    ]
    assert modules
    missing = [str(m) for m in modules if m.name not in text]
    assert missing == []
