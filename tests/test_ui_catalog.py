"""A catalog file open in the TUI (``glint --catalog FILE``): what the operator sees in
the matrix, and that ``C`` runs what the catalog plan says through the plan review.

On the FAKE clouds (tests/fakecloud.py) with the real planner, runner, engine and a
loopback HTTP mirror (tests/mirror.py) serving upstream's files and SHA512SUMS, so a
Pilot run stays fast. What these do not prove: Glance's own answers (the sandbox test
``test_ui_catalog_sandbox.py`` and ``test_catalog_apply.py`` do).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest

from glint_tui.core.catalog.naming import ENTRY, SOURCE_CHECKSUM, SOURCE_SHA512, VERSION
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.services import Services
from glint_tui.core.timeouts import Timeouts
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import LiveBackend
from glint_tui.ui.screens.catalog_review import CatalogReviewModal
from glint_tui.ui.screens.confirm import TypedConfirmModal
from tests.fakebed import FakeBed
from tests.helpers import random_bytes, run_glint, unique, wait_until
from tests.mirror import Mirror
from tests.ui_helpers import run_app, screen_text, wait_for_review

A, B, C2 = ProjectRef("c1", "alpha"), ProjectRef("c1", "beta"), ProjectRef("c2", "alpha")
V1, V2 = "20261101", "20261201"


class FakeCloudBackend(LiveBackend):
    """``LiveBackend`` (the real ``Services``: catalog plan, catalog run, engine) whose
    sessions and inventory are the fake bed's instead of a profile's clouds."""

    def __init__(self, bed: FakeBed) -> None:
        self.bed = bed
        self.services = Services(bed.paths)
        bed.source.timeouts = Timeouts()  # type: ignore[attr-defined]
        self.services.sessions = bed.source  # type: ignore[assignment]
        self.paths = bed.paths

    def has_repositories(self) -> bool:
        return True

    def load_matrix(self, on_column=None):
        return self.bed.matrix()

    def catalog_plan(self, path, matrix=None):
        return super().catalog_plan(path, matrix or self.bed.matrix())


class World:
    """Upstream (a mirror listing versions of one entry) and the catalog file."""

    def __init__(self, mirror: Mirror, tmp: Path, bed: FakeBed) -> None:
        self.mirror, self.tmp, self.bed = mirror, tmp, bed
        self.name = unique("demo")
        self.files: dict[str, bytes] = {}

    def publish(self, version: str) -> bytes:
        data = random_bytes(200_000)
        self.files[version] = data
        self.mirror.files[f"{self.name}/{self.name}-{version}.raw"] = data
        sums = "".join(
            f"{hashlib.sha512(d).hexdigest()}  {self.name}-{v}.raw\n"
            for v, d in sorted(self.files.items())
        )
        self.mirror.files[f"{self.name}/SHA512SUMS"] = sums.encode()
        return data

    def made(self, ref: ProjectRef, version: str, name: str) -> None:
        """An image of *version* glint made earlier (properties that its bytes agree with)."""
        digest = hashlib.sha512(self.files[version]).hexdigest()
        props = {ENTRY: self.name, VERSION: version, SOURCE_SHA512: digest}
        props[SOURCE_CHECKSUM] = f"sha512:{digest}"
        self.bed.put(str(ref), name, self.files[version], **props)

    def first(self, *to: str) -> str:
        """V1 published, nothing made yet: the catalog file keeping it in *to*."""
        self.publish(V1)
        return self.catalog(to=list(to))

    def newer(self, **keys: object) -> str:
        """V1 made earlier at c1:alpha (under the plain name), V2 just published: the
        catalog file with *keys*."""
        self.publish(V1)
        self.made(A, V1, self.name)
        self.publish(V2)
        return self.catalog(**keys)

    def catalog(self, **keys: object) -> str:
        entry = {
            "name": self.name,
            "disk_format": "raw",
            "source": {
                "checksums_url": self.mirror.url(f"{self.name}/SHA512SUMS"),
                "pattern": self.name + r"-(?P<version>\d{8})\.raw",
            },
            "keep": 1,
            "visibility": "private",
            **keys,
        }
        path = self.tmp / "catalog.yaml"
        path.write_text("images:\n  - " + json.dumps(entry) + "\n")
        return str(path)


@pytest.fixture
def world(tmp_path):
    with Mirror() as mirror:
        yield World(mirror, tmp_path, FakeBed(tmp_path / "bed"))


def _app(world: World, path: str, **kw) -> GlintApp:
    return GlintApp(FakeCloudBackend(world.bed), refresh_interval=None, catalog=path, **kw)


@contextlib.asynccontextmanager
async def _opened(world: World, path: str, size=(160, 40), **kw):
    """The app on the fake clouds with *path* open, its first catalog plan made:
    (pilot, app, the matrix screen)."""
    app = _app(world, path, **kw)
    async with app.run_test(size=size) as pilot:
        await _planned(pilot)
        yield pilot, app, app.main


def _row(screen, name: str):
    rows = [r for r in screen.model.rows if r.name == name]
    return rows[0] if rows else None


async def _review(pilot) -> CatalogReviewModal:
    """The catalog planned, then C as the operator presses it: the catalog plan in review."""
    await _planned(pilot)
    await pilot.press("C")
    review = await wait_for_review(pilot)
    assert isinstance(review, CatalogReviewModal)
    return review


async def _planned(pilot) -> None:
    screen = pilot.app.main
    await wait_until(
        pilot,
        lambda: screen.model.catalog is not None and not screen.refreshing,
        30,
        "the catalog planned against the inventory",
    )


def test_matrix_marks_catalog_versions_and_what_the_catalog_wants_in_each_cell(world):
    path = world.newer(to=["c1:alpha", "c2:alpha"], retire="hide")
    run_app(lambda: _sees(world, path))


async def _sees(world: World, path: str) -> None:
    async with _opened(world, path) as (pilot, app, screen):
        overlay = screen.model.catalog
        old = _row(screen, world.name)
        new = _row(screen, f"{world.name} ({V2})")
        assert old is not None and new is not None  # the new version has a row already
        assert overlay.version_of(old.key) == (world.name, V1)
        assert overlay.version_of(new.key) == (world.name, V2)
        # uploaded, then it takes the plain name once verified (the "+")
        assert overlay.word(new.key, A) == "upload+" and overlay.word(new.key, C2) == "upload+"
        assert overlay.word(old.key, A) == "hide+"  # hidden, and steps aside to its name
        assert overlay.word(old.key, B) is None and overlay.word(new.key, B) is None
        text = screen_text(app)
        assert V1 in text and V2 in text and "upload" in text and "hide+" in text
        # the cursor on the old version's cell: the bar says what and why, in full
        screen.view.set_cursor(screen.model.rows.index(old), screen.model.columns.index(A))
        await pilot.pause()
        bar = screen_text(app)
        assert f"hide      {world.name} {V1}" in bar and "beyond keep 1" in bar
        assert "+1 more" in bar  # the rename: the review lists it
        assert "1 upload to 2 places" in bar and "1 hidden" in bar  # the plan's totals


def test_review_shows_the_catalog_plan_and_confirming_runs_exactly_it(world):
    path = world.newer(to=["c1:alpha", "c2:alpha"], retire="hide")
    run_app(lambda: _runs(world, path))


async def _runs(world: World, path: str) -> None:
    async with _opened(world, path) as (pilot, app, screen):
        review = await _review(pilot)
        text = str(review.query_one("#plan-text").render())
        assert f"upload    {world.name} {V2} as '{world.name} ({V2})'" in text
        assert f"hide      {world.name} {V1}" in text and "c2:alpha" in text
        plan = review.plan
        await pilot.press("y")  # hiding takes nothing away: no typed confirmation
        await wait_until(pilot, lambda: screen.model.run is not None, 10, "the run started")
        run = screen.model.run
        assert set(run.actions) == {s.id for s in plan.steps}  # the reviewed plan, all of it
        await wait_until(pilot, lambda: run.finished, 60, "the catalog run finished")
        assert run.exit_code == 0, [a.message for a in run.actions.values()]
        assert all(a.finished and a.ok for a in run.actions.values())
        # one copy (to both columns), the old newest steps aside, the new one takes the
        # plain name in each column, the old one hidden
        kinds = sorted(a.kind for a in run.actions.values())
        assert kinds == ["copy", "hide", "rename", "rename", "rename"]
        # what the clouds now hold is what the review said
        (newest,) = world.bed.at("c1:alpha", world.name)
        assert newest.properties[VERSION] == V2 and newest.status == "active"
        (older,) = world.bed.at("c1:alpha", f"{world.name} ({V1})")
        assert older.hidden
        assert [i.properties[VERSION] for i in world.bed.at("c2:alpha", world.name)] == [V2]
        # and the refresh after the run plans again: nothing left to do
        await _planned(pilot)
        await wait_until(
            pilot, lambda: screen.model.catalog.plan.empty, 30, "an empty plan after the run"
        )
        assert "nothing to do" in screen_text(app)
        new = _row(screen, world.name)
        assert screen.model.state(new, C2)[0] is CellState.PRESENT


def test_a_plan_that_deletes_needs_the_count_typed_and_cancelling_deletes_nothing(world):
    path = world.newer(to=["c1:alpha"], retire="delete")
    run_app(lambda: _cancels(world, path))


async def _cancels(world: World, path: str) -> None:
    async with _opened(world, path) as (pilot, app, screen):
        old = _row(screen, world.name)
        assert screen.model.catalog.word(old.key, A) == "DELETE+"
        review = await _review(pilot)
        assert "DELETE    " in str(review.query_one("#plan-text").render())
        await pilot.press("y")
        await wait_until(
            pilot, lambda: isinstance(app.screen, TypedConfirmModal), 10, "the typed confirmation"
        )
        assert "deactivates or DELETES 1 image" in screen_text(app)
        await pilot.press("escape")  # not typed: back at the review, which is cancelled
        await wait_until(pilot, lambda: app.screen is review, 10, "back at the review")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, 10, "back at the matrix")
        assert screen.model.run is None
    assert [i.properties[VERSION] for i in world.bed.at("c1:alpha", world.name)] == [V1]
    assert world.bed.at("c1:alpha", f"{world.name} ({V2})") == []


def test_a_refused_retirement_shows_refused_in_its_cell_with_the_reason(world):
    world.publish(V1)
    world.made(A, V1, world.name)
    (image,) = world.bed.at("c1:alpha", world.name)
    world.bed.cloud("c1").images[image.id].record = dataclasses.replace(image, protected=True)
    world.publish(V2)
    path = world.catalog(to=["c1:alpha"], retire="delete")
    run_app(lambda: _refused(world, path))


async def _refused(world: World, path: str) -> None:
    async with _opened(world, path) as (pilot, app, screen):
        old = _row(screen, world.name)
        overlay = screen.model.catalog
        assert overlay.word(old.key, A).startswith("refused")
        assert "protected" in overlay.describe(old.key, A)[0]
        screen.view.set_cursor(screen.model.rows.index(old), screen.model.columns.index(A))
        await pilot.pause()
        assert "REFUSED retire" in screen_text(app) and "protected" in screen_text(app)


def test_read_only_shows_the_catalog_but_c_does_nothing(world):
    path = world.first("c1:alpha")
    run_app(lambda: _read_only(world, path))


async def _read_only(world: World, path: str) -> None:
    async with _opened(world, path, read_only=True) as (pilot, app, screen):
        (new,) = [r for r in screen.model.rows if r.name == f"{world.name} ({V1})"]
        assert screen.model.catalog.word(new.key, A) == "upload+"
        await pilot.press("C")
        await pilot.pause()
        assert app.screen is screen and screen.model.run is None
        assert "C Catalog" not in screen_text(app)


def test_a_catalog_file_broken_while_open_says_why_and_reviews_nothing(world):
    path = world.first("c1:alpha")
    run_app(lambda: _broken(world, path))


async def _broken(world: World, path: str) -> None:
    async with _opened(world, path) as (pilot, app, screen):
        Path(path).write_text("images:\n  - name: x\n    keep: two\n")
        await pilot.press("C")
        await wait_until(pilot, lambda: screen.model.catalog is None, 10, "the plan dropped")
        await pilot.pause()
        text = screen_text(app)
        assert "keep" in text and "images[0]" in text
        assert app.screen is screen and screen.model.run is None
        assert not any(r.name.endswith(f"({V1})") for r in screen.model.rows)


def test_glint_catalog_with_a_bad_file_exits_2_with_one_line_before_the_ui(tmp_path):
    bad = tmp_path / "catalog.yaml"
    bad.write_text("images:\n  - name: x\n    keep: two\n")
    env = {**os.environ, "GLINT_HOME": str(tmp_path / "home")}
    done = run_glint(env, "--catalog", str(bad))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("glint: ") and "keep" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_the_catalog_key_and_what_each_catalog_word_means(world):
    path = world.first("c1:alpha")
    run_app(lambda: _help(world, path))


async def _help(world: World, path: str) -> None:
    from glint_tui.ui.screens.help import HelpScreen

    async with _opened(world, path, (160, 60)) as (pilot, app, _):
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 10, "the help")
        await pilot.pause()
        assert "plan the catalog afresh, review it, run it" in screen_text(app)
        await pilot.press("end")  # the legend, below the keys
        await pilot.pause()
        text = screen_text(app)
        assert "catalog: hidden, beyond keep" in text
        assert "catalog: refused (the bar says why)" in text


def test_a_catalog_run_shows_live_progress_in_the_new_versions_cells_and_the_panel(world):
    path = world.first("c1:alpha", "c2:alpha")
    run_app(lambda: _live(world, path))


async def _live(world: World, path: str) -> None:
    async with _opened(world, path, (160, 50)) as (pilot, app, screen):
        await _review(pilot)
        (new,) = [r for r in screen.model.rows if r.name == f"{world.name} ({V1})"]
        # the re-plan under the lock reads SHA512SUMS (never paused: it is short), then
        # the download pauses after 50 kB
        world.mirror.stalls = [1 << 30, 50_000]
        await pilot.press("y")

        def fetching():
            return screen.model.running and any("fetching" in n for n in screen.model.run.notices)

        await wait_until(pilot, fetching, 20, "the fetch under way")
        for ref in (A, C2):  # the new version's cells follow the run, not the plan
            assert screen.model.state(new, ref)[0] is CellState.QUEUED
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "copy demo-" in text and "fetching" in text  # (the panel cuts long names)
        assert text.count("rename demo") == 2  # each step its line, named by its verb
        world.mirror.unstall.set()
        await wait_until(pilot, lambda: screen.model.run.finished, 60, "the run finished")
        assert screen.model.run.exit_code == 0
        said = [n.message for n in app._notifications]
        assert "Run finished: every cell verified." in said


def test_another_catalog_run_of_the_profile_holding_the_lock_makes_the_ui_run_do_nothing(world):
    path = world.first("c1:alpha")
    run_app(lambda: _locked(world, path))


async def _locked(world: World, path: str) -> None:
    from glint_tui.core.locks import only_one

    async with _opened(world, path) as (pilot, app, screen):
        await _review(pilot)
        with only_one(world.bed.paths.state_dir / "catalog.lock"):  # cron's run, say
            await pilot.press("y")
            await wait_until(
                pilot, lambda: screen.model.run and screen.model.run.finished, 20, "run refused"
            )
            said = [(n.title, n.message) for n in app._notifications]
            assert any(
                t == "Catalog run failed" and "another catalog run of this glint profile" in m
                for t, m in said
            ), said
        assert screen.model.run.exit_code != 0
    assert world.bed.at("c1:alpha", f"{world.name} ({V1})") == []
    assert world.bed.at("c1:alpha", world.name) == []


def test_a_long_catalog_review_at_80x24_scrolls_its_body_and_keeps_its_buttons_in_sight(world):
    path = world.newer(to=["c1:alpha", "c2:alpha"], retire="hide")
    run_app(lambda: _small(world, path))


async def _small(world: World, path: str) -> None:
    async with _opened(world, path, (80, 24)) as (pilot, app, screen):
        review = await _review(pilot)
        await pilot.pause(0.2)
        for button in ("#cancel", "#confirm"):
            region = review.query_one(button).region
            assert region.height and region.bottom <= 24, (button, region)
        assert "Cancel (n)" in screen_text(app) and "Confirm (y)" in screen_text(app)


def test_clouds_changed_between_review_and_confirm_run_nothing_and_say_review_again(world):
    path = world.newer(to=["c1:alpha"], retire="hide")
    run_app(lambda: _changed(world, path))


async def _changed(world: World, path: str) -> None:
    async with _opened(world, path) as (pilot, app, screen):
        await _review(pilot)
        (old,) = world.bed.at("c1:alpha", world.name)
        world.bed.cloud("c1").images[old.id].record = dataclasses.replace(old, protected=True)
        await pilot.press("y")  # reviewed: hide it; now it is protected (someone else did)
        await wait_until(
            pilot, lambda: screen.model.run and screen.model.run.finished, 20, "run refused"
        )
        said = [(n.title, n.message) for n in app._notifications]
        assert any("changed since this catalog plan was reviewed" in m for _, m in said), said
    assert world.bed.at("c1:alpha", f"{world.name} ({V2})") == []
    assert not world.bed.at("c1:alpha", world.name)[0].hidden
