"""The operator's keys (keymap.json): they replace glint's, the footer and the help show
them, every binding has a sentence in the help, and a bad file is one line naming the
file and the binding id, exit 2, before the screen changes (fixed data, no network)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey

from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend
from glint_tui.ui.keyhelp import HELP
from glint_tui.ui.keymap import glint_bindings
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from glint_tui.ui.screens.help import HelpScreen
from tests.helpers import wait_until
from tests.ui_helpers import run_app, screen_text


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


def test_operator_keys_replace_glints_and_show_in_the_footer_and_the_help():
    keymap = {"matrix.toggle": "t", "matrix.apply": "A", "app.help": "f2"}

    async def body():
        app = GlintApp(
            StaticBackend(sample_matrix()),
            now=lambda: FIXED_NOW,
            refresh_interval=None,
            keymap=keymap,
        )
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            await pilot.pause()
            model, view = screen.model, screen.view
            row, ref = view.row, view.ref
            before = model.state(row, ref)[0]
            await pilot.press("space")  # glint's key for it no longer toggles
            assert model.state(row, ref)[0] is before
            await pilot.press("t")
            await wait_until(pilot, lambda: model.state(row, ref)[0] is not before, 5, "t toggles")
            footer = {k.key: k.description for k in screen.query(FooterKey)}
            assert footer.get("t") == "Toggle" and footer.get("A") == "Apply"
            assert footer.get("f2") == "Help" and "space" not in footer
            await pilot.press("question_mark")  # no longer the help key
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)
            await pilot.press("f2")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
            await pilot.pause()
            return screen_text(app)

    text = run_app(body)
    assert re.search(r"█t +Mark the cell", text), text  # the key column shows theirs
    assert re.search(r"█A +Review the plan", text)
    assert re.search(r"█f2 +This help", text)


def test_every_binding_has_a_sentence_in_the_help():
    missing = sorted(set(glint_bindings()) - set(HELP))
    assert missing == []


def _glint_ui(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLINT_")}
    env["GLINT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "glint_tui"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"matrix.togle": "t"}, "'matrix.togle': no such binding id (did you mean matrix.toggle?)"),
        ({"matrix.toggle": "ctrl+spce"}, "matrix.toggle: 'ctrl+spce' is not a key name"),
        ({"matrix.toggle": "a"}, "matrix.toggle: 'a' is already the key of matrix.apply"),
        ({"app.quit": "x"}, "app.quit: 'x' is already the key of matrix.cancel"),
        ({"matrix.toggle": 5}, "matrix.toggle: keys must be a string"),
        (["matrix.toggle", "t"], "must be a JSON object of binding ids and keys"),
        ("{not json", "not valid JSON"),
    ],
    ids=["unknown-id", "bad-key", "clash", "clash-with-app", "not-a-string", "list", "not-json"],
)
def test_a_bad_keymap_file_is_one_line_naming_the_file_and_the_key_exit_2(
    tmp_path: Path, content, expected
):
    keymap = tmp_path / "profiles" / "default" / "config" / "keymap.json"
    keymap.parent.mkdir(parents=True)
    keymap.write_text(content if isinstance(content, str) else json.dumps(content))
    done = _glint_ui(tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"glint: {keymap}: ") and expected in lines[0], lines[0]
    assert done.stdout == "", "the screen was never touched"
