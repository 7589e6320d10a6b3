"""``glint catalog plan|apply FILE``: keep a catalog of images current on every cloud.

``plan`` shows per column what ``apply`` would upload, convert, share, rename, hide,
deactivate or delete, and what the safety rules refuse and why (docs/catalog.md).
``apply`` runs it: new versions fetched once and checked against upstream's checksum
file, converted where a cloud wants another format, copied by the engine (progress,
journal, reconcile, verification), then the metadata steps. Deactivations and deletions
run only after a y/N on a terminal or ``--yes`` (as for ``glint apply``); uploads, shares,
renames and hiding take nothing away and never ask. ``--every 6h`` runs it now and then
every 6 hours (the ``schedule`` package), one run at a time (a lock per profile, which
cron runs and the UI share), a failed run logged and the loop going on; SIGTERM ends it
(at once when idle; a run in progress is interrupted and cleaned up first).

Exit codes as ``glint apply``: 0 everything done; 1 failed, refused, or answered N; 2 a
bad catalog file or arguments (nothing changed), or removals with no terminal and no
``--yes``; 3 partly done; 130 interrupted. ``--every`` exits 0 when stopped idle.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from glint_tui.commands.common import confirm, services
from glint_tui.commands.progress import ProgressPrinter
from glint_tui.commands.running import run_cancellable
from glint_tui.core import every, exitcodes
from glint_tui.core.catalog import review
from glint_tui.core.catalog_services import CatalogPlanned
from glint_tui.core.errors import GlintError, UsageError, located
from glint_tui.core.inventory import Matrix
from glint_tui.core.safetext import escape, escape_lines
from glint_tui.core.services import Services
from glint_tui.core.transfer import RunResult, TransferOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "catalog",
        help="keep a catalog of images current on every cloud (plan, apply, --every)",
        description="A catalog file (YAML, see config/glint-catalog.yaml) lists images, "
        "their upstream source and the columns they are kept in. `plan` shows per column "
        "what `apply` would do; `apply` does it.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    plan = actions.add_parser(
        "plan", help="show per column what `catalog apply FILE` would do, and what is refused"
    )
    plan.add_argument("file", metavar="FILE")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(func=cmd_plan)
    apply = actions.add_parser(
        "apply", help="make the clouds match the catalog (removals after confirmation)"
    )
    apply.add_argument("file", metavar="FILE")
    apply.add_argument(
        "--every",
        metavar="INTERVAL",
        help="run now and then every INTERVAL (30m, 6h, 1d; 1m to 31d), one run at a time",
    )
    apply.add_argument(
        "-y", "--yes", action="store_true", help="deactivate and delete without asking"
    )
    apply.add_argument("--json", action="store_true", help="print the plan and result as JSON")
    apply.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    apply.set_defaults(func=cmd_apply)


def _err(text: str) -> None:
    print(escape_lines(text), file=sys.stderr)


def _warn_unlisted(matrix: Matrix) -> None:
    for ref, status in matrix.status.items():
        if not status.ok:
            _err(f"glint: warning: cannot list {located(ref, status.error or '')}")


def cmd_plan(args: argparse.Namespace) -> int:
    planned = services().catalog_plan(args.file)
    _warn_unlisted(planned.matrix)
    if args.json:
        print(json.dumps(review.to_dict(planned.plan, args.file), indent=2, sort_keys=True))
    else:
        for line in review.lines(planned.plan):
            print(line)
    return exitcodes.OK


def cmd_apply(args: argparse.Namespace) -> int:
    if args.every is None:
        return apply_once(args, services())
    try:
        seconds = every.parse_interval(args.every)
    except ValueError as e:
        raise UsageError(f"--every: {e}") from None
    return apply_every(args, seconds)


def apply_once(args: argparse.Namespace, use: Services) -> int:
    """One catalog run under the profile's catalog lock: plan, review, confirm, run."""
    with use.catalog_lock():
        planned = use.catalog_plan(args.file)
        _warn_unlisted(planned.matrix)
        plan = planned.plan
        if plan.empty:
            return _nothing_to_do(planned, args)
        if not args.quiet and not args.json:
            for line in review.lines(plan):
                _err(line)
        n = plan.delete_count
        question = f"Apply this catalog plan? It deactivates or deletes {n} image(s)."
        if plan.has_deletes and not confirm(args, question):
            _err("glint: nothing done")
            return exitcodes.FAILURE
        printer = ProgressPrinter(quiet=args.quiet)
        options = TransferOptions(command=f"catalog apply {args.file}")
        result = run_cancellable(
            lambda cancel: use.run_catalog(
                plan, cancel, printer, options=options, command=options.command
            ),
            printer,
        )
        return _finish(planned, result, args)


def _nothing_to_do(planned: CatalogPlanned, args: argparse.Namespace) -> int:
    plan = planned.plan
    code = exitcodes.FAILURE if plan.refusals else exitcodes.OK
    if args.json:
        doc = {"plan": review.to_dict(plan, args.file), "exit_code": code}
        print(json.dumps(doc, indent=2, sort_keys=True))
    elif plan.refusals:
        for line in review.lines(plan):
            _err(line)
    elif not args.quiet:
        _err("nothing to do: every column has what the catalog asks")
    return code


def _finish(planned: CatalogPlanned, result: RunResult, args: argparse.Namespace) -> int:
    plan = planned.plan
    code = result.exit_code
    if plan.refusals and code == exitcodes.OK:
        code = exitcodes.PARTIAL if result.succeeded else exitcodes.FAILURE
    if args.json:
        doc: dict[str, Any] = {
            "plan": review.to_dict(plan, args.file),
            "result": result.to_dict(),
            "exit_code": code,
        }
        print(json.dumps(doc, indent=2, sort_keys=True))
    if result.cancelled:
        before = f" ({result.succeeded} done before that)" if result.succeeded else ""
        _err(f"glint: interrupted{before}")
    elif not args.json and not args.quiet:
        _err(f"{result.succeeded} done, {result.failed} failed, {len(plan.refusals)} refused")
    return code


def apply_every(
    args: argparse.Namespace, seconds: float, stop: threading.Event | None = None
) -> int:
    """``--every``: one run now, then one every *seconds*, until SIGTERM/Ctrl-C (or
    *stop* is set, between runs).

    Each run is ``apply_once`` (its own lock, plan and confirmation); a run that fails is
    one line and the loop goes on. An interrupt while idle ends the loop (exit 0); one
    during a run cancels that run (its half-made images removed) and ends the loop."""
    stop = stop or threading.Event()
    runs = 0

    def job() -> int:
        nonlocal runs
        runs += 1
        when = time.strftime("%Y-%m-%d %H:%M:%S")
        _err(f"glint: catalog apply {escape(args.file)}: run {runs} at {when}")
        try:
            code = apply_once(args, services())
        except GlintError as e:
            _err(f"glint: {e}")
            code = e.exit_code
        if code == exitcodes.INTERRUPTED:
            stop.set()
        return code

    def log(message: str) -> None:
        _err(f"glint: {message}")

    _err(f"glint: catalog apply {escape(args.file)}: a run every {seconds} s (SIGTERM stops)")
    try:
        last = every.run_every(seconds, job, stop, log)
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C while waiting for the next run
        _err("glint: stopped")
        return exitcodes.OK
    return exitcodes.INTERRUPTED if last == exitcodes.INTERRUPTED else exitcodes.OK
