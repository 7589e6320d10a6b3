"""``glint repository add|list|edit|delete|import`` and the original Glint spellings.

The original Glint commands (``repository-add --name N --url URL --format openstack
--description D``, ``repository-edit``, ``repository-delete``, ``repository-list``) are
top-level aliases that run the same handlers.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from typing import Any

from glint_tui.commands import common
from glint_tui.core.cloudid import same_cloud_warning, same_keystone
from glint_tui.core.clouds import open_session
from glint_tui.core.cloudsyaml import CloudEntry, import_entries, load_clouds, repository_name
from glint_tui.core.config import (
    HOME_REPOSITORY,
    ConfigStore,
    check_repository_name,
    validate_repository,
)
from glint_tui.core.errors import UsageError
from glint_tui.core.model import CLOUD_TYPES, INTERFACES, Credential, Repository
from glint_tui.core.safetext import escape
from glint_tui.core.secrets import SecretStore
from glint_tui.core.sessions import probe_keystone

EXIT_OK, EXIT_FAILURE, EXIT_PARTIAL = 0, 1, 3


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


def _store() -> ConfigStore:
    return ConfigStore(common.current_paths())


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
    store = _store()
    repo = validate_repository(repo)
    if store.has_repository(repo.name):
        raise UsageError(f"repository {repo.name!r} already exists (use `glint repository edit`)")
    found = "" if args.no_verify else f" (Keystone {escape(probe_keystone(repo))} answers)"
    store.add_repository(repo)
    print(f"repository {repo.name} added{found}")
    _warn_same_cloud(repo, store)
    print(f"next: glint credentials add {repo.name}:PROJECT --username USER")
    return EXIT_OK


def _warn_same_cloud(repo: Repository, store: ConfigStore) -> None:
    """Tell the operator when *repo* is a cloud glint already knows under another name."""
    twins = same_keystone(repo, store.repositories())
    if twins:
        print(f"glint: warning: {same_cloud_warning(repo, twins)}", file=sys.stderr)


def cmd_set_home(args: argparse.Namespace) -> int:
    store = _store()
    if args.clear:
        store.set_setting(HOME_REPOSITORY, None)
        print("no home repository: copies take their source from any verified copy")
        return EXIT_OK
    store.get_repository(args.name)  # a clear error for an unknown name
    store.set_setting(HOME_REPOSITORY, args.name)
    print(f"home repository: {args.name} (preferred source of copies)")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    store = _store()
    repos = store.repositories()
    home = store.home_repository()
    counts: dict[str, int] = {}
    for cred in store.credentials():
        counts[cred.repository] = counts.get(cred.repository, 0) + 1
    if args.json:
        common.print_json(
            [
                {**r.to_dict(), "credentials": counts.get(r.name, 0), "home": r.name == home}
                for r in repos
            ]
        )
        return EXIT_OK
    if not repos:
        print("no repositories yet: glint repository add NAME AUTH_URL (or repository import)")
        return EXIT_OK
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
    return EXIT_OK


def cmd_edit(args: argparse.Namespace) -> int:
    store = _store()
    old = store.get_repository(args.name)
    changes: dict[str, Any] = {}
    for key, value in (
        ("name", args.new_name),
        ("auth_url", args.auth_url),
        ("cloud_type", args.cloud_type),
        ("description", args.description),
        ("region", args.region),
        ("interface", args.interface),
        ("ca_bundle", args.ca_bundle),
        ("insecure", args.insecure),
    ):
        if value is not None and getattr(old, key) != value:
            changes[key] = value
    if not changes:
        print(f"repository {old.name}: nothing to change")
        return EXIT_OK
    reachability = {"auth_url", "ca_bundle", "insecure"}
    if not args.no_verify and reachability & set(changes):
        probe_keystone(validate_repository(replace(old, **changes)))
    new = store.update_repository(old.name, **changes)
    what = ", ".join(sorted(changes))
    print(f"repository {new.name} updated ({what})")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store()
    repo = store.get_repository(args.name)
    creds = [c for c in store.credentials() if c.repository == repo.name]
    question = f"delete repository {repo.name} and its {len(creds)} credential(s)?"
    if not common.confirm(args, question):
        print("nothing deleted")
        return EXIT_FAILURE
    store.remove_repository(repo.name)
    print(f"repository {repo.name} deleted with {len(creds)} credential(s)")
    return EXIT_OK


def verify_login(repo: Repository, cred: Credential, secret: str) -> None:
    """Log in once; the adapter raises the precise CloudError (wrong password, …)."""
    session = open_session(repo, cred, secret)
    try:
        session.check()
    finally:
        session.close()


def _ask_secret(entry: CloudEntry) -> str | None:
    if not sys.stdin or not sys.stdin.isatty():
        return None
    cred = entry.credential
    assert cred is not None
    return getpass.getpass(f"secret for {cred.username} on {entry.cloud} (clouds.yaml has none): ")


def cmd_import(args: argparse.Namespace) -> int:
    path, entries = load_clouds(args.file)
    if args.cloud:
        names = {e.cloud for e in entries}
        missing = [c for c in args.cloud if c not in names]
        if missing:
            raise UsageError(f"{path}: no cloud named {missing[0]!r} (has: {', '.join(names)})")
        entries = [e for e in entries if e.cloud in args.cloud]
    if args.name:
        if len(entries) != 1:
            raise UsageError("--name needs exactly one --cloud")
        _rename(entries[0], args.name)
    if not entries:
        raise UsageError(f"{path}: no clouds to import")
    paths = common.current_paths()
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    secrets.unlock()
    verify = None if args.no_verify else verify_login
    before = {r.name for r in store.repositories()}
    results = import_entries(entries, store, secrets, verify=verify, ask_secret=_ask_secret)
    for repo in store.repositories():
        if repo.name not in before:
            _warn_same_cloud(repo, store)
    if args.json:
        common.print_json([r.__dict__ for r in results])
    else:
        print(f"from {path}:")
        common.print_table(
            ("CLOUD", "AS", "RESULT", "DETAIL"),
            [(r.cloud, r.ref or "-", r.status, r.message) for r in results],
        )
    failed = sum(r.status == "failed" for r in results)
    if not failed:
        return EXIT_OK
    return EXIT_PARTIAL if failed < len(results) else EXIT_FAILURE


def _rename(entry: CloudEntry, name: str) -> None:
    try:
        check_repository_name(name)
    except ValueError as e:
        raise UsageError(f"--name: {e}") from None
    if entry.repository is not None:
        entry.repository = replace(entry.repository, name=name)
    if entry.credential is not None:
        project = entry.credential.project
        if entry.credential.auth_type == "application_credential" and project == repository_name(
            entry.cloud
        ):
            project = name
        entry.credential = replace(entry.credential, repository=name, project=project)
