"""End to end: the installed ``glint`` binary in a real terminal (tmux), driven by keys,
copies an image between two sandbox clouds; the copy is then checked on the cloud."""

from __future__ import annotations

import shutil

import pytest

from glint_tui.core.model import ProjectRef
from tests.helpers import random_bytes, sha512, unique, upload_image
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
        copies = [i for i in dst.list_images() if i.name == name]
    assert len(copies) == 1 and copies[0].os_hash_value == sha512(data)
