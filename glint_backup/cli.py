"""The ``glint-backup`` command line (console script ``glint-backup``).

Without a command it runs one backup (what cron calls). It imports only glint_tui.core
(never the UI or textual) and loads openstacksdk only when it talks to a cloud, so
``--help`` and local commands start fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from glint_backup import cli_repository, logsetup
from glint_backup.cli_output import emit as _emit
from glint_backup.cli_output import open_for as _store
from glint_backup.cli_output import size as _size
from glint_backup.errors import (
    EXIT_CODES,
    EXIT_CONFIG,
    EXIT_DAMAGED,
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    BackupConfigError,
)
from glint_tui.core.errors import GlintError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, f"glint-backup: error: {message}\n")


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options accepted before and after the command (``glint-backup verify --json``)."""
    d = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=d,
        help="config file (default: <user config dir>/glint/glint-backup.json)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=d or False,
        help="print a machine-readable result on stdout",
    )
    parser.add_argument(
        "--allow-root",
        action="store_true",
        default=d or False,
        help="allow running as root (not recommended)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", default=d or False,
                        help="also show INFO messages on stderr")  # fmt: skip


def _epilog() -> str:
    lines = ["exit codes:"] + [f"  {code:>3}  {text}" for code, text in EXIT_CODES.items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="glint-backup",
        description="Incremental, verifiable backup of a Glance repository (every image of "
        "every project, data and metadata). Without a command: one backup run.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, suppress=False)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="log in and list, report what would be downloaded, write nothing",
    )
    parser.add_argument("--every", metavar="INTERVAL",
                        help="daemon mode: run now and every INTERVAL (e.g. 6h); "
                        "cron or a systemd timer is the recommended way")  # fmt: skip
    common = _Parser(add_help=False)
    _common(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser("run", parents=[common], help="one backup run (the default)")
    p.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS)
    p = sub.add_parser("verify", parents=[common], help="check every snapshot is restorable")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--read-data", action="store_true",
                       help="re-read every object (slow); damaged ones are re-fetched by the "
                       "next run")  # fmt: skip
    group.add_argument("--read-data-subset", metavar="S",
                       help="re-read a share (10%%: a new random one each run) or a slice "
                       "(n/m) of the objects")  # fmt: skip
    sub.add_parser("snapshots", parents=[common], help="list the snapshots")
    p = sub.add_parser("list", parents=[common], help="list the images of a snapshot")
    p.add_argument("snapshot", nargs="?", help="snapshot id or unique prefix (default: latest)")
    p = sub.add_parser("restore", parents=[common], help="restore images into the cloud")
    p.add_argument("--snapshot", help="snapshot id or unique prefix (default: latest)")
    p.add_argument("image_ids", nargs="*", metavar="IMAGE_ID")
    p.add_argument("--project", help="every image owned by this project (id or name)")
    p.add_argument("--all", action="store_true", help="every image of the snapshot")
    p.add_argument("--new-id", action="store_true",
                   help="create with new ids (prints old -> new); needed when Glance has "
                   "seen the original id before")  # fmt: skip
    p = sub.add_parser("forget", parents=[common], help="remove snapshots by a keep policy")
    for rule in ("last", "daily", "weekly", "monthly"):
        p.add_argument(f"--keep-{rule}", type=int, default=0, metavar="N")
    p.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS)
    p = sub.add_parser("prune", parents=[common], help="delete objects no snapshot uses")
    p.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS)
    p = sub.add_parser("copy", parents=[common], help="copy snapshots to another repository")
    p.add_argument(
        "--to",
        required=True,
        metavar="REPOSITORY",
        help="swift://CONTAINER[/PREFIX], s3://BUCKET[/PREFIX] or a directory",
    )
    p = sub.add_parser("diff", parents=[common], help="images added, removed, changed")
    p.add_argument("snapshot1")
    p.add_argument("snapshot2", nargs="?", help="default: the latest")
    sub.add_parser("stats", parents=[common], help="what the repository holds")
    p = sub.add_parser("set-password", parents=[common],
                       help="try a secret (read from stdin), then store it in glint's keyring "
                       "under its configured entry")  # fmt: skip
    p.add_argument("--for", dest="entry", choices=("admin", "s3", "encryption"), default="admin",
                   help="admin: glint_backup_admin_pw_key (default); s3: "
                   "ACCESS_KEY_ID:SECRET under glint_backup_s3_key; encryption: "
                   "glint_backup_encryption_pw_key")  # fmt: skip
    return parser


