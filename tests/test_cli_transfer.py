"""`glint copy / delete / plan / apply / reconcile` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import random_bytes, sha512, unique, upload_image
from tests.test_transfer import images_named

pytestmark = pytest.mark.sandbox
KiB = 1024


def glint(sandbox, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        env=sandbox.env(),
        stdin=subprocess.DEVNULL,  # no terminal: nothing may be deleted without --yes
        capture_output=True,
        text=True,
        timeout=300,
    )


def put(sandbox, ref: str, name: str, data: bytes | None = None, **kw):
    s = sandbox.session(ref)
    try:
        return upload_image(s, name, data or random_bytes(256 * KiB), **kw)
    finally:
        s.close()


def at(sandbox, ref: str, name: str):
    s = sandbox.session(ref)
    try:
        return images_named(s, name)
    finally:
        s.close()


def test_copy_by_name_with_json_result(sandbox):
    name = unique("cli-copy")
    data = random_bytes(512 * KiB)
    put(sandbox, "c1:alpha", name, data)
    r = glint(sandbox, "copy", name, "--to", "c2:beta", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["result"]["succeeded"] == 1
    [copy] = at(sandbox, "c2:beta", name)
    assert copy.os_hash_value == sha512(data) and copy.visibility == "private"
    # already there: nothing to do, still success
    assert glint(sandbox, "copy", name, "--to", "c2:beta").returncode == 0


def test_ambiguous_image_exits_2_listing_candidates(sandbox):
    name = unique("cli-ambiguous")
    one = put(sandbox, "c1:alpha", name)
    put(sandbox, "c2:alpha", name)
    r = glint(sandbox, "copy", name, "--to", "c3:alpha")
    assert r.returncode == 2
    assert r.stderr.count(f"{name}@") == 2 and "ambiguous" in r.stderr
    r = glint(sandbox, "copy", f"{name}@{one.os_hash_value[:10]}", "--to", "c3:alpha")
    assert r.returncode == 0, r.stderr
    assert [i.os_hash_value for i in at(sandbox, "c3:alpha", name)] == [one.os_hash_value]


def test_name_conflict_at_destination_refuse_rename_replace(sandbox):
    name = unique("cli-conflict")
    src = put(sandbox, "c1:alpha", name)
    old = put(sandbox, "c2:alpha", name)
    r = glint(sandbox, "copy", f"{name}@{src.os_hash_value[:12]}", "--to", "c2:alpha")
    assert r.returncode == 1
    assert "already has a different image" in r.stderr and "--on-conflict" in r.stderr
    assert [i.id for i in at(sandbox, "c2:alpha", name)] == [old.id]  # untouched

    r = glint(sandbox, "copy", src.id, "--to", "c2:alpha", "--on-conflict", "rename")
    assert r.returncode == 0, r.stderr
    renamed = at(sandbox, "c2:alpha", f"{name}-{src.os_hash_value[:8]}")
    assert [i.os_hash_value for i in renamed] == [src.os_hash_value]

    # replace deletes the other image: never its last copy, and only when confirmed
    r = glint(sandbox, "copy", src.id, "--to", "c2:alpha", "--on-conflict", "replace", "--yes")
    assert r.returncode == 1 and "last copy" in r.stderr
    r = glint(sandbox, "copy", old.id, "--to", "c3:beta")  # now `old` lives elsewhere too
    assert r.returncode == 0, r.stderr
    r = glint(sandbox, "copy", src.id, "--to", "c2:alpha", "--on-conflict", "replace")
    assert r.returncode == 2 and "--yes" in r.stderr
    r = glint(sandbox, "copy", src.id, "--to", "c2:alpha", "--on-conflict", "replace", "--yes")
    assert r.returncode == 0, r.stderr
    assert [i.os_hash_value for i in at(sandbox, "c2:alpha", name)] == [src.os_hash_value]


def test_delete_needs_confirmation_and_obeys_the_safety_rules(sandbox):
    name = unique("cli-delete")
    a = put(sandbox, "c1:alpha", name)
    # no terminal and no --yes: refused with 2, nothing deleted
    r = glint(sandbox, "copy", a.id, "--to", "c2:alpha")
    assert r.returncode == 0, r.stderr
    r = glint(sandbox, "delete", name, "--from", "c2:alpha")
    assert r.returncode == 2 and "--yes" in r.stderr
    assert at(sandbox, "c2:alpha", name)
    # with --yes: gone there, still at c1
    r = glint(sandbox, "delete", name, "--from", "c2:alpha", "--yes")
    assert r.returncode == 0, r.stderr
    assert not at(sandbox, "c2:alpha", name) and at(sandbox, "c1:alpha", name)
    # now c1's is the last copy glint can see
    r = glint(sandbox, "delete", name, "--from", "c1:alpha", "--yes")
    assert r.returncode == 1 and "last copy" in r.stderr
    assert at(sandbox, "c1:alpha", name)


def test_protected_and_not_owned_images_are_not_deleted(sandbox):
    name = unique("cli-guard")
    data = random_bytes(128 * KiB)
    img = put(sandbox, "c1:alpha", name, data, visibility="community")
    put(sandbox, "c2:alpha", name, data)  # so "last copy" is not the reason
    r = glint(sandbox, "delete", name, "--from", "c1:beta", "--yes")  # beta sees alpha's image
    assert r.returncode == 1 and "owned by another project" in r.stderr
    s = sandbox.session("c1:alpha")
    try:
        s.update_image(img.id, protected=True)
        r = glint(sandbox, "delete", name, "--from", "c1:alpha", "--yes")
        assert r.returncode == 1 and "protected" in r.stderr
        assert s.get_image(img.id).status == "active"
    finally:
        s.update_image(img.id, protected=False)
        s.close()


def test_plan_save_then_apply_with_prune(sandbox, tmp_path: Path):
    name = unique("cli-desired")
    data = random_bytes(256 * KiB)
    put(sandbox, "c1:alpha", name, data)
    put(sandbox, "c3:alpha", name, data)
    desired = tmp_path / "DESIRED.json"
    desired.write_text(json.dumps({name: ["c1:alpha", "c2:beta"]}))
    r = glint(
        sandbox, "plan", str(desired), "--prune", "--json", "--save", str(tmp_path / "p.json")
    )
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["totals"]["copies"] == 1 and plan["totals"]["deletes"] == 1
    assert plan["copies"][0]["targets"][0]["ref"] == "c2:beta"
    assert plan["deletes"][0]["ref"] == "c3:alpha"
    assert json.loads((tmp_path / "p.json").read_text())["totals"] == plan["totals"]
    assert at(sandbox, "c3:alpha", name)  # plan changes nothing

    assert glint(sandbox, "apply", str(desired), "--prune").returncode == 2  # no --yes
    r = glint(sandbox, "apply", str(desired), "--prune", "--yes")
    assert r.returncode == 0, r.stderr
    assert at(sandbox, "c2:beta", name) and not at(sandbox, "c3:alpha", name)
    assert at(sandbox, "c1:alpha", name)
    r = glint(sandbox, "apply", str(desired), "--prune", "--yes")
    assert r.returncode == 0 and "nothing to do" in r.stderr


def test_bad_input_is_one_line_and_exit_2(sandbox, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args in (
        ("plan", str(bad)),
        ("plan", str(tmp_path / "missing.json")),
        ("copy", "whatever", "--to", "nocolon"),
        ("copy", "whatever", "--to", "zz:alpha"),
    ):
        r = glint(sandbox, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.strip().startswith("glint:"), r.stderr
    r = glint(sandbox, "reconcile")
    assert r.returncode == 0 and "reconciled" in r.stdout
