"""``glint copy | upload | delete | plan | apply``: the engine from a shell.

Copies never delete anything and run without asking; a plan that deletes (``delete``,
``--on-conflict replace``, ``apply --prune``) asks y/N on a terminal, or needs ``--yes``.

Exit codes: 0 everything done; 1 failed (nothing done, a safety refusal, or the user
answered N); 2 usage or configuration error, an unknown or ambiguous IMAGE, or a
deletion with no terminal to confirm on and no ``--yes``; 3 partial success (some
destinations done, some failed or refused); 130 interrupted (Ctrl-C: transfers in
flight are aborted and their half-made images deleted before glint exits).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO
from urllib.parse import urlsplit

from glint_tui.commands.common import column, confirm, services
from glint_tui.commands.progress import ProgressPrinter
from glint_tui.commands.running import run_cancellable
from glint_tui.core import exitcodes
from glint_tui.core.desired import Desired
from glint_tui.core.errors import GlintError, UsageError, located
from glint_tui.core.importmethods import CHOICES as METHODS
from glint_tui.core.inventory import Matrix, Row
from glint_tui.core.model import VISIBILITIES, ImageRecord, ProjectRef
from glint_tui.core.plan import ON_CONFLICT, Plan
from glint_tui.core.safetext import escape
from glint_tui.core.transfer import RunResult, TransferOptions
from glint_tui.core.uploads import DISK_FORMATS, parse_property


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "copy",
        help="copy an image to other repository:projects (streamed, verified)",
        description="Copy IMAGE (a name, name@<hash prefix>, or an image id) to each --to "
        "place. The source is --from, else the home repository, else any place holding "
        "a verified copy. The copy keeps formats, min disk/RAM, tags and user properties.",
    )
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--to", action="append", required=True, metavar="REPO:PROJECT")
    p.add_argument("--from", dest="source", metavar="REPO:PROJECT")
    p.add_argument("--visibility", choices=VISIBILITIES, default="private")
    p.add_argument(
        "--store",
        metavar="STORE",
        help="the store of a multi-store Glance the copy must land in; a place that has the "
        "image in another store gets this one added (copy-image, admin role)",
    )
    p.add_argument(
        "--source-url",
        metavar="URL",
        help="where the destination can read the same bytes without a token (web-download; "
        "the copy is verified by hash)",
    )
    _method_flag(p)
    _common_run_flags(p)
    p.set_defaults(func=cmd_copy)

    p = sub.add_parser(
        "upload",
        help="upload a new image from a file to repository:projects (streamed once, verified)",
        description="Upload FILE as a new image NAME to each --to place at once: the file "
        "is hashed (sha512), streamed once to every destination and verified there like a "
        "copy. A different image with that name at a destination is refused there (choose "
        "another --name); one with the same bytes is left as it is.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", required=True, help="the image's name")
    p.add_argument("--to", action="append", required=True, metavar="REPO:PROJECT")
    p.add_argument(
        "--disk-format",
        choices=DISK_FORMATS,
        help="default: what the file's first bytes say (qcow2, vmdk, vhdx, vdi, iso), else raw",
    )
    p.add_argument(
        "--property",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a property of the new image (repeat for more)",
    )
    p.add_argument("--visibility", choices=VISIBILITIES, default="private")
    p.add_argument("--max-rate", type=_rate, metavar="RATE", help="read at most this fast (50M)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_upload, no_cache=True)

    p = sub.add_parser(
        "delete",
        help="delete an image from one repository:project (safety rules apply)",
        description="Delete IMAGE at --from: an image id deletes exactly that image; a "
        "name (or name@hash) that matches several images there lists them and asks for "
        "an id, or --all-matching. Refused for protected images, images the project does "
        "not own (shared or public from elsewhere), and the last copy of its content glint "
        "can see (one image seen from several projects or repositories is one copy).",
    )
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--from", dest="source", required=True, metavar="REPO:PROJECT")
    p.add_argument(
        "--all-matching",
        action="store_true",
        help="delete every image IMAGE matches at --from (the review lists each id)",
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser(
        "plan",
        help="show what `glint apply DESIRED.json` would do",
        description="DESIRED.json maps image names (or name@hash) to the REPO:PROJECT "
        'places they must exist, e.g. {"ubuntu-24.04": ["c1:alpha", "c2:alpha"]}.',
    )
    p.add_argument("desired", metavar="DESIRED.json")
    p.add_argument("--prune", action="store_true", help="also remove from places not listed")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    _plan_flags(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("apply", help="make the clouds match DESIRED.json (after confirmation)")
    p.add_argument("desired", metavar="DESIRED.json")
    p.add_argument("--prune", action="store_true", help="also remove from places not listed")
    _plan_flags(p)
    _common_run_flags(p)
    p.set_defaults(func=cmd_apply)


def _plan_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--on-conflict", choices=ON_CONFLICT, default="refuse")
    p.add_argument("--visibility", choices=VISIBILITIES, default="private")
    _method_flag(p)


def _method_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="how each copy moves: auto (default, or settings.json transfer_method) lets the "
        "destination pull the image itself where both ends allow it, else streams it "
        "through this host; a named method is refused where it cannot serve",
    )


def _common_run_flags(p: argparse.ArgumentParser) -> None:
    if not any(a.dest == "on_conflict" for a in p._actions):
        p.add_argument(
            "--on-conflict",
            choices=ON_CONFLICT,
            default="refuse",
            help="a different image with the same name at a destination: refuse (default), "
            "rename the copy, keep both, or replace it",
        )
    p.add_argument("--no-cache", action="store_true", help="do not spool bytes locally")
    p.add_argument(
        "--max-rate",
        type=_rate,
        metavar="RATE",
        help="read each image at most this fast, bytes/s (suffix K, M or G: 50M)",
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


# --- helpers ----------------------------------------------------------------------------------


def _rate(text: str) -> float:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = units.get(t[-1:], 1)
    try:
        value = float(t[:-1] if t[-1:] in units else t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 50M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the rate must be positive")
    return value


def _source_url(text: str | None) -> str | None:
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or not text.isprintable():
        raise UsageError(f"--source-url: expected an http(s) URL, got {text!r}")
    return text


def _resolve_image(matrix: Matrix, spec: str, at: ProjectRef | None = None) -> Row:
    """The one row IMAGE names (at *at*, when given); unknown or ambiguous is a usage error."""
    rows = [r for r in matrix.find(spec) if r.has_data or at is not None]
    if not rows:
        raise matrix.no_such_image(spec)
    if at is not None:
        rows = [r for r in rows if r.cell(at).present]
        if not rows:
            raise _not_at(spec, at)
    if len(rows) > 1:
        lines = "\n".join(_candidate(r, img) for r in rows for img in _images_of(r))
        raise UsageError(f"{spec!r} is ambiguous; say which one with its image id:\n{lines}")
    return rows[0]


def _delete_selection(
    matrix: Matrix, spec: str, at: ProjectRef, all_matching: bool
) -> list[tuple[Row, frozenset[str]]]:
    """The exact images ``glint delete IMAGE --from AT`` deletes, grouped by row.

    An image id means that image only. Each reading of IMAGE (id, name, name@hash) is
    taken at AT; readings that disagree are ambiguous, and one reading matching several
    images needs ``--all-matching``: both are usage errors listing the candidates.
    """
    lk = matrix.lookup(spec)
    if not lk.rows:
        raise matrix.no_such_image(spec)
    readings = []
    for rows, exact_id in ((lk.by_id, True), (lk.by_name, False), (lk.by_label, False)):
        found = [
            (r, img) for r in rows for img in r.cell(at).images if not exact_id or img.id == spec
        ]
        if found:
            readings.append(found)
    if not readings:
        raise _not_at(spec, at)
    if len({frozenset(img.id for _, img in f) for f in readings}) > 1:
        seen = {img.id: (r, img) for f in readings for r, img in f}
        lines = "\n".join(_candidate(r, img, at) for r, img in seen.values())
        raise UsageError(f"{spec!r} is ambiguous at {at}; name one by its image id:\n{lines}")
    found = readings[0]
    if len(found) > 1 and not all_matching:
        lines = "\n".join(_candidate(r, img, at) for r, img in found)
        raise UsageError(
            f"{spec!r} matches {len(found)} images at {at}; name one by its image id, "
            f"or add --all-matching to delete them all:\n{lines}"
        )
    out: dict[tuple[str, str], tuple[Row, set[str]]] = {}
    for r, img in found:
        out.setdefault(r.key, (r, set()))[1].add(img.id)
    return [(r, frozenset(ids)) for r, ids in out.values()]


def _not_at(spec: str, at: ProjectRef) -> UsageError:
    return UsageError(f"no image {spec!r} at {at} (see `glint images --project {at}`)")


def _images_of(row: Row) -> list[ImageRecord]:
    """Each image of *row* once (an image shared into several columns is one image)."""
    seen: dict[str, ImageRecord] = {}
    for cell in row.cells.values():
        for img in cell.images:
            seen.setdefault(img.id, img)
    return list(seen.values())


def _candidate(row: Row, img: ImageRecord, at: ProjectRef | None = None) -> str:
    where = str(at) if at else ", ".join(str(c.ref) for c in row.cells.values() if img in c.images)
    return f"  {img.id}  {escape(row.label)}  {escape(img.status)}  in {where}"


def _err(text: str) -> None:
    """One line for the operator on stderr; what came from a cloud in it is escaped."""
    print(escape(text), file=sys.stderr)


def _show_plan(plan: Plan, out: TextIO = sys.stderr) -> None:
    for line in plan.describe():  # already escaped
        print(line, file=out)


def run_plan(plan: Plan, args: argparse.Namespace, command: str) -> RunResult:
    """Run the engine in a worker so Ctrl-C cancels cleanly (in-flight images are removed)."""
    printer = ProgressPrinter(quiet=getattr(args, "quiet", False))
    options = TransferOptions(
        use_spool=not getattr(args, "no_cache", False),
        max_rate=getattr(args, "max_rate", None),
        command=command,
    )
    use_cases = services()
    return run_cancellable(
        lambda cancel: use_cases.run_plan(plan, cancel, printer, options=options), printer
    )


def _finish(result: RunResult, plan: Plan, args: argparse.Namespace) -> int:
    code = result.exit_code
    if plan.refusals and code == exitcodes.OK:
        code = exitcodes.PARTIAL if result.succeeded else exitcodes.FAILURE
    if getattr(args, "json", False):
        doc = {"plan": plan.to_dict(), "result": result.to_dict(), "exit_code": code}
        print(json.dumps(doc, indent=2, sort_keys=True))
    if result.cancelled:
        before = f" ({result.succeeded} done before that)" if result.succeeded else ""
        _err(f"glint: interrupted{before}")
    elif not getattr(args, "json", False) and not getattr(args, "quiet", False):
        _err(f"{result.succeeded} done, {result.failed} failed, {len(plan.refusals)} refused")
    return code


def _refused_only(plan: Plan, args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        doc = {"plan": plan.to_dict(), "exit_code": exitcodes.FAILURE}
        print(json.dumps(doc, indent=2, sort_keys=True))
    for r in plan.refusals:
        _err(f"glint: refused: {r.kind} {r.name} at {r.ref}: {r.reason}")
    return exitcodes.FAILURE if plan.refusals else exitcodes.OK


# --- commands --------------------------------------------------------------------------------


def cmd_copy(args: argparse.Namespace) -> int:
    use_cases = services()
    dests = [column(use_cases, t) for t in args.to]
    source = column(use_cases, args.source) if args.source else None
    matrix = use_cases.load_matrix(need_columns=True)
    for r in [*dests, *([source] if source else [])]:
        if r not in matrix.status:
            raise UsageError(matrix.unknown_column(r))
    row = _resolve_image(matrix, args.image, source)
    desired = Desired()
    for d in dests:
        desired.want(row.key, d, True)
    plan = use_cases.make_plan(
        matrix,
        desired,
        on_conflict=args.on_conflict,
        visibility=args.visibility,
        source=source,
        method=args.method,
        store=args.store,
        source_url=_source_url(args.source_url),
    )
    if plan.is_empty:
        if plan.refusals:
            return _refused_only(plan, args)
        if not args.quiet:
            _err(f"{row.label} is already at {', '.join(map(str, dests))}: nothing to do")
        if args.json:
            doc = {"plan": plan.to_dict(), "exit_code": exitcodes.OK}
            print(json.dumps(doc, indent=2, sort_keys=True))
        return exitcodes.OK
    question = "This replaces (deletes) images. Go ahead?" if plan.has_deletes else None
    return _review_and_run(plan, args, f"copy {args.image}", question)


def cmd_upload(args: argparse.Namespace) -> int:
    use_cases = services()
    dests = [column(use_cases, t) for t in args.to]
    properties = dict(parse_property(p) for p in args.property)
    printer = ProgressPrinter(quiet=args.quiet)
    plan, already = use_cases.plan_upload(
        args.file,
        args.name,
        dests,
        disk_format=args.disk_format,
        properties=properties,
        visibility=args.visibility,
        on_hash=None if args.quiet else lambda done, size: printer.hashing(args.file, done, size),
    )
    printer.close()
    for ref, ids in already:
        if not args.quiet:
            _err(f"{ref} already has {args.name} with these bytes (image {ids})")
    if plan.is_empty:
        return _refused_only(plan, args)
    return _review_and_run(plan, args, f"upload {args.file} --name {args.name}", None)


def cmd_delete(args: argparse.Namespace) -> int:
    use_cases = services()
    at = column(use_cases, args.source)
    matrix = use_cases.load_matrix(need_columns=True)
    if at not in matrix.status:
        raise UsageError(matrix.unknown_column(at))
    if not matrix.status[at].ok:
        raise GlintError(f"cannot list {located(at, matrix.status[at].error or '')}")
    selection = _delete_selection(matrix, args.image, at, args.all_matching)
    desired = Desired()
    for row, ids in selection:
        desired.want(row.key, at, False, image_ids=ids)
    plan = use_cases.make_plan(matrix, desired)
    if not plan.deletes:
        return _refused_only(plan, args)
    what = ", ".join(d.image_id for d in plan.deletes)
    return _review_and_run(
        plan,
        args,
        f"delete {args.image} --from {at}",
        f"Delete {len(plan.deletes)} image(s) from {at} ({what})?",
        declined="glint: nothing deleted",
    )


def _review_and_run(
    plan: Plan,
    args: argparse.Namespace,
    label: str,
    question: str | None,
    declined: str = "glint: nothing done",
) -> int:
    """Show the plan, ask *question* (when there is one), then run it and report."""
    if not args.quiet:
        _show_plan(plan)
    if question and not confirm(args, question):
        _err(declined)
        return exitcodes.FAILURE
    return _finish(run_plan(plan, args, label), plan, args)


def _plan_from_args(args: argparse.Namespace) -> Plan:
    plan, matrix = services().plan_from_file(
        args.desired,
        prune=args.prune,
        on_conflict=args.on_conflict,
        visibility=args.visibility,
        method=args.method,
    )
    for ref, status in matrix.status.items():
        if not status.ok:
            _err(f"glint: warning: cannot list {located(ref, status.error or '')}")
    return plan


def cmd_plan(args: argparse.Namespace) -> int:
    plan = _plan_from_args(args)
    if args.json:
        print(plan.to_json())
    else:
        for line in plan.describe():
            print(line)
    return exitcodes.OK


def cmd_apply(args: argparse.Namespace) -> int:
    plan = _plan_from_args(args)
    if plan.is_empty:
        if plan.refusals:
            return _refused_only(plan, args)
        if not args.quiet:
            _err("nothing to do: the clouds already match")
        return exitcodes.OK
    # copies never delete anything: only a plan with deletions needs a yes
    question = "Apply this plan (it deletes images)?" if plan.has_deletes else None
    return _review_and_run(plan, args, f"apply {args.desired}", question)
