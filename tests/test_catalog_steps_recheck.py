"""The catalog's metadata steps look at the image again just before they act.

On the FAKE clouds (tests/fakecloud.py), because what these tests need cannot be made to
happen on cue with the sandbox: a server starting from an image between plan and run (the
sandbox has no Nova), and Glance's policy refusing deactivation to a project credential
(the sandbox's project users are not admin in the way such a policy checks). What they do
not prove: Nova's or Glance's own answers (compute.py and the adapter own those).
"""

from __future__ import annotations

import threading
from pathlib import Path

from glint_tui.core.catalog.metadata import StepRunner
from glint_tui.core.catalog.naming import ENTRY, VERSION
from glint_tui.core.catalog.steps import CatalogPlan, Retire
from glint_tui.core.journal import Journal
from glint_tui.core.model import ImageRecord, ProjectRef
from tests.fakebed import FakeBed
from tests.helpers import random_bytes

A = ProjectRef("c1", "alpha")
C2 = ProjectRef("c2", "alpha")
OLD = "20261001"


def old_copy(bed: FakeBed, ref: ProjectRef, data: bytes) -> ImageRecord:
    cloud = bed.cloud(ref.repository)
    return cloud.put(ref.project, f"demo ({OLD})", data, **{ENTRY: "demo", VERSION: OLD})


def retire(image: ImageRecord, action: str, **kw: object) -> Retire:
    return Retire(
        id=f"retire-{image.id}",
        entry="demo",
        version=OLD,
        ref=A,
        image_id=image.id,
        name=image.name,
        action=action,
        reason="beyond keep",
        content_key=image.content_key,
        **kw,
    )


def run(bed: FakeBed, *steps: Retire) -> list:
    plan = CatalogPlan(retires=list(steps))
    with Journal(bed.paths, command="test") as journal:
        runner = StepRunner(
            plan,
            {},
            open_session=bed.source.open,
            paths=bed.paths,
            journal=journal,
            emit=lambda event: None,
            cancel=threading.Event(),
        )
        return runner.run()


def test_a_delete_is_refused_when_a_server_started_from_the_image_after_the_plan(
    tmp_path: Path,
):
    bed = FakeBed(tmp_path)
    data = random_bytes(4096)
    mine, other = old_copy(bed, A, data), old_copy(bed, C2, data)
    step = retire(mine, "delete", keeps=((C2, other.id, other.content_key),))
    bed.cloud("c1").servers = {mine.id}  # planned with no server; one booted since
    (outcome,) = run(bed, step)
    assert not outcome.ok and "in use now: a server runs from it" in outcome.message
    assert bed.cloud("c1").images[mine.id].record.status == "active"


def test_a_delete_is_refused_when_the_copy_it_relied_on_went_away_meanwhile(tmp_path: Path):
    bed = FakeBed(tmp_path)
    data = random_bytes(4096)
    mine, other = old_copy(bed, A, data), old_copy(bed, C2, data)
    step = retire(mine, "delete", keeps=((C2, other.id, other.content_key),))
    bed.cloud("c1").servers = set()
    with bed.source.session("c2:alpha") as s:
        s.delete_image(other.id)  # another run (or an operator) removed the other copy
    (outcome,) = run(bed, step)
    assert not outcome.ok and "the other copies of 20261001 this relied on" in outcome.message
    assert mine.id in bed.cloud("c1").images


def test_a_deactivation_the_policy_refuses_says_to_hide_or_use_an_admin_credential(
    tmp_path: Path,
):
    bed = FakeBed(tmp_path)
    data = random_bytes(4096)
    mine, other = old_copy(bed, A, data), old_copy(bed, C2, data)
    bed.cloud("c1").deactivate_allowed = False
    step = retire(mine, "deactivate", keeps=((C2, other.id, other.content_key),))
    (outcome,) = run(bed, step)
    assert not outcome.ok
    assert "use `retire: hide`, or an admin credential for c1:alpha" in outcome.message
    assert bed.cloud("c1").images[mine.id].record.status == "active"


def test_a_hide_is_refused_when_the_image_was_protected_after_the_plan(tmp_path: Path):
    bed = FakeBed(tmp_path)
    mine = old_copy(bed, A, random_bytes(4096))
    with bed.source.session("c1:alpha") as s:
        s.update_image(mine.id, protected=True)
    (outcome,) = run(bed, retire(mine, "hide", retired_at="2026-12-01T00:00:00Z"))
    assert not outcome.ok and "is protected now: not hidden" in outcome.message
    assert not bed.cloud("c1").images[mine.id].record.hidden
