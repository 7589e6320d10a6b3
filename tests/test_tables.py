"""The tables an operator reads in more than one place agree: exit codes (code, ``--help``,
README), and cell glyphs (matrix, CLI progress lines, UI), with an ASCII set for the Linux
console and never ``?`` (that key means Help). No network."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from glint_backup.errors import EXIT_CODES as BACKUP_EXIT_CODES
from glint_tui.commands.progress import ProgressPrinter
from glint_tui.core import errors, exitcodes
from glint_tui.core.events import ActionFinished, CellChanged, CopyProgress
from glint_tui.core.glyphs import DONE, FAILED, GLYPHS, MARKS
from glint_tui.core.model import CellState, ProjectRef

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _table_after(header: str) -> dict[int, str]:
    """``| code | meaning |`` rows of the first table after the README line *header*."""
    rest = README[README.index(header) :]
    table = next(block for block in rest.split("\n\n") if block.startswith("|"))
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", table, re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_the_readme_documents_exactly_glints_exit_codes() -> None:
    table = _table_after("### Exit codes (`glint`)")
    assert set(table) == set(exitcodes.MEANINGS)
    for code, name in exitcodes.MEANINGS.items():
        assert table[code].startswith(name), (code, table[code])


def test_the_readme_documents_exactly_glint_backups_exit_codes() -> None:
    assert set(_table_after("| exit | meaning |")) == set(BACKUP_EXIT_CODES)


def test_every_glint_error_exits_with_a_documented_code() -> None:
    kinds = [e for e in vars(errors).values() if isinstance(e, type)]
    kinds = [e for e in kinds if issubclass(e, errors.GlintError)]
    assert len(kinds) > 10
    assert {e.exit_code for e in kinds} <= set(exitcodes.MEANINGS)


@pytest.mark.parametrize("ascii_only", [False, True])
def test_glyphs_are_distinct_never_a_question_mark_and_ascii_where_asked(ascii_only) -> None:
    cells = [g.text(ascii_only) for g in GLYPHS.values()]
    assert len(set(cells)) == len(cells) == len(CellState)
    marks = [g.text(ascii_only) for g in MARKS]
    assert not any("?" in g for g in cells + marks)
    if ascii_only:
        assert all(g.isascii() and g.isprintable() for g in cells + marks)


@pytest.mark.parametrize("ascii_only", [False, True])
def test_cli_progress_speaks_the_matrix_glyphs(ascii_only, monkeypatch) -> None:
    monkeypatch.setenv("GLINT_ASCII", "1" if ascii_only else "0")
    monkeypatch.setenv("TERM", "xterm-256color")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    printer = ProgressPrinter(out)
    c2, c3 = ProjectRef("c2", "alpha"), ProjectRef("c3", "alpha")
    printer(CellChanged("a1", c2, CellState.VERIFYING))
    printer(CellChanged("a1", c3, CellState.TRANSFERRING))
    printer(CopyProgress("a1", "img", 50, 100, 10.0, 5.0))
    printer(CellChanged("a1", c3, CellState.ERROR, "Glance said no"))
    printer(ActionFinished("a1", "copy", "img", ok=False))
    printer(ActionFinished("a2", "copy", "other", ok=True))
    text = out.getvalue()
    verifying, transferring = GLYPHS[CellState.VERIFYING], GLYPHS[CellState.TRANSFERRING]
    assert f"c2:alpha{verifying.text(ascii_only)}" in text
    assert f"c3:alpha{transferring.text(ascii_only)}" in text
    assert f"{FAILED.text(ascii_only)} c3:alpha: Glance said no\n" in text
    assert f"{FAILED.text(ascii_only)} copy img failed\n" in text
    assert f"{DONE.text(ascii_only)} copy other done\n" in text
    assert "?" not in text
    assert text.isascii() == ascii_only


def test_an_interrupted_run_reports_cancelled_places_by_the_flag_not_the_wording() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out)
    printer.interrupted = True
    ref = ProjectRef("c2", "alpha")
    printer(CellChanged("a1", ref, CellState.ERROR, "stopped by the operator", cancelled=True))
    printer(CellChanged("a1", ref, CellState.ERROR, "cancelled"))  # a failure with that text
    assert out.getvalue() == f"{FAILED.text()} c2:alpha: cancelled\n"
