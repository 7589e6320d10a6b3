"""`glint images` as an operator reads it: half-made images are not copies, and
``--project`` limits the matrix to the columns named."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from glint_tui.core.clouds import open_session
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.glyphs import GLYPHS
from glint_tui.core.model import CellState, Credential
from glint_tui.sandbox.cloud import ADMIN_PASSWORD
from tests.helpers import random_bytes, unique, upload_image, wait_for
from tests.test_cli_transfer import put

pytestmark = pytest.mark.sandbox
REF = "c2:alpha"


def glint(sandbox, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        env={**sandbox.env(), "GLINT_ASCII": "0", "TERM": "xterm"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def half_made(sandbox) -> Iterator[dict[str, str]]:
    """At c2:alpha: a `queued` image (created, no data), an `uploading` one (data staged
    for an import that never came) and a `deactivated` one (active, then deactivated by an
    admin), as name -> Glance status; deleted afterwards (the seed checks expect only
    active images)."""
    names = _make_half_made(sandbox)
    try:
        yield names
    finally:
        s = sandbox.session(REF)
        try:
            for image in [i for i in s.list_images() if i.name in names]:
                s.delete_image(image.id)
        finally:
            s.close()


def _make_half_made(sandbox) -> dict[str, str]:
    names = {unique("half-queued"): "queued", unique("half-uploading"): "uploading",
             unique("half-deactivated"): "deactivated"}  # fmt: skip
    queued, uploading, deactivated = names
    s = sandbox.session(REF)
    cloud = sandbox.cloud("c2")
    admin = open_session(
        sandbox.sandbox.repository(cloud), Credential("c2", "alpha", "admin"), ADMIN_PASSWORD
    )
    try:
        s.create_image(ImageSpec(name=queued, disk_format="raw"))
        staged = s.create_image(ImageSpec(name=uploading, disk_format="raw"))
        response = s.conn.image.put(
            f"/images/{staged.id}/stage",
            data=random_bytes(64 * 1024),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 204, response.text
        active = upload_image(s, deactivated, random_bytes(64 * 1024))
        response = admin.conn.image.post(f"/images/{active.id}/actions/deactivate")
        assert response.status_code == 204, response.text
        for name, status in names.items():
            wait_for(
                lambda n=name, st=status: (
                    [i.status for i in s.list_images() if i.name == n] == [st]
                ),
                30,
                f"{name} {status}",
            )
    finally:
        admin.close()
        s.close()
    return names


def test_images_shows_half_made_images_as_in_progress(sandbox, half_made):
    """Reproduced: queued/saving/importing images were shown ● present, as if they were
    copies. Only an `active` image is present; the others are ○ incomplete, in the table
    and in the JSON (which also says each image's status)."""
    names = half_made
    doc = json.loads(glint(sandbox, "images", "--json", "--project", REF).stdout)
    for name, status in names.items():
        [row] = [r for r in doc["rows"] if r["name"] == name]
        cell = row["cells"][REF]
        assert cell["state"] == CellState.INCOMPLETE.value, (name, cell)
        assert [i["status"] for i in cell["images"]] == [status]
    table = glint(sandbox, "images", "--project", REF)
    assert table.returncode == 0, table.stderr
    incomplete, present = GLYPHS[CellState.INCOMPLETE].unicode, GLYPHS[CellState.PRESENT].unicode
    for name in names:
        [line] = [x for x in table.stdout.splitlines() if x.startswith(f"{name}@")]
        assert incomplete in line and present not in line, line


def test_images_project_limits_the_columns(sandbox):
    """`--project` (repeatable) shows only those columns and asks only their clouds: a
    Glance that is down elsewhere does not matter."""
    name = unique("only-here")
    put(sandbox, "c1:alpha", name)
    c3 = sandbox.cloud("c3")
    try:
        c3.stop(("glance",))
        out = glint(sandbox, "images", "--json", "--project", "c1:alpha", "--project", "c2:beta")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert [c["ref"] for c in doc["columns"]] == ["c1:alpha", "c2:beta"]
        assert all(set(r["cells"]) <= {"c1:alpha", "c2:beta"} for r in doc["rows"])
        assert name in {r["name"] for r in doc["rows"]}
        table = glint(sandbox, "images", "--project", "c1:alpha")
        assert table.returncode == 0, table.stderr
        assert table.stdout.splitlines()[0].split()[-1] == "c1:alpha"
        bad = glint(sandbox, "images", "--project", "c9:alpha")
        assert bad.returncode == 2 and "not a configured REPO:PROJECT" in bad.stderr
    finally:
        sandbox.ensure_running()
