"""``glint images [--project REPO:PROJECT]... [--json]``: the image matrix in a terminal.

``--project`` limits the matrix to those columns: only their clouds are asked, and only
images there are shown. A cell shows ``present`` only for an ``active`` image; one holding
only half-made or unusable images (queued, saving, importing, killed, deactivated) is
``incomplete`` (the JSON also gives each image's status).

Exit codes: 0 every column listed; 3 some columns could not be listed (their error is
shown, the rest of the matrix still is); 1 no column could be listed; 2 bad arguments
or no repositories configured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

import humanize

from glint_tui.commands import common
from glint_tui.core import exitcodes
from glint_tui.core.errors import located
from glint_tui.core.glyphs import COLUMN_FAILED, CONFLICT, SAME_CLOUD, glyph
from glint_tui.core.inventory import Matrix, Row
from glint_tui.core.safetext import escape


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "images",
        help="list images across every repository:project (the matrix)",
        description="List every image in every configured REPO:PROJECT. Rows are "
        "(name, content hash); ● present and owned, ◐ present but not owned "
        "(shared/public from elsewhere), ○ incomplete (half-made or unusable: not a copy), "
        "· absent, ! column could not be listed, "
        "≡ column of a repository that is the same cloud as another.",
    )
    p.add_argument(
        "--project",
        action="append",
        metavar="REPO:PROJECT",
        help="only this column (repeat for more): only its cloud is asked",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    return print_inventory(args.project, args.json)


def print_inventory(projects: list[str] | None, as_json: bool) -> int:
    """Print the matrix (or JSON) and return the exit code (0, 3 or 1 as documented)."""
    use_cases = common.services()
    columns = [common.column(use_cases, text) for text in projects or ()]
    # only those columns: every row is present in one of them
    matrix = use_cases.load_matrix(columns, need_columns=True)
    if as_json:
        json.dump(matrix.to_dict(), sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        for line in render_table(matrix, matrix.rows):
            print(line)
    return _exit_code(matrix)


def _exit_code(matrix: Matrix) -> int:
    failed = sum(not s.ok for s in matrix.status.values())
    return exitcodes.partial(failed, len(matrix.status))


def render_table(matrix: Matrix, rows: list[Row]) -> list[str]:
    """Plain-text matrix: one column per REPO:PROJECT, errors listed underneath.

    Names and errors come from the clouds: escaped (``core.safetext``), so a name holding
    ESC or a newline can neither colour the terminal nor forge a row.
    """
    cols = matrix.columns
    headers = [(SAME_CLOUD.text() if matrix.same_cloud(c) else "") + str(c) for c in cols]
    labels = [escape(r.label) + (" " + CONFLICT.text() if r.conflict else "") for r in rows]
    name_w = max([len("IMAGE"), *(len(x) for x in labels)])
    width = shutil.get_terminal_size((120, 24)).columns
    name_w = min(name_w, max(20, width - 12 - sum(len(h) + 2 for h in headers)))
    out = ["  ".join(["IMAGE".ljust(name_w), "SIZE".rjust(9), *headers])]
    for row, label in zip(rows, labels, strict=False):
        cells = []
        for ref, h in zip(cols, headers, strict=False):
            g = COLUMN_FAILED.text() if not matrix.status[ref].ok else glyph(row.cell(ref).state)
            cells.append(g.center(len(h)))
        size = humanize.naturalsize(row.size, binary=True) if row.size else "-"
        out.append("  ".join([label[:name_w].ljust(name_w), size.rjust(9), *cells]))
    if not rows:
        out.append("(no images)")
    for ref in cols:
        st = matrix.status[ref]
        if not st.ok:
            out.append(f"! {escape(located(ref, st.error or ''))}")
    out.extend(same_cloud_legend(matrix))
    return out


def same_cloud_legend(matrix: Matrix) -> list[str]:
    """One line per cloud registered under several repository names."""
    groups: dict[str, set[str]] = {}
    for ref in matrix.columns:
        if matrix.same_cloud(ref):
            key = matrix.cloud_of(ref) or ""
            groups.setdefault(key, set()).add(ref.repository)
    lines = []
    for endpoint, names in sorted(groups.items()):
        *first, last = sorted(names)
        lines.append(
            f"{SAME_CLOUD.text()} {', '.join(first)} and {last} are the same cloud (image "
            f"endpoint {endpoint}): an image seen through both is one copy"
        )
    return lines
