"""Inventory against the sandbox: identity by content, ownership, and broken clouds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from glint_tui.core.inventory import refresh
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.sessions import SessionProvider
from tests.helpers import frozen, random_bytes, sha512, unique, upload_image

pytestmark = pytest.mark.sandbox
A1, B1, A2, A3 = (ProjectRef.parse(x) for x in ("c1:alpha", "c1:beta", "c2:alpha", "c3:alpha"))


def _upload(sandbox, ref: str, name: str, data: bytes, **kw):
    with sandbox.session(ref) as s:
        return upload_image(s, name, data, **kw)


def test_rows_are_keyed_by_content_and_ownership_is_shown(sandbox):
    name = unique("inv")
    same = random_bytes(64 * 1024)
    a = _upload(sandbox, "c1:alpha", name, same, visibility="community")
    b = _upload(sandbox, "c2:alpha", name, same)
    c = _upload(sandbox, "c3:alpha", name, random_bytes(64 * 1024))
    m = refresh(SessionProvider(sandbox.paths))
    assert set(m.columns) >= {A1, B1, A2, A3} and all(s.ok for s in m.status.values())
    rows = [r for r in m.rows if r.name == name]
    assert len(rows) == 2 and all(r.conflict for r in rows)
    row = m.row((name, f"sha512:{sha512(same)}"))
    assert row.cell(A1).ids == [a.id] and row.cell(A2).ids == [b.id]
    assert row.cell(A1).state == CellState.PRESENT and row.cell(A1).owned
    # alpha's community image, seen from beta on the same cloud: present but not owned
    locked = row.cell(B1)
    assert locked.state == CellState.LOCKED and not locked.owned and locked.ids == [a.id]
    assert row.cell(A3).state == CellState.ABSENT
    other = [r for r in rows if r is not row][0]
    assert other.cell(A3).ids == [c.id]
    # the views the UI offers
    assert row in m.filtered(B1, "public") and row not in m.filtered(B1, "project")
    assert row in m.filtered(A1, "project") and other not in m.filtered(A1)
    # never by name alone
    assert len(m.find(name)) == 2
    assert m.find(f"{name}@{sha512(same)[:10]}") == [row]
    assert m.find(c.id) == [other]


def test_a_cloud_down_costs_only_its_own_columns(sandbox):
    c3 = sandbox.cloud("c3")
    try:
        c3.stop(("glance",))
        m = refresh(SessionProvider(sandbox.paths))
        broken = {r for r, s in m.status.items() if not s.ok}
        assert broken == {A3, ProjectRef("c3", "beta")}
        assert "Glance" in m.status[A3].error or "image service" in m.status[A3].error
        assert m.status[A1].ok and m.status[A1].image_count > 0
        out = subprocess.run(
            [sys.executable, "-m", "glint_tui", "images", "--json"],
            env=sandbox.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 3, out.stderr  # partial
        doc = json.loads(out.stdout)
        errors = {c["ref"]: c["error"] for c in doc["columns"]}
        assert errors["c3:alpha"] and errors["c1:alpha"] is None
        assert doc["rows"]
    finally:
        sandbox.ensure_running()


def test_a_hung_cloud_is_cut_off_at_the_timeout(sandbox):
    with frozen(sandbox.cloud("c2")):
        m = refresh(SessionProvider(sandbox.paths), timeout=8)
    assert "no answer within 8 s" in m.status[A2].error
    assert m.status[A1].ok and m.status[A3].ok