# -- helpers ---------------------------------------------------------------------------------
# -- commands --------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, config) -> int:
    """One run, with the monitoring hooks around it (a failing ping never fails the run)."""
    from glint_backup import hooks

    dry = args.dry_run or config.testing
    started, code, summary = time.monotonic(), EXIT_FATAL, None
    if not dry:
        hooks.ping(config.healthcheck_url, "start")
    try:
        summary = _one_run(args, config)
        code = summary.exit_code
        return code
    except GlintError as e:
        code = e.exit_code
        raise
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
        raise
    finally:
        if not dry:
            seconds = round(time.monotonic() - started, 3)
            line = (f"exit {code}; {summary.images} image(s), {summary.downloaded} new"
                    if summary else f"exit {code}")  # fmt: skip
            hooks.ping(config.healthcheck_url, "" if code == EXIT_OK else str(code), line)
            hooks.write_metrics(config.metrics_file, _repository_url(config), code, seconds,
                                summary.to_dict() if summary else None)  # fmt: skip


def _repository_url(config) -> str:
    from glint_backup.repository import target_of

    return target_of(config).url


def _one_run(args: argparse.Namespace, config):
    from glint_backup import backup, connect

    summary = backup.run(config, connect.open_admin_session, dry_run=args.dry_run)
    human = ""
    if summary.dry_run:
        human = (
            f"dry run: {summary.images} image(s); would download {summary.would_download} "
            f"({summary.would_download_bytes} bytes, {_size(summary.would_download_bytes)}); "
            f"{summary.reused} already held; nothing written"
        )
    elif args.verbose:
        human = f"snapshot {summary.snapshot}" if summary.changed else "no change"
    _emit(args, summary.to_dict(), human)
    return summary


def cmd_verify(args: argparse.Namespace, config) -> int:
    from glint_backup.verify import parse_subset, verify

    if args.read_data_subset:
        parse_subset(args.read_data_subset)  # a usage error before anything is opened
    with _store(config, lock=True) as store:
        report = verify(store, read_data=args.read_data, subset=args.read_data_subset)
    reread = args.read_data or args.read_data_subset
    lines = [
        f"{report.snapshots} snapshot(s), {report.objects} object(s)"
        + (f", {report.read_objects} re-read ({_size(report.checked_bytes)})" if reread else "")
        + (": OK" if report.ok else f": {len(report.problems)} problem(s)")
    ]
    for p in report.problems:
        lines.append(f"  {p.get('object') or p.get('snapshot')}: {p['problem']}")
    if report.quarantined:
        lines.append("damaged objects were moved to damaged/; the next run re-fetches them")
    _emit(args, report.to_dict(), "\n".join(lines))
    return EXIT_OK if report.ok else EXIT_DAMAGED


def cmd_snapshots(args: argparse.Namespace, config) -> int:
    from glint_backup import snapshots

    with _store(config) as store:
        manifests = list(snapshots.readable(store))
    rows = []
    for m in manifests:
        images = m["images"]
        rows.append({
            "id": m["id"],
            "created": m["created"],
            "images": len(images),
            "with_data": sum(1 for e in images if e.get("object")),
            "bytes": sum(e.get("size") or 0 for e in images if e.get("object")),
            "errors": sum(1 for e in images if e.get("error")),
        })  # fmt: skip
    human = "\n".join(
        f"{r['id']}  {r['images']:>5} images  {_size(r['bytes']):>10}"
        + (f"  {r['errors']} error(s)" if r["errors"] else "")
        for r in rows
    )
    _emit(args, rows, human or "no snapshots yet")
    return EXIT_OK


def cmd_list(args: argparse.Namespace, config) -> int:
    from glint_backup import snapshots

    with _store(config) as store:
        sid = snapshots.resolve(store, args.snapshot)
        images = snapshots.load(store, sid)["images"]
    human = "\n".join(
        f"{e['id']}  {e.get('status', ''):<8} {_size(e.get('size')):>10}  "
        f"{(e.get('owner') or '-')[:12]:<12}  {e.get('name', '')}"
        + ("  [no data]" if not e.get("object") else "")
        + (f"  [error: {e['error']}]" if e.get("error") else "")
        for e in images
    )
    _emit(args, images, f"snapshot {sid}\n{human}" if images else f"snapshot {sid}: no images")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, config) -> int:
    from glint_backup import connect
    from glint_backup.restore import restore

    chosen = sum(bool(x) for x in (args.image_ids, args.project, args.all))
    if chosen != 1:
        raise BackupConfigError("restore: give IMAGE_ID…, or --project P, or --all (one of them)")
    with _store(config, lock=True) as store:
        session = connect.open_admin_session(config)
        try:
            sid, outcomes = restore(
                session, store, args.snapshot, args.image_ids, args.project, args.all,
                args.new_id,
            )  # fmt: skip
        finally:
            session.close()
    lines = [f"from snapshot {sid}:"]
    for o in outcomes:
        target = f"{o.id} -> {o.new_id}" if o.new_id else o.id
        lines.append(
            f"  {o.status:<8} {target}  {o.name}" + (f"  ({o.message})" if o.message else "")
        )
    _emit(args, [o.to_dict() for o in outcomes], "\n".join(lines))
    failed = [o for o in outcomes if o.status == "error"]
    for o in failed:
        logsetup.get().error("restore %s: %s", o.id, o.message)
    return EXIT_PARTIAL if failed else EXIT_OK


