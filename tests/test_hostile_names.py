"""Names a cloud hands glint cannot drive the operator's terminal (real sandbox clouds).

Anyone who can create an image somewhere glint looks chooses its name. The name used here
carries an ESC colour sequence, a newline followed by a fake matrix row, a tab, a bidi
override and Textual markup (``[bold]``, and ``[/]``, which raises a MarkupError if it is
ever parsed). Every place glint shows it must show it escaped; JSON keeps it exact.
"""

from __future__ import annotations

import json

import pytest

from glint_tui.core.model import ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.widgets.details import DetailsPane
from glint_tui.ui.widgets.transfers import ActionLine
from tests.helpers import glint, random_bytes, unique, upload_image
from tests.ui_helpers import cursor_to, filter_to, run_app, screen_text, wait_for_review, wait_until

pytestmark = pytest.mark.sandbox

C1A, C2A = ProjectRef("c1", "alpha"), ProjectRef("c2", "alpha")
RAW = ("\x1b", "\u202e", "\x9b")  # ESC, RIGHT-TO-LEFT OVERRIDE, the C1 CSI
FORGED = "FORGED ●  ●  ●"


def hostile_name(prefix: str) -> str:
    return f"{unique(prefix)}\x1b[31mRED\n{FORGED}\u202eabc\t[bold]b[/bold] [/] \x9b2J"


def escaped_form(name: str) -> str:
    """What the operator must see instead (core.safetext's escapes)."""
    return (
        name.replace("\x1b", "\\x1b")
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\u202e", "\\u202e")
        .replace("\x9b", "\\x9b")
    )


@pytest.fixture
def hostile(sandbox):
    """An image at c1:alpha with a hostile name; it and any copy are deleted afterwards."""
    name = hostile_name("hostile")
    session = sandbox.session(C1A)
    try:
        image = upload_image(session, name, random_bytes(64 * 1024), description="x\x1b]0;pwn\x07")
    finally:
        session.close()
    yield image
    for ref in (C1A, C2A, ProjectRef("c3", "alpha")):
        s = sandbox.session(ref)
        try:
            for img in s.list_images():
                if img.name == name and img.owner == s.project_id:
                    s.delete_image(img.id)
        finally:
            s.close()


def assert_no_raw_controls(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"raw {ch!r} reached the terminal"


def test_hostile_image_name_cannot_forge_lines_in_glint_images(sandbox, hostile):
    table = glint(sandbox, "images")
    assert table.returncode == 0, table.stderr
    assert_no_raw_controls(table.stdout)
    lines = table.stdout.splitlines()
    assert not any(line.startswith("FORGED") for line in lines), "a name forged a row"
    doc = json.loads(glint(sandbox, "images", "--json").stdout)
    # one header line plus exactly one line per row: nothing split a row in two
    assert len(lines) == 1 + len(doc["rows"])
    [row] = [line for line in lines if line.startswith(hostile.name.split("\x1b")[0])]
    assert escaped_form(hostile.name)[:20] in row  # the name column is at least 20 wide
    # JSON carries the exact name (JSON's own escapes), not the display form
    assert hostile.name in {r["name"] for r in doc["rows"]}


def test_hostile_image_name_is_escaped_in_copy_progress_and_plan(sandbox, hostile, tmp_path):
    copy = glint(sandbox, "copy", hostile.id, "--to", "c2:alpha")
    assert copy.returncode == 0, copy.stderr
    assert_no_raw_controls(copy.stderr)
    assert not any(line.startswith("FORGED") for line in copy.stderr.splitlines())
    assert escaped_form(hostile.name) in copy.stderr  # the plan line and "✓ copy … done"
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({hostile.name: ["c1:alpha", "c2:alpha", "c3:alpha"]}))
    plan = glint(sandbox, "plan", str(desired))
    assert plan.returncode == 0, plan.stderr
    assert_no_raw_controls(plan.stdout)
    copy_line, summary = plan.stdout.splitlines()  # one line per action, then the totals
    assert copy_line.startswith("copy ")
    assert copy_line.endswith("c3:alpha  (64.0 KiB) by stream, 64.0 KiB through this host")
    assert escaped_form(hostile.name) in copy_line and summary.startswith("1 copy")


def test_hostile_image_name_is_shown_escaped_in_the_tui(sandbox, hostile):
    prefix = hostile.name.split("\x1b")[0]
    shown = escaped_form(hostile.name)

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_until(pilot, lambda: app.main and app.main.model.matrix.columns, 60, "inv")
            await filter_to(pilot, prefix)
            screen = app.main
            await wait_until(pilot, lambda: len(screen.model.rows) == 1, 10, "the hostile row")
            line = "".join(seg.text for seg in screen.view.render_line(1))
            assert_no_raw_controls(line)
            # escaped as text, cut in the middle to the column's width: both ends show
            assert shown[: len(prefix) + 8] in line  # "…\x1b[31m" as text
            assert shown[-12:] in line  # "[/] \x9b2J" as text
            details = str(screen.query_one(DetailsPane).render())
            assert_no_raw_controls(details)
            assert shown in details  # markup shown literally: "[bold]b[/bold] [/]"
            assert details.splitlines()[0].startswith(prefix), "the name broke the pane's lines"

            # the review and the transfers panel show it escaped too, and [/] breaks nothing
            await cursor_to(pilot, C2A)
            await pilot.press("space", "a")
            review = await wait_for_review(pilot)
            plan = str(review.query_one("#plan-text").render())
            assert shown in plan
            assert_no_raw_controls(plan)
            await pilot.press("y")

            def copied():
                model = screen.model
                r = model.matrix.row(model.rows[0].key) if model.rows else None
                return not model.running and not screen.refreshing and r and r.cell(C2A).present

            await wait_until(pilot, copied, 120, "the copy at c2:alpha after refresh")
            action = str(screen.query_one(ActionLine).query_one(".action-name").render())
            assert action == f"copy {shown}"
            assert_no_raw_controls(screen_text(app))
            # what the operator types is not markup either (it would raise MarkupError)
            await filter_to(pilot, "b[/bold] [/] \\")
            status = str(screen.query_one("#status").render())
            assert "filter b[/bold] [/] \\" in status

    run_app(body)
