"""``glint --catalog FILE`` against the sandbox's real Keystone + Glance clouds and a
loopback mirror (tests/mirror.py): the matrix shows what the catalog wants, ``C`` reviews
and runs it, and the clouds then hold what the review said."""

from __future__ import annotations

import pytest

from glint_tui.core.catalog.naming import ENTRY, VERSION
from glint_tui.core.model import ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.screens.catalog_review import CatalogReviewModal
from tests.catalog_helpers import Upstream
from tests.helpers import unique, wait_until
from tests.mirror import Mirror
from tests.ui_helpers import run_app, wait_for_review

pytestmark = pytest.mark.sandbox

C1A, C2A = ProjectRef("c1", "alpha"), ProjectRef("c2", "alpha")
V1 = "20261101"


def test_catalog_in_the_ui_shows_uploads_per_cell_and_c_runs_them_on_real_clouds(sandbox, tmp_path):
    with Mirror() as mirror:
        upstream = Upstream(mirror, tmp_path, unique("uicat"))
        upstream.publish(V1)
        path = upstream.catalog_file(to=["c1:alpha", "c2:alpha"])
        run_app(lambda: _flow(sandbox, upstream, str(path)))
    for ref in ("c1:alpha", "c2:alpha"):
        with sandbox.session(ref) as session:
            mine = [
                i
                for i in session.list_images()
                if i.properties.get(ENTRY) == upstream.name and i.owner == session.project_id
            ]
        assert [(i.name, i.properties[VERSION], i.status) for i in mine] == [
            (upstream.name, V1, "active")
        ]
        assert mine[0].content_key == f"sha512:{upstream.sha512(V1)}"


async def _flow(sandbox, upstream: Upstream, path: str) -> None:
    app = GlintApp(refresh_interval=None, catalog=path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await wait_until(pilot, lambda: app.main, 30, "the matrix")
        await wait_until(pilot, lambda: screen.model.catalog is not None, 120, "the plan")
        overlay = screen.model.catalog
        (row,) = [r for r in screen.model.rows if r.name == f"{upstream.name} ({V1})"]
        assert overlay.word(row.key, C1A) == "upload+" and overlay.word(row.key, C2A) == "upload+"
        await pilot.press("C")
        review = await wait_for_review(pilot, 120)
        assert isinstance(review, CatalogReviewModal)
        assert f"upload    {upstream.name} {V1}" in str(review.query_one("#plan-text").render())
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.model.run is not None, 10, "the run started")
        run = screen.model.run
        await wait_until(pilot, lambda: run.finished, 300, "the catalog run finished")
        assert run.exit_code == 0, [a.message for a in run.actions.values()]
        await wait_until(
            pilot,
            lambda: screen.model.catalog is not None and screen.model.catalog.plan.empty,
            120,
            "the refresh after the run: nothing left to do",
        )
