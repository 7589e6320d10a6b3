"""``copy``, ``diff`` and ``stats``: the glint-backup commands that read or copy a whole
repository (the command line itself is cli.py)."""

from __future__ import annotations

import argparse

from glint_backup.cli_output import emit as _emit
from glint_backup.cli_output import open_for
from glint_backup.cli_output import size as _size
from glint_backup.errors import EXIT_OK, EXIT_PARTIAL


def cmd_copy(args: argparse.Namespace, config) -> int:
    from glint_backup.copy import copy
    from glint_backup.repository import with_target

    dest = with_target(config, args.to)
    with open_for(config, lock=True) as src, open_for(dest, lock=True, create=True) as dst:
        report = copy(src, dst)
    human = (
        f"copied {len(report.snapshots)} snapshot(s) and {report.objects} object(s) "
        f"({_size(report.bytes)}) to {dst.url}; {report.skipped} already there"
        + "".join(f"\n  not copied: {f['snapshot']}: {f['error']}" for f in report.failed)
    )
    _emit(args, report.to_dict(), human)
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_diff(args: argparse.Namespace, config) -> int:
    from glint_backup import snapshots
    from glint_backup.report import diff

    with open_for(config) as store:
        old = snapshots.load(store, snapshots.resolve(store, args.snapshot1))
        new = snapshots.load(store, snapshots.resolve(store, args.snapshot2))
    d = diff(old, new)
    lines = [f"{d['from']} -> {d['to']}"]
    lines += [f"  + {e['id']}  {e['name']}" for e in d["added"]]
    lines += [f"  - {e['id']}  {e['name']}" for e in d["removed"]]
    lines += [f"  ~ {e['id']}  {e['name']}: {', '.join(e['fields'])}" for e in d["changed"]]
    _emit(args, d, "\n".join(lines) if len(lines) > 1 else lines[0] + ": no difference")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, config) -> int:
    from glint_backup.report import stats

    with open_for(config) as store:
        st = stats(store)
    ratio = f"{st['compression_ratio']:.2f}x" if st["compression_ratio"] else "-"
    human = (
        f"{st['repository']}: {st['snapshots']} snapshot(s), latest {st['latest'] or '-'} "
        f"with {st['images']} image(s); {st['objects']} object(s), "
        f"{_size(st['original_bytes'])} of images in {_size(st['stored_bytes'])} "
        f"(ratio {ratio}){', encrypted' if st['encrypted'] else ''}"
    )
    _emit(args, st, human)
    return EXIT_OK
