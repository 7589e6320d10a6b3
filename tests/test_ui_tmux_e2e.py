"""End to end: the installed ``glint`` binary in a real terminal (tmux), driven by keys,
copies an image between two sandbox clouds; the copy is then checked on the cloud."""

from __future__ import annotations

import shutil

import pytest

from glint_tui.core.model import ProjectRef
from tests.helpers import images_named, random_bytes, sha512, unique, upload_image
from tests.terminals import review_copy_to_c2_alpha, start_glint

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


def test_glint_binary_copies_an_image_in_tmux(sandbox):
    name = unique("e2e")
    data = random_bytes(400_000)
    with sandbox.session("c1:alpha") as src:
        upload_image(src, name, data)
    tmux = start_glint(sandbox, "--sandbox")
    try:
        review = review_copy_to_c2_alpha(tmux, name)
        assert "c1:alpha → c2:alpha" in review
        tmux.keys("y")
        tmux.wait_for("every cell verified", 120)
        tmux.wait_for("c2 (alpha): present", 60)
        tmux.keys("q")
        tmux.wait_for("GLINT-EXIT=0", 20)
    finally:
        tmux.close()
    with sandbox.session(ProjectRef("c2", "alpha")) as dst:
        copies = images_named(dst, name)
    assert len(copies) == 1 and copies[0].os_hash_value == sha512(data)


def test_glint_binary_uploads_a_file_and_cancels_a_hung_copy_in_tmux(sandbox, tmp_path):
    """At 80×24: u uploads a file to two columns (verified there); then a copy into c3,
    whose Glance hangs (SIGSTOP), shows cancelling at once after x, then cancelled, and
    the overall line says the run was cancelled; nothing half-made is left at c3."""
    from tests.helpers import frozen

    name = unique("e2e-up")
    data = random_bytes(600_000)
    disk = tmp_path / f"{name}.raw"
    disk.write_bytes(data)
    tmux = start_glint(sandbox, "--sandbox", size=(80, 24))
    try:
        tmux.wait_for("sha512 c1 (alpha)", 60)  # the columns are listed
        tmux.keys("u")
        tmux.wait_for("Upload a new image", 10)
        tmux.text(str(disk))
        tmux.wait_for(f"Name            {name}", 10)  # the name follows the file's
        tmux.keys("Tab", "Tab", "Tab")  # name, disk format, the columns (c1 alpha ticked)
        tmux.wait_for("▐X▌>c1 (alpha)", 10)  # > : the line space ticks
        tmux.keys("Down", "Down")
        tmux.wait_for("▐ ▌>c2 (alpha)", 10)
        tmux.keys("Space")  # c2 (alpha) too
        tmux.wait_for("▐X▌>c2 (alpha)", 10)
        tmux.keys("C-s")
        review = tmux.wait_for("Review the plan", 60)
        assert "c1:alpha, c2:alpha" in review
        tmux.keys("y")
        tmux.wait_for("every cell verified", 120)
        c3 = sandbox.cloud("c3")
        tmux.keys("/")
        tmux.wait_for("contains", 10)
        tmux.text(name)
        tmux.keys("Enter")
        tmux.wait_for("(1 of", 60)  # the refresh after the run lists the new image
        tmux.keys("l", "l", "l", "l")  # c1 (alpha) … c3 (alpha)
        tmux.wait_for("c3 (alpha): absent", 10)
        with frozen(c3):
            tmux.keys("Space", "a")
            tmux.wait_for("Review the plan", 30)
            tmux.keys("y")
            tmux.wait_for("c3:alpha: ", 30)
            tmux.keys("x")
            tmux.wait_for("c3:alpha: cancelling", 10)
        tmux.wait_for("c3:alpha: cancelled", 90)
        tmux.wait_for("CANCELLED", 30)
        tmux.keys("q")  # the cancelled cell is still marked: glint asks first
        tmux.wait_for("1 pending change will be lost", 10)
        tmux.keys("y")
        assert "GLINT-EXIT=0" in tmux.wait_for("GLINT-EXIT=", 20)
    finally:
        tmux.close()
        sandbox.ensure_running()
    for ref in (ProjectRef("c1", "alpha"), ProjectRef("c2", "alpha")):
        with sandbox.session(ref) as session:
            found = images_named(session, name)
        assert len(found) == 1 and found[0].os_hash_value == sha512(data), ref
    with sandbox.session(ProjectRef("c3", "alpha")) as c3s:
        assert images_named(c3s, name) == []
