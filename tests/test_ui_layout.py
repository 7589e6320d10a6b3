"""What an operator sees on small terminals and what the keys they press do, from a fixed
inventory (no network): help scrolls, hidden columns are announced, Help/Quit stay in
the footer, quitting with toggles asks, locked cells refuse deletion, and the Linux
console gets ASCII only. (A finished delete-only run's full bar is proven on the real
sandbox, by test_ui_flows.test_deletion_needs_the_typed_count.)"""

from __future__ import annotations

import pytest
from textual.widgets import SelectionList
from textual.widgets._footer import FooterKey

from glint_tui.core.model import CellState, ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from glint_tui.ui.screens.confirm import ConfirmModal
from glint_tui.ui.screens.help import HelpScreen
from glint_tui.ui.screens.upload import UploadModal
from tests.helpers import wait_until
from tests.ui_helpers import cursor_to, run_app, screen_text


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


def _app() -> GlintApp:
    return GlintApp(
        StaticBackend(sample_matrix(failed_column=True)),
        now=lambda: FIXED_NOW,
        refresh_interval=None,
    )


async def _loaded(pilot):
    app = pilot.app
    await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "sample inventory")
    await pilot.pause()
    return app.main


def _status(screen) -> str:
    left = str(screen.query_one("#status").render())
    return left + " | " + str(screen.query_one("#status-right").render())


def _cell(screen, state: CellState) -> tuple[int, int]:
    """(row, column) of the first cell in *state*."""
    model = screen.model
    for r, row in enumerate(model.rows):
        for c, ref in enumerate(model.columns):
            if model.state(row, ref)[0] is state and model.matrix.status[ref].ok:
                return r, c
    raise AssertionError(f"no {state} cell in the sample")


async def _cursor(pilot, row: int, col: int) -> None:
    view = pilot.app.main.view
    await pilot.press("home", *["h"] * view.cursor_col, *["l"] * col, *["j"] * row)
    assert (view.cursor_row, view.cursor_col) == (row, col)


@pytest.mark.parametrize("size", [(80, 24), (160, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_scrolls_to_the_cell_legend(size):
    async def body():
        app = _app()
        async with app.run_test(size=size) as pilot:
            await _loaded(pilot)
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
            await pilot.pause()
            scroller = app.screen.query_one("#help-body")
            assert app.focused is scroller
            if size[1] >= 60:  # every key's sentence and the legend fit whole
                assert scroller.max_scroll_y == 0
                text = screen_text(app)
                assert "space" in text and "delete planned" in text and "Quit" in text
                return
            assert scroller.max_scroll_y > 0
            assert "delete planned" not in screen_text(app)  # below the fold
            assert "matrix.up" not in screen_text(app)  # ids only on wide terminals
            await pilot.press("pagedown")
            await wait_until(pilot, lambda: scroller.scroll_y > 0, 5, "PageDown to scroll")
            await pilot.press("end")
            await wait_until(
                pilot, lambda: scroller.scroll_y == scroller.max_scroll_y, 5, "End to scroll"
            )
            text = screen_text(app)
            assert "delete planned" in text and "transferring" in text
            await pilot.press("home")
            await wait_until(pilot, lambda: scroller.scroll_y == 0, 5, "Home to scroll back")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is app.main, 5, "help closed")

    run_app(body)


def test_hidden_columns_are_announced_and_headers_stay_whole():
    async def body():
        app = _app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _loaded(pilot)
            view = screen.view
            assert "cols 1–4 of 6 →" in _status(screen)
            assert "c3 (beta)" not in view.render_line(0).text
            await pilot.press(*["l"] * 5)
            assert "← cols 3–6 of 6" in _status(screen)
            header = view.render_line(0).text
            assert header[view.label_width :].startswith("c2 (alpha)")  # not "(alpha)"
            assert "!c3 (beta)" in header  # the failed column, now on screen
            await pilot.press("h", "h", "h", "h")
            assert screen.view.cursor_col == 1 and "cols 2–5 of 6" in _status(screen)
            await pilot.press("h")
            assert "cols 1–4 of 6 →" in _status(screen)
            await pilot.resize_terminal(160, 30)
            await wait_until(pilot, lambda: "cols" not in _status(screen), 5, "no indicator")

    run_app(body)


def test_image_column_sizes_to_the_names_and_widens_and_narrows_with_keys():
    """The names of the sample fit whole; < and > move the column's edge by 4 cells, so
    one more cloud column fits; a long name keeps its end (the date of cloud images)."""
    from glint_tui.ui.widgets.matrix_view import _fit_middle

    async def body():
        app = _app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _loaded(pilot)
            view = screen.view
            longest = max(len(r.name) for r in screen.model.rows)
            line = view.render_line(1).text
            assert screen.model.rows[0].name in line[: view.label_width]
            natural = view.label_width
            assert natural >= longest + 14, "whole names, a size and a short hash"
            await pilot.press("less_than_sign", "less_than_sign")
            assert view.label_width == natural - 8
            assert "cols 1–5 of 6 →" in _status(screen)
            await pilot.press(*["greater_than_sign"] * 30)  # never past the screen
            assert view.label_width <= 80 - view.col_width
            await pilot.press("less_than_sign")
            assert view.label_width < 80 - view.col_width, "presses past the limit do not count"

    run_app(body)
    cut = _fit_middle("ubuntu-24.04-server-cloudimg-amd64-20261201", 22)
    assert cut.startswith("ubuntu") and cut.endswith("20261201") and len(cut) == 22


@pytest.mark.parametrize("width", [60, 80, 100])
def test_footer_always_offers_help_and_quit(width):
    async def body():
        app = _app()
        async with app.run_test(size=(width, 24)) as pilot:
            screen = await _loaded(pilot)

            def keys():
                return {k.key for k in screen.query(FooterKey)}

            await wait_until(pilot, lambda: {"question_mark", "q"} <= keys(), 5, "? and q")
            footer = screen.query_one("GlintFooter")
            used = sum(k.outer_size.width for k in footer.query(FooterKey))
            assert used <= width, "footer keys overflow the screen"
            if width == 100:
                assert {"r", "space", "a"} <= keys()

    run_app(body)


def test_quit_with_pending_toggles_asks_first():
    async def body():
        app = _app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _loaded(pilot)
            r, c = _cell(screen, CellState.ABSENT)
            await _cursor(pilot, r, c)
            await pilot.press("space", "j")
            r2, c2 = _cell(screen, CellState.ABSENT)
            await _cursor(pilot, r2, c2)
            await pilot.press("space")
            assert screen.model.pending == 2
            await pilot.press("q")
            modal = await wait_until(
                pilot, lambda: isinstance(app.screen, ConfirmModal) and app.screen, 5, "question"
            )
            assert "2 pending changes will be lost. Quit?" in str(
                modal.query_one(".dialog-text").render()
            )
            await pilot.press("n")
            await wait_until(pilot, lambda: app.screen is screen, 5, "back on the matrix")
            assert screen.model.pending == 2 and app.is_running
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), 5, "question")
            await pilot.press("y")
            await wait_until(pilot, lambda: not app.is_running, 5, "the app to exit")
        assert app.return_code == 0

    run_app(body)


