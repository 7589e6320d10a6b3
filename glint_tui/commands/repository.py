"""``glint repository add|list|edit|delete|import`` and the original Glint spellings.

The original Glint commands (``repository-add --name N --url URL --format openstack
--description D``, ``repository-edit``, ``repository-delete``, ``repository-list``) are
top-level aliases that run the same handlers.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from glint_tui.commands import common
from glint_tui.core import exitcodes
from glint_tui.core.cloudsyaml import CloudEntry
from glint_tui.core.model import CLOUD_TYPES, INTERFACES, Repository
from glint_tui.core.safetext import escape


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "repository",
        help="add, list, edit, delete or import repositories (clouds)",
        description="Repositories are the clouds glint manages images on.",
    )
    sub = group.add_subparsers(dest="repository_command", metavar="ACTION", required=True)

    p = sub.add_parser("add", help="register a cloud by its Keystone v3 URL")
    p.add_argument("name", help="short unique name (letters, digits, '_', '.', '-')")
    p.add_argument("auth_url", metavar="AUTH_URL", help="Keystone URL, e.g. https://k:5000/v3")
    p.add_argument("--type", dest="cloud_type", default="openstack", choices=CLOUD_TYPES)
    _repo_options(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("list", help="list repositories")
    common.add_json_flag(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("edit", help="change a repository (rename keeps its credentials)")
    p.add_argument("name")
    p.add_argument("--rename", dest="new_name", metavar="NEW_NAME")
    p.add_argument("--url", dest="auth_url", metavar="AUTH_URL")
    p.add_argument("--type", dest="cloud_type", choices=CLOUD_TYPES)
    _repo_options(p, edit=True)
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("delete", help="remove a repository, its credentials and secrets")
    p.add_argument("name")
    common.add_yes_flag(p)
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("import", help="import clouds from clouds.yaml (openstacksdk's path)")
    p.add_argument("--file", help="clouds.yaml to read (default: openstacksdk's search path)")
    p.add_argument("--cloud", action="append", help="only this cloud entry (repeatable)")
    p.add_argument("--name", help="repository name to use (with a single --cloud)")
    common.add_no_verify_flag(p)
    common.add_json_flag(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "set-home",
        help="prefer this repository as the source of copies (the original 'local' cloud)",
    )
    home = p.add_mutually_exclusive_group(required=True)
    home.add_argument("name", nargs="?")
    home.add_argument("--clear", action="store_true", help="no preferred source")
    p.set_defaults(func=cmd_set_home)

    # -- the original Glint syntax ---------------------------------------------------------
    p = subparsers.add_parser("repository-add", help="original Glint: add a repository")
    p.add_argument("--name", required=True)
    p.add_argument("--url", dest="auth_url", required=True, metavar="AUTH_URL")
    p.add_argument("--format", dest="cloud_type", default="openstack", choices=CLOUD_TYPES)
    _repo_options(p)
    p.set_defaults(func=cmd_add)

    p = subparsers.add_parser("repository-edit", help="original Glint: edit a repository")
    p.add_argument("--name", required=True)
    p.add_argument("--new-name", dest="new_name")
    p.add_argument("--url", dest="auth_url", metavar="AUTH_URL")
    p.add_argument("--format", dest="cloud_type", choices=CLOUD_TYPES)
    _repo_options(p, edit=True)
    p.set_defaults(func=cmd_edit)

    p = subparsers.add_parser("repository-delete", help="original Glint: delete a repository")
    p.add_argument("--name", required=True)
    common.add_yes_flag(p)
    p.set_defaults(func=cmd_delete)

    p = subparsers.add_parser("repository-list", help="original Glint: list repositories")
    common.add_json_flag(p)
    p.set_defaults(func=cmd_list)


def _repo_options(p: argparse.ArgumentParser, edit: bool = False) -> None:
    p.add_argument("--description", default=None if edit else "")
    p.add_argument("--region", default=None, help="region of the image endpoint")
    p.add_argument("--interface", choices=INTERFACES, default=None if edit else "public")
    p.add_argument("--ca-bundle", default=None, help="PEM file of CAs to trust for this cloud")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="do NOT verify TLS certificates (warned about; avoid)",
    )
    if edit:
        tls.add_argument("--secure", dest="insecure", action="store_false", help="verify TLS again")
    common.add_no_verify_flag(p)


def cmd_add(args: argparse.Namespace) -> int:
    repo = Repository(
        name=args.name,
        auth_url=args.auth_url,
        cloud_type=args.cloud_type,
        description=args.description or "",
        region=args.region,
        interface=args.interface or "public",
        ca_bundle=args.ca_bundle,
        insecure=bool(args.insecure),
    )
    version = common.services().add_repository(repo, verify=not args.no_verify)
    found = f" (Keystone {escape(version)} answers)" if version else ""
    print(f"repository {repo.name} added{found}")
    print(f"next: glint credentials add {repo.name}:PROJECT --username USER")
    return exitcodes.OK


def cmd_set_home(args: argparse.Namespace) -> int:
    common.services().set_home(None if args.clear else args.name)
    if args.clear:
        print("no home repository: copies take their source from any verified copy")
    else:
        print(f"home repository: {args.name} (preferred source of copies)")
    return exitcodes.OK


def cmd_list(args: argparse.Namespace) -> int:
    services = common.services()
    repos = services.repositories()
    home = services.home_repository()
    counts: dict[str, int] = {}
    for cred in services.credentials():
        counts[cred.repository] = counts.get(cred.repository, 0) + 1
    if args.json:
        common.print_json(
            [
                {**r.to_dict(), "credentials": counts.get(r.name, 0), "home": r.name == home}
                for r in repos
            ]
        )
        return exitcodes.OK
    if not repos:
        print("no repositories yet: glint repository add NAME AUTH_URL (or repository import)")
        return exitcodes.OK
    rows = [
        (
            r.name + (" (home)" if r.name == home else ""),
            r.cloud_type,
            r.auth_url,
            r.region or "-",
            r.interface + (" INSECURE" if r.insecure else ""),
            counts.get(r.name, 0),
            r.description,
        )
        for r in repos
    ]
    headers = ("NAME", "TYPE", "AUTH URL", "REGION", "INTERFACE", "CREDS", "DESCRIPTION")
    common.print_table(headers, rows)
    return exitcodes.OK


def cmd_edit(args: argparse.Namespace) -> int:
    changes = {
        "name": args.new_name,
        "auth_url": args.auth_url,
        "cloud_type": args.cloud_type,
        "description": args.description,
        "region": args.region,
        "interface": args.interface,
        "ca_bundle": args.ca_bundle,
        "insecure": args.insecure,
    }
    repo, changed = common.services().edit_repository(args.name, changes, verify=not args.no_verify)
    if not changed:
        print(f"repository {repo.name}: nothing to change")
    else:
        print(f"repository {repo.name} updated ({', '.join(changed)})")
    return exitcodes.OK


def cmd_delete(args: argparse.Namespace) -> int:
    services = common.services()
    repo = services.repository(args.name)
    count = len(services.credentials(repo.name))
    question = f"delete repository {repo.name} and its {count} credential(s)?"
    if not common.confirm(args, question):
        print("nothing deleted")
        return exitcodes.FAILURE
    repo, count = services.delete_repository(repo.name)
    print(f"repository {repo.name} deleted with {count} credential(s)")
    return exitcodes.OK


def _ask_secret(entry: CloudEntry) -> str | None:
    if not sys.stdin or not sys.stdin.isatty():
        return None
    cred = entry.credential
    assert cred is not None
    return getpass.getpass(f"secret for {cred.username} on {entry.cloud} (clouds.yaml has none): ")


def cmd_import(args: argparse.Namespace) -> int:
    path, results = common.services().import_clouds(
        args.file,
        clouds=args.cloud,
        rename=args.name,
        verify=not args.no_verify,
        ask_secret=_ask_secret,
    )
    if args.json:
        common.print_json([r.__dict__ for r in results])
    else:
        print(f"from {path}:")
        common.print_table(
            ("CLOUD", "AS", "RESULT", "DETAIL"),
            [(r.cloud, r.ref or "-", r.status, r.message) for r in results],
        )
    return exitcodes.partial(sum(r.status == "failed" for r in results), len(results))
