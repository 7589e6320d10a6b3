"""The repositories screen keeps the operator's place: after a delete, an edit or a
credential change the cursor stays on the same row (or the nearest), so a second ``d``
never lands on another row; and a second registration of one Keystone is warned about
where it is added. Real config and keyring files in a temp profile; nothing listens at
the repositories' URLs (saved without checking), so no cloud is needed."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from glint_tui.core.model import Credential, Repository
from glint_tui.core.paths import Paths
from glint_tui.core.services import Services
from glint_tui.ui.app import GlintApp
from glint_tui.ui.screens.confirm import ConfirmModal
from glint_tui.ui.screens.forms import RepositoryForm
from glint_tui.ui.screens.repositories import RepositoriesScreen
from tests.helpers import wait_until
from tests.ui_helpers import run_app, type_text

NOWHERE = "http://127.0.0.1:9/v3"  # the discard port: a login there fails at once


@pytest.fixture
def paths(tmp_path, monkeypatch) -> Paths:
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "test-master-password")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    root = tmp_path / "profile"
    paths = Paths("ui-repos", root / "config", root / "data", root / "cache", root / "state")
    services = Services(paths.ensure())
    for name in ("r1", "r2", "r3", "r4"):
        services.add_repository(Repository(name, NOWHERE.replace("9", str(10 + int(name[1])))),
                                verify=False)  # fmt: skip
    for ref in ("r1:alpha", "r2:alpha", "r2:beta", "r3:alpha"):
        repo, project = ref.split(":")
        services.save_credential(Credential(repo, project, "alice"), "pw", verify=False)
    return paths


def _rows(table: DataTable) -> list[tuple[str, str]]:
    return [
        (str(table.get_row_at(i)[0]), str(table.get_row_at(i)[1])) for i in range(table.row_count)
    ]


async def _repositories(pilot) -> DataTable:
    app = pilot.app
    await wait_until(pilot, lambda: app.main is not None and not app.main.refreshing, 30, "matrix")
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(app.screen, RepositoriesScreen), 10, "repos")
    table = app.screen.query_one(DataTable)
    await wait_until(pilot, lambda: table.row_count == 5, 10, "the rows")
    return table


async def _delete_here(pilot, table: DataTable) -> None:
    app = pilot.app
    gone = _rows(table)[table.cursor_row]
    await pilot.press("d")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), 5, "the question")
    await pilot.press("y")
    await wait_until(pilot, lambda: gone not in _rows(table), 10, "the row gone")
    await pilot.pause()


def test_after_a_delete_the_cursor_stays_where_the_operator_was(paths):
    async def body():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            table = await _repositories(pilot)
            assert _rows(table) == [
                ("r1", "alpha"), ("r2", "alpha"), ("r2", "beta"), ("r3", "alpha"), ("r4", "—"),
            ]  # fmt: skip
            await pilot.press("down", "down")  # r2:beta
            await _delete_here(pilot, table)
            assert _rows(table)[table.cursor_row] == ("r3", "alpha"), "the next row, not the top"
            await pilot.press("up")  # r2:alpha, then delete it too
            await _delete_here(pilot, table)
            # r2 has no credential left: it is listed alone, and the cursor is on it
            assert _rows(table)[table.cursor_row] == ("r2", "—")
            await pilot.press("down", "down")  # r4, the last row
            await _delete_here(pilot, table)
            assert table.cursor_row == table.row_count - 1, "the nearest row: the last"

    run_app(body)


def test_after_an_edit_the_cursor_stays_on_the_edited_repository(paths):
    async def body():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            table = await _repositories(pilot)
            await pilot.press("down", "down", "down")  # r3:alpha
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, RepositoryForm), 5, "form")
            await pilot.pause()
            await pilot.press("ctrl+u")
            await type_text(pilot, "r3-renamed")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: ("r3-renamed", "alpha") in _rows(table), 10, "saved")
            await pilot.pause()
            assert _rows(table)[table.cursor_row] == ("r3-renamed", "alpha")

    run_app(body)


def test_a_second_repository_for_one_keystone_is_warned_about_where_it_is_added(paths):
    async def body():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            await _repositories(pilot)
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, RepositoryForm), 5, "form")
            await pilot.pause()
            await type_text(pilot, "twin")
            await pilot.press("tab")
            await type_text(pilot, NOWHERE.replace("9", "11"))  # r1's Keystone
            app.screen.query_one("#no-verify").value = True
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not isinstance(app.screen, RepositoryForm), 10, "saved")
            await pilot.press("escape")  # the credential form that follows
            await wait_until(pilot, lambda: isinstance(app.screen, RepositoriesScreen), 5, "list")
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            return notes, str(app.screen.query_one("#repo-result").render())

    notes, line = run_app(body)
    assert any("twin is the same cloud as r1" in n for n in notes), notes
    assert "warning: repository twin is the same cloud as r1" in line