def cmd_forget(args: argparse.Namespace, config) -> int:
    from glint_backup.retention import Policy, forget

    policy = Policy(args.keep_last, args.keep_daily, args.keep_weekly, args.keep_monthly)
    if min(policy.last, policy.daily, policy.weekly, policy.monthly) < 0:
        raise BackupConfigError("forget: --keep-* values must not be negative")
    with _store(config, lock=True) as store:
        result = forget(store, policy, dry_run=getattr(args, "dry_run", False))
    verb = "would forget" if result["dry_run"] else "forgot"
    human = f"keep {len(result['keep'])} snapshot(s); {verb} {len(result['forget'])}" + "".join(
        f"\n  {verb}: {sid}" for sid in result["forget"]
    )
    _emit(args, result, human)
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, config) -> int:
    from glint_backup.retention import prune

    with _store(config, lock=True) as store:
        result = prune(store, dry_run=getattr(args, "dry_run", False))
    verb = "would remove" if result["dry_run"] else "removed"
    _emit(
        args, result, f"{verb} {len(result['removed'])} object(s), {_size(result['freed_bytes'])}"
    )
    return EXIT_OK


def cmd_set_password(args: argparse.Namespace, config) -> int:
    import getpass

    from glint_backup import set_password

    name = set_password.entry_name(config, args.entry)
    if sys.stdin.isatty():
        what = set_password.ENTRIES[args.entry][2]
        secret = getpass.getpass(f"{what.capitalize()} ({name}): ")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    name, found = set_password.store(config, args.entry, secret)
    del secret
    _emit(args, {"stored": name, "tried": found}, f"{found}; stored it under {name!r}")
    return EXIT_OK


HANDLERS = {
    "run": cmd_run,
    "verify": cmd_verify,
    "snapshots": cmd_snapshots,
    "list": cmd_list,
    "restore": cmd_restore,
    "forget": cmd_forget,
    "prune": cmd_prune,
    "set-password": cmd_set_password,
    "copy": lambda args, config: cli_repository.cmd_copy(args, config),
    "diff": lambda args, config: cli_repository.cmd_diff(args, config),
    "stats": lambda args, config: cli_repository.cmd_stats(args, config),
}


def _dispatch(args: argparse.Namespace) -> int:
    from glint_backup import config as config_mod

    if os.geteuid() == 0 and not args.allow_root:
        raise BackupConfigError(
            "refusing to run as root: run glint-backup as an unprivileged user "
            "(or pass --allow-root)"
        )
    command = args.command or "run"
    if not hasattr(args, "dry_run"):
        args.dry_run = False
    seconds = None
    if args.every is not None:  # a usage error is reported before the config is read
        from glint_backup.daemon import parse_interval

        if command != "run":
            raise BackupConfigError("--every only applies to the backup run")
        seconds = parse_interval(args.every)
    config = config_mod.load(args.config)
    logsetup.setup(config.logfile, verbose=args.verbose)
    handler = HANDLERS[command]
    if seconds is not None:
        from glint_backup.daemon import loop

        return loop(seconds, lambda: _guarded(handler, args, config))
    return handler(args, config)


def _guarded(handler, args: argparse.Namespace, config) -> int:
    """One run for the daemon: a GlintError is logged and becomes its exit code."""
    try:
        return handler(args, config)
    except GlintError as e:
        logsetup.get().error("%s", e)
        return e.exit_code


def _on_terminate(signum: int, _frame: object) -> None:
    """SIGTERM (systemd stop, kill) ends a run like Ctrl-C: cleanup on the way out, 130."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cleanup itself is not interrupted
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_terminate) if in_main else None
    try:
        return _dispatch(args)
    except GlintError as e:
        _report(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _report("interrupted (temporary files removed)")
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug: one line for cron, never a traceback with local data
        _report(f"unexpected error: {type(e).__name__}: {e}")
        return EXIT_FATAL
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _report(message: str) -> None:
    """One line on stderr (through the log once it is set up, so the file has it too)."""
    log = logsetup.get()
    if log.handlers:
        log.error("%s", message)
    else:
        print(f"glint-backup: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