def test_quit_without_pending_toggles_is_immediate():
    async def body():
        app = _app()
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(pilot)
            await pilot.press("q")
            await wait_until(pilot, lambda: not app.is_running, 5, "the app to exit")

    run_app(body)


def test_locked_cell_cannot_be_marked_for_deletion():
    async def body():
        app = _app()
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            screen = await _loaded(pilot)
            r, c = _cell(screen, CellState.LOCKED)
            await _cursor(pilot, r, c)
            await pilot.press("space")
            row, ref = screen.view.row, screen.view.ref
            assert screen.model.state(row, ref)[0] is CellState.LOCKED
            assert screen.model.pending == 0
            await wait_until(
                pilot,
                lambda: "owned by another project: glint will not" in screen_text(app).lower(),
                5,
                "the refusal notification",
            )
            # copying into the same column's absent cells is still fine
            for down in range(1, len(screen.model.rows)):
                other = screen.model.rows[(r + down) % len(screen.model.rows)]
                if screen.model.state(other, ref)[0] is CellState.ABSENT:
                    await _cursor(pilot, screen.model.rows.index(other), c)
                    await pilot.press("space")
                    assert screen.model.state(other, ref)[0] is CellState.WANTED
                    break
            else:
                raise AssertionError("no absent cell in the locked column")

    run_app(body)


def test_details_say_copy_planned_and_delete_planned():
    async def body():
        app = _app()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await _loaded(pilot)
            details = screen.query_one("#details")
            await _cursor(pilot, *_cell(screen, CellState.ABSENT))
            await pilot.press("space")
            assert ": copy planned" in str(details.render())
            await _cursor(pilot, *_cell(screen, CellState.PRESENT))
            await pilot.press("space")
            text = str(details.render())
            assert ": delete planned" in text and "unwanted" not in text

    run_app(body)


