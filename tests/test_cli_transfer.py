"""`glint copy / delete / plan / apply / reconcile` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest

from tests.helpers import (
    at,
    glint,
    put,
    random_bytes,
    run_glint,
    sha512,
    unique,
)
from tests.terminals import Terminal

pytestmark = pytest.mark.sandbox
KiB = 1024


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
    with sandbox.session("c1:alpha") as s:
        try:
            s.update_image(img.id, protected=True)
            r = glint(sandbox, "delete", name, "--from", "c1:alpha", "--yes")
            assert r.returncode == 1 and "protected" in r.stderr
            assert s.get_image(img.id).status == "active"
        finally:
            s.update_image(img.id, protected=False)


def test_plan_then_apply_with_prune(sandbox, tmp_path: Path):
    name = unique("cli-desired")
    data = random_bytes(256 * KiB)
    put(sandbox, "c1:alpha", name, data)
    put(sandbox, "c3:alpha", name, data)
    desired = tmp_path / "DESIRED.json"
    desired.write_text(json.dumps({name: ["c1:alpha", "c2:beta"]}))
    r = glint(sandbox, "plan", str(desired), "--prune", "--json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["totals"]["copies"] == 1 and plan["totals"]["deletes"] == 1
    assert plan["copies"][0]["targets"][0]["ref"] == "c2:beta"
    assert plan["deletes"][0]["ref"] == "c3:alpha"
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


@pytest.mark.parametrize("command", ["copy", "apply"])
def test_ctrl_c_during_a_run_on_a_terminal_exits_130_and_cleans_up(sandbox, tmp_path, command):
    """Regression: Ctrl-C on a TTY printed a traceback (KeyError: 'result') and exited 1."""
    name = unique(f"cli-interrupt-{command}")
    put(sandbox, "c1:alpha", name, random_bytes(8 * 1024 * KiB))
    if command == "copy":
        args = ["copy", name, "--to", "c2:alpha"]
    else:
        desired = tmp_path / "desired.json"
        desired.write_text(json.dumps({name: ["c1:alpha", "c2:alpha"]}))
        args = ["apply", str(desired)]
    term = Terminal(sandbox, *args, "--max-rate", "1M")
    term.wait_for(lambda: bool(at(sandbox, "c2:alpha", name)), "the half-copied image")
    term.wait_for(lambda: "%" in term.text, "the progress line")
    term.proc.send_signal(signal.SIGINT)
    code = term.finish()
    assert code == 130, term.text
    assert "Traceback" not in term.text and "glint: interrupted" in term.text, term.text
    assert "✗" not in term.text, term.text  # a cancelled copy is not reported as a failure
    assert at(sandbox, "c2:alpha", name) == []
    assert len(at(sandbox, "c1:alpha", name)) == 1


def test_copies_never_ask_but_deletions_do(sandbox, tmp_path: Path):
    """copy and a copies-only apply run without a terminal; deletions need one or --yes."""
    name = unique("cli-consistent")
    data = random_bytes(128 * KiB)
    put(sandbox, "c1:alpha", name, data)
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({name: ["c1:alpha", "c2:beta"]}))
    r = glint(sandbox, "apply", str(desired))  # copies only, no terminal, no --yes
    assert r.returncode == 0, r.stderr
    assert [i.os_hash_value for i in at(sandbox, "c2:beta", name)] == [sha512(data)]
    r = glint(sandbox, "delete", name, "--from", "c2:beta")
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == (
        "glint: cannot ask for confirmation without a terminal; add --yes"
    )
    assert at(sandbox, "c2:beta", name)


def test_answering_n_deletes_nothing_and_exits_1(sandbox):
    name = unique("cli-decline")
    data = random_bytes(128 * KiB)
    put(sandbox, "c1:alpha", name, data)
    put(sandbox, "c2:alpha", name, data)
    term = Terminal(sandbox, "delete", name, "--from", "c2:alpha")
    term.wait_for(lambda: "[y/N]" in term.text, "the question")
    term.type("n\r")
    assert term.finish() == 1
    assert "glint: nothing deleted" in term.text and "Traceback" not in term.text
    assert at(sandbox, "c2:alpha", name)


def test_unknown_image_is_a_usage_error_everywhere(sandbox, tmp_path: Path):
    name = unique("cli-unknown")
    put(sandbox, "c1:alpha", name)
    nosuch = unique("nosuch")
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({nosuch: ["c1:alpha"]}))
    for args in (
        ("copy", nosuch, "--to", "c2:alpha"),
        ("delete", nosuch, "--from", "c2:alpha", "--yes"),
        ("plan", str(desired)),
    ):
        r = glint(sandbox, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and nosuch in r.stderr, r.stderr
    r = glint(sandbox, "delete", nosuch, "--from", "c2:alpha", "--yes")
    assert r.stderr.strip() == f"glint: no image named {nosuch!r} (see `glint images`)"
    r = glint(sandbox, "delete", name, "--from", "c2:alpha", "--yes")  # exists, elsewhere
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"glint: no image {name!r} at c2:alpha (see `glint images --project c2:alpha`)"
    )
    assert at(sandbox, "c1:alpha", name)


def test_a_cloud_error_names_its_place_once(sandbox):
    """Regression: failures read `✗ c2:alpha: c2:alpha: not allowed to …`."""
    name = unique("cli-public")
    put(sandbox, "c1:alpha", name)
    r = glint(sandbox, "copy", name, "--to", "c2:alpha", "--visibility", "public")
    assert r.returncode == 1, r.stderr
    [line] = [x for x in r.stderr.splitlines() if x.startswith("✗ c2:alpha")]
    assert line.startswith("✗ c2:alpha: not allowed to"), r.stderr
    assert "c2:alpha: c2:alpha" not in r.stderr
    assert at(sandbox, "c2:alpha", name) == []


def test_an_image_not_found_while_columns_could_not_be_listed_names_them_exit_1(
    sandbox, tmp_path: Path, monkeypatch
):
    """Real c1 plus a repository whose Keystone is a closed loopback port: "no image named"
    would be a lie when the image may be in the column that did not answer."""
    from glint_tui.core.config import ConfigStore
    from glint_tui.core.model import Credential, Repository
    from glint_tui.core.paths import paths_for
    from glint_tui.core.secrets import SecretStore

    monkeypatch.setenv("GLINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GLINT_PROFILE")
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "test-master")
    paths = paths_for()
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    with socket.socket() as closed:  # bound, never listening: nobody else takes the port
        closed.bind(("127.0.0.1", 0))
        dead = Repository("c9", f"http://127.0.0.1:{closed.getsockname()[1]}/v3")
        c1 = sandbox.cloud("c1")
        [(cred, secret)] = [
            c for c in sandbox.sandbox.member_credentials(c1) if c[0].project == "alpha"
        ]
        for repo, credential, password in (
            (sandbox.sandbox.repository(c1), cred, secret),
            (dead, Credential("c9", "alpha", "alice"), "unused"),
        ):
            store.add_repository(repo)
            secrets.set(credential.secret_key, password)
            store.add_credential(credential)
        env = dict(os.environ)
        nosuch = unique("nosuch")
        for args in (
            ("copy", nosuch, "--to", "c1:alpha"),
            ("delete", nosuch, "--from", "c1:alpha", "--yes"),
        ):
            r = run_glint(env, *args)
            assert r.returncode == 1, (args, r.stderr)
            [line] = r.stderr.splitlines()
            assert line.startswith(
                f"glint: no image named {nosuch!r} in the columns that answered; "
                "1 column could not be listed: c9:alpha (cannot connect to Keystone at"
            ), line
        store.remove_repository("c1")  # every cloud down: the reported case
        r = run_glint(env, "copy", "cirros-0.6", "--to", "c9:alpha")
        assert r.returncode == 1, r.stderr
        assert r.stderr.startswith(
            "glint: no image named 'cirros-0.6' found: no column could be listed: "
            "c9:alpha (cannot connect to Keystone at"
        ), r.stderr
