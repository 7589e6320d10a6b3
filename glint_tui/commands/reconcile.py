"""``glint reconcile``: delete the half-done images of glint runs that died.

Exit codes: 0 every dead run settled; 1 some creation could not be checked yet (a cloud
did not answer: run it again later); 2 configuration error or wrong keyring master
password. A journal line that is not an entry glint wrote is skipped with a warning.
"""

from __future__ import annotations

import argparse
import json
import time

from glint_tui.commands.common import info
from glint_tui.core.paths import paths_for
from glint_tui.core.safetext import escape


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconcile",
        help="delete half-done images left by a glint run that died",
        description="Looks at the journal of finished/dead runs and deletes only images "
        "those runs created and never completed (queued, saving, killed).",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_reconcile)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from glint_tui.core.reconcile import reconcile
    from glint_tui.core.sessions import SessionProvider

    paths = paths_for()
    started = time.monotonic()
    sessions = SessionProvider(paths)
    sessions.secrets.unlock(create=False)  # a wrong master password: exit 2, before any run
    report = reconcile(sessions, paths)
    for why in report.skipped:
        info(f"glint: warning: journal {why} (skipped)")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
        return 0 if report.ok else 1
    for ref, image_id, status in report.removed:
        print(escape(f"deleted {image_id} at {ref} (left {status} by a dead run)"))
    for ref, image_id in report.kept:
        print(escape(f"kept {image_id} at {ref} (a completed copy)"))
    for ref, tid, why in report.unresolved:
        print(escape(f"could not check {ref} (transfer {tid}): {why}"))
    took = time.monotonic() - started
    print(
        f"reconciled {report.runs_checked} run(s) in {took:.1f} s: "
        f"{len(report.removed)} removed, {len(report.unresolved)} unresolved"
    )
    return 0 if report.ok else 1
