"""A copy that meets a same-name image with other bytes at the destination: the review
asks per copy — skip, rename, keep both, replace — and plans again with the answer;
what runs is the plan the review ends with. The real planner and engine on FAKE clouds
(``tests/fakecloud.py`` says what that does not prove)."""

from __future__ import annotations

import hashlib

import pytest
from textual.widgets import Button, Select

from glint_tui.core.model import ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.sample_data import FIXED_NOW
from glint_tui.ui.screens.plan_review import PlanReviewModal
from tests.fakebed import FakeBed
from tests.helpers import random_bytes, wait_until
from tests.ui_helpers import FakeBedBackend, cursor_to, run_app, wait_for_review

C2 = ProjectRef("c2", "alpha")


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


def _bed(tmp_path):
    bed = FakeBed(tmp_path)
    ours = random_bytes(3000)
    bed.put("c1:alpha", "golden", ours)
    theirs = bed.put("c2:alpha", "golden", random_bytes(2000))
    return bed, ours, theirs


async def _review_golden_to_c2(pilot, app) -> PlanReviewModal:
    screen = app.main
    await wait_until(pilot, lambda: len(screen.model.rows) == 2, 10, "rows")
    ours = next(
        i for i, r in enumerate(screen.model.rows) if r.cell(ProjectRef("c1", "alpha")).present
    )
    await pilot.press(*["j"] * ours)
    await cursor_to(pilot, C2)
    await pilot.press("space", "a")
    return await wait_for_review(pilot)


def test_review_asks_per_conflict_and_rename_runs_beside_the_other_image(tmp_path):
    bed, ours, theirs = _bed(tmp_path)

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            review = await _review_golden_to_c2(pilot, app)
            row, screen = app.main.view.row, app.main
            said = await wait_until(pilot, lambda: screen.model.refusal(row, C2), 10, "early")
            assert "review" in said and "--on-conflict" not in said, "the mark says it at once"
            assert not review.plan.copies and len(review.conflicts) == 1
            assert review.query_one("#confirm", Button).disabled, "nothing to run yet"
            review.query_one("#conflict-0", Select).value = "rename"
            renamed = lambda: review.plan.copies  # noqa: E731
            await wait_until(pilot, renamed, 10, "the plan again, with the answer")
            [target] = review.plan.copies[0].targets
            assert target.ref == C2 and target.name.startswith("golden-")
            await wait_until(pilot, lambda: not review.query_one("#confirm").disabled, 5, "ok")
            await pilot.press("y")
            screen = app.main
            await wait_until(pilot, lambda: screen.model.run and screen.model.run.finished,
                             30, "the run")  # fmt: skip
            return target.name

    name = run_app(body)
    [copy] = bed.at("c2:alpha", name)
    assert copy.os_hash_value == hashlib.sha512(ours).hexdigest()
    [other] = bed.at("c2:alpha", "golden")
    assert other.id == theirs.id, "the other image is untouched"


def test_each_answer_gives_its_plan_and_skip_gives_the_refusal_back(tmp_path):
    bed, _, theirs = _bed(tmp_path)
    bed.put("c3:beta", "golden", bed.cloud("c2").data(theirs.id))  # not its last copy

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        seen = {}
        async with app.run_test(size=(100, 30)) as pilot:
            review = await _review_golden_to_c2(pilot, app)
            select = review.query_one("#conflict-0", Select)
            for answer in ("keep-both", "replace", "refuse"):
                before = review.plan
                select.value = answer
                await wait_until(pilot, lambda b=before: review.plan is not b, 10, answer)
                plan = review.plan
                targets = [t for c in plan.copies for t in c.targets]
                shown = str(review.query_one("#plan-text").render())
                seen[answer] = (targets, [r.reason for r in plan.refusals], shown)
            await pilot.press("n")
        return seen

    seen = run_app(body)
    (keep,), _, _ = seen["keep-both"]
    assert keep.name == "golden" and not keep.replaces
    (replace,), _, _ = seen["replace"]
    assert replace.name == "golden" and replace.replaces == theirs.id
    targets, reasons, shown = seen["refuse"]
    assert targets == [] and len(reasons) == 1
    assert "answer below" in shown and "--on-conflict" not in shown, "no CLI flag in the UI"
    assert [i.id for i in bed.at("c2:alpha", "golden")] == [theirs.id], "nothing ran"
