"""``REPO[/REGION]:PROJECT``: one parser for every place a column is named, and a region
that round-trips through text, sorting, hashing, JSON, the journal and plan files while
a ref without one behaves exactly as before. No network."""

from __future__ import annotations

import io
import json
import sys

import pytest

from glint_tui.cli import main
from glint_tui.core import journal
from glint_tui.core.config import check_repository_name
from glint_tui.core.inventory import Listing, build_matrix
from glint_tui.core.model import ImageRecord, ProjectRef
from glint_tui.core.paths import paths_for
from glint_tui.core.plan import CopyAction, CopyTarget, DeleteAction, Plan, Refusal

PLAIN = ProjectRef("c1", "alpha")
EAST = ProjectRef("c1", "alpha", "east")


def test_a_ref_without_a_region_reads_and_prints_as_before() -> None:
    assert str(PLAIN) == "c1:alpha" and ProjectRef.parse("c1:alpha") == PLAIN
    assert PLAIN.region is None
    assert ProjectRef.parse("c1:team:ops") == ProjectRef("c1", "team:ops")  # first ':' splits
    old_order = [("c2", "alpha"), ("c1", "beta"), ("c1", "alpha"), ("c10", "a")]
    assert [(r.repository, r.project) for r in sorted(ProjectRef(*t) for t in old_order)] == sorted(
        old_order
    )


@pytest.mark.parametrize("text", ["c1", "c1:", ":alpha", "/east:alpha", "c1/:alpha", ""])
def test_a_malformed_ref_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected REPO:PROJECT"):
        ProjectRef.parse(text)


def test_a_region_ref_round_trips_through_text_sorting_and_hashing() -> None:
    assert str(EAST) == "c1/east:alpha" and ProjectRef.parse("c1/east:alpha") == EAST
    assert EAST != PLAIN and len({EAST, PLAIN, ProjectRef.parse(str(EAST))}) == 2
    refs = [ProjectRef("c1", "beta", "west"), EAST, ProjectRef("c1", "beta"), PLAIN]
    # repository, then region (none first), then project
    assert [str(r) for r in sorted(refs)] == [
        "c1:alpha",
        "c1:beta",
        "c1/east:alpha",
        "c1/west:beta",
    ]


def test_a_region_ref_round_trips_through_matrix_json_plan_files_and_the_journal(
    tmp_path, monkeypatch
) -> None:
    image = ImageRecord("id-1", "img", owner="p1", os_hash_algo="sha512", os_hash_value="ab" * 64)
    matrix = build_matrix([Listing(EAST, "p1", [image]), Listing(PLAIN, "p2", [])])
    assert matrix.columns == [PLAIN, EAST]
    doc = json.loads(json.dumps(matrix.to_dict()))
    assert [ProjectRef.parse(c["ref"]) for c in doc["columns"]] == [PLAIN, EAST]
    assert list(doc["rows"][0]["cells"]) == ["c1/east:alpha"]

    key = image.content_key or ""
    plan = Plan(
        [CopyAction("a1", "img", key, 10, EAST, "id-1", (CopyTarget(PLAIN, "img"),))],
        [DeleteAction("a2", "img", key, EAST, "id-1")],
        [Refusal("delete", "img", key, ProjectRef("c2", "beta", "north"), "why")],
    )
    again = Plan.from_json(plan.to_json())
    assert again.copies == plan.copies and again.deletes == plan.deletes
    assert again.refusals == plan.refusals

    monkeypatch.setenv("GLINT_HOME", str(tmp_path))
    with journal.Journal(paths_for("refs")) as run:
        run.record(journal.CREATING, transfer_id="t1", ref=str(EAST), name="img")
    [pending] = journal.read_run(run.path).pending()
    assert ProjectRef.parse(pending.ref) == EAST


@pytest.mark.parametrize("name", ["c1/east", "c1:alpha", "a b", ""])
def test_repository_names_cannot_hold_the_ref_separators(name: str) -> None:
    with pytest.raises(ValueError, match="no '/', ':'"):
        check_repository_name(name)


@pytest.mark.parametrize(
    "argv",
    [
        ["images", "--project", "nocolon"],
        ["copy", "img", "--to", "nocolon"],
        ["copy", "img", "--to", "c1:alpha", "--from", "nocolon"],
        ["delete", "img", "--from", "nocolon"],
        ["credentials", "add", "nocolon", "--username", "u"],
        ["credentials", "delete", "nocolon"],
    ],
)
def test_every_command_reads_refs_with_the_same_parser(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLINT_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "glint: expected REPO:PROJECT (e.g. mycloud:alpha), got 'nocolon'\n"