def test_linux_console_gets_ascii_only(monkeypatch):
    monkeypatch.setenv("TERM", "linux")

    async def body():
        app = _app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _loaded(pilot)
            model = screen.model
            await _cursor(pilot, *_cell(screen, CellState.ABSENT))
            await pilot.press("space")
            plan = screen.backend.make_plan(model.matrix, model.desired)
            model.start_run(plan)
            screen.query_one("#transfers").start(model.run)
            await pilot.press("l", "l", "l", "l", "l")  # scrolled: the indicator shows
            await pilot.pause(0.3)
            texts = [screen_text(app)]
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
            await pilot.pause(0.2)
            texts.append(screen_text(app))
        for text in texts:
            odd = {ch for ch in text if not (" " <= ch <= "~")}
            assert odd == set(), f"non-ASCII on the Linux console: {sorted(odd)}"
        assert "<- cols" in texts[0] and "~" in texts[0]  # arrow, and a name cut with ~

    run_app(body)


def test_an_owner_is_shown_by_its_project_name_where_glint_lists_that_project(tmp_path):
    """A public image of c1's alpha seen from c1 (beta): the details say "owner alpha",
    not alpha's project id; an owner glint lists nowhere keeps its id."""
    from glint_tui.ui.widgets.details import owner_name
    from tests.fakebed import FakeBed

    bed = FakeBed(tmp_path)
    image = bed.put("c1:alpha", "public-tools", b"p" * 1000, visibility="public")
    matrix = bed.matrix()
    beta = ProjectRef("c1", "beta")
    [row] = [r for r in matrix.rows if r.name == "public-tools"]
    seen = row.cell(beta).image
    assert seen is not None and seen.owner == image.owner != "alpha"
    assert owner_name(matrix, beta, seen.owner) == "alpha"
    assert owner_name(matrix, beta, "0123abcd") == "0123abcd"


def test_the_typed_deletion_count_is_the_only_dialog_on_screen():
    """Stacked dialogs drew two borders over each other: the review steps aside while
    the typed confirmation asks, and comes back when it is cancelled."""
    from glint_tui.ui.screens.confirm import TypedConfirmModal
    from tests.ui_helpers import wait_for_review

    async def body():
        app = _app()
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(pilot)
            await pilot.press("l", "space", "a")  # alma-20.00 is owned at c1 (beta): delete
            review = await wait_for_review(pilot)
            assert review.plan.deletes
            await pilot.press("y")
            await wait_until(pilot, lambda: isinstance(app.screen, TypedConfirmModal), 5, "ask")
            assert not review.query_one("#plan-dialog").display
            top = screen_text(app).count("▀" * 60)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is review, 5, "back to the review")
            assert review.query_one("#plan-dialog").display
            return top

    assert run_app(body) == 1, "one dialog border at the top, not two"


def _two_region_matrix():
    """One EC2 account seen in two regions (two columns, one repository and project) beside
    an OpenStack column; the image is in us-east-1 only."""
    from glint_tui.core.inventory import Listing, build_matrix
    from glint_tui.core.model import ImageRecord

    account = "123456789012"
    east, west = (ProjectRef("ec2", account, r) for r in ("us-east-1", "us-west-2"))
    image = ImageRecord(
        id="ami-0123456789abcdef0", name="debian-13", owner=account, visibility="private",
        size=2 << 30, disk_format="raw", container_format="bare", status="active",
        os_hash_algo="sha512", os_hash_value="ab" * 64,
    )  # fmt: skip
    listings = [Listing(ProjectRef("c1", "alpha"), project_id="alpha-id")]
    listings += [Listing(east, project_id=account, images=[image]), Listing(west, account)]
    matrix = build_matrix(listings)
    matrix.refreshed_at = FIXED_NOW
    return matrix, east, west


def test_two_region_columns_of_one_repository_are_told_apart_everywhere_at_80x24():
    async def body():
        matrix, _east, west = _two_region_matrix()
        app = GlintApp(StaticBackend(matrix), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _loaded(pilot)
            header = screen.view.render_line(0).text
            assert "ec2/us-east-1" in header and "ec2/us-west-2" in header, header
            await cursor_to(pilot, west)
            await pilot.pause()
            details = str(screen.query_one("#details").render())
            assert "ec2/us-west-2 (123456789012): " in details, details
            assert "present ec2/us-east-1 (123456789012)" in details, details
            await pilot.press("u")
            await wait_until(pilot, lambda: isinstance(app.screen, UploadModal), 5, "the form")
            targets = app.screen.query_one(SelectionList)
            prompts = [
                str(targets.get_option_at_index(i).prompt) for i in range(targets.option_count)
            ]
            assert prompts == [
                "c1 (alpha)",
                "ec2/us-east-1 (123456789012)",
                "ec2/us-west-2 (123456789012)",
            ]

    run_app(body)
