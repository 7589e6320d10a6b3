"""Upload from the UI (``u``): a file becomes an image at the columns the operator ticks,
through the same review and engine as a copy, verified there; a same-name image with
other bytes is refused on the form, never overwritten. The real engine on FAKE clouds
(``tests/fakecloud.py`` says what that does not prove; ``test_cli_upload`` runs the same
use case on the real sandbox clouds)."""

from __future__ import annotations

import hashlib

import pytest
from textual.widgets import Label, SelectionList, Static

from glint_tui.ui.app import GlintApp
from glint_tui.ui.sample_data import FIXED_NOW
from glint_tui.ui.screens.plan_review import PlanReviewModal
from glint_tui.ui.screens.upload import UploadModal
from tests.fakebed import FakeBed, MiB
from tests.helpers import random_bytes, wait_until
from tests.ui_helpers import FakeBedBackend, run_app, type_text, wait_for_review


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


async def _open_form(pilot, app) -> UploadModal:
    await wait_until(pilot, lambda: app.main and app.main.model.columns, 10, "columns")
    await pilot.press("u")
    form = await wait_until(
        pilot, lambda: isinstance(app.screen, UploadModal) and app.screen, 5, "upload form"
    )
    await wait_until(pilot, lambda: getattr(app.focused, "id", None) == "file", 5, "focus")
    return form


def test_upload_from_the_ui_puts_the_file_at_each_ticked_column_verified(tmp_path):
    bed = FakeBed(tmp_path)
    bed.put("c1:alpha", "already-here", random_bytes(1000))
    data = random_bytes(3 * MiB + 17)
    path = tmp_path / "fresh-disk-20261201.raw"
    path.write_bytes(data)
    digest = hashlib.sha512(data).hexdigest()

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            form = await _open_form(pilot, app)
            await type_text(pilot, str(path))
            assert form.query_one("#name").value == "fresh-disk-20261201", "name from the file"
            targets = form.query_one(SelectionList)
            assert targets.selected == ["c1:alpha"], "the cursor's column is ticked first"
            targets.deselect("c1:alpha")
            targets.select("c2:alpha")
            targets.select("c3:beta")
            await pilot.press("ctrl+s")
            review = await wait_for_review(pilot)
            assert isinstance(review, PlanReviewModal) and len(review.plan.copies) == 1
            refs = {str(t.ref) for t in review.plan.copies[0].targets}
            assert refs == {"c2:alpha", "c3:beta"}
            totals = str(review.query_one("#plan-text", Static).render())
            assert f"to read from {path.name} on this host" in totals, totals
            assert "to download" not in totals
            await pilot.press("y")
            screen = app.main
            await wait_until(pilot, lambda: screen.model.run and screen.model.run.finished, 30,
                             "the upload run ends")  # fmt: skip
            assert screen.model.run.exit_code == 0
            await wait_until(
                pilot, lambda: any(r.name == path.stem for r in screen.model.rows), 10,
                "the new image in the matrix after the refresh",
            )  # fmt: skip

    run_app(body)
    assert bed.at("c1:alpha", path.stem) == [], "an unticked column gets nothing"
    for ref in ("c2:alpha", "c3:beta"):
        [image] = bed.at(ref, path.stem)
        assert image.status == "active" and image.os_hash_value == digest
        assert image.size == len(data) and image.disk_format == "raw"


def test_upload_over_a_same_name_image_with_other_bytes_is_refused_on_the_form(tmp_path):
    bed = FakeBed(tmp_path)
    theirs = bed.put("c2:alpha", "golden", random_bytes(2000))
    path = tmp_path / "golden.raw"
    path.write_bytes(random_bytes(5000))

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            form = await _open_form(pilot, app)
            await type_text(pilot, str(path))
            targets = form.query_one(SelectionList)
            targets.deselect("c1:alpha")
            targets.select("c2:alpha")
            await pilot.press("ctrl+s")
            line = form.query_one("#form-error", Label)
            await wait_until(pilot, lambda: "c2:alpha" in str(line.render()), 10, "refusal")
            assert app.screen is form, "nothing to review: the form stays"
            text = str(line.render())
        return text

    text = run_app(body)
    assert "golden" in text or "same name" in text or "other" in text
    [image] = bed.at("c2:alpha", "golden")
    assert image.id == theirs.id and image.os_hash_value == theirs.os_hash_value


def test_upload_of_a_missing_file_says_so_in_one_line(tmp_path):
    bed = FakeBed(tmp_path)

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            form = await _open_form(pilot, app)
            await type_text(pilot, str(tmp_path / "nope.qcow2"))
            await pilot.press("ctrl+s")
            line = form.query_one("#form-error", Label)
            await wait_until(pilot, lambda: "nope.qcow2" in str(line.render()), 10, "error")
            return str(line.render())

    text = run_app(body)
    assert "\n" not in text.strip()
