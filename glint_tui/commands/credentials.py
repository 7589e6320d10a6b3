"""``glint credentials add|list|delete`` and the original ``credentials-add`` spellings.

A credential is (repository, project, user name or application credential id); its
password or secret goes to the keyring only. Before saving, glint logs in once so a typo
is reported now ("wrong password", "unknown project", …) rather than at the next sync.
"""

from __future__ import annotations

import argparse
from typing import Any

from glint_tui.commands import common
from glint_tui.commands.repository import verify_login
from glint_tui.core.config import ConfigStore, validate_credential
from glint_tui.core.errors import CloudError, UsageError
from glint_tui.core.model import Credential, ProjectRef
from glint_tui.core.secrets import SecretStore

EXIT_OK, EXIT_FAILURE = 0, 1


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "credentials",
        help="add, list or delete the credentials glint logs in with",
        description="Credentials are per repository and project; secrets live in the keyring.",
    )
    sub = group.add_subparsers(dest="credentials_command", metavar="ACTION", required=True)

    p = sub.add_parser("add", help="add (or replace) the credential of REPOSITORY:PROJECT")
    p.add_argument("ref", metavar="REPOSITORY:PROJECT")
    _add_options(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("list", help="list credentials (never their secrets)")
    p.add_argument("repository", nargs="?", help="only this repository")
    common.add_json_flag(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("delete", help="remove a credential and its secret")
    p.add_argument("ref", metavar="REPOSITORY:PROJECT")
    common.add_yes_flag(p)
    p.set_defaults(func=cmd_delete)

    # -- the original Glint syntax ---------------------------------------------------------
    p = subparsers.add_parser("credentials-add", help="original Glint: add a credential")
    p.add_argument("--name", dest="repository", required=True, help="repository name")
    p.add_argument("--tenant", dest="project", required=True, help="project (tenant) name")
    _add_options(p)
    p.set_defaults(func=cmd_add)

    p = subparsers.add_parser("credentials-list", help="original Glint: list credentials")
    p.add_argument("--name", dest="repository", help="only this repository")
    common.add_json_flag(p)
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("credentials-delete", help="original Glint: delete a credential")
    p.add_argument("--name", dest="repository", required=True, help="repository name")
    p.add_argument("--tenant", dest="project", required=True, help="project (tenant) name")
    common.add_yes_flag(p)
    p.set_defaults(func=cmd_delete)


def _add_options(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--username", help="Keystone user name (password asked, never on argv)")
    who.add_argument(
        "--app-credential",
        metavar="ID",
        help="application credential id (its secret is asked, never on argv)",
    )
    p.add_argument("--user-domain", default="Default", help="user's domain (default: Default)")
    p.add_argument(
        "--project-domain", default="Default", help="project's domain (default: Default)"
    )
    common.add_password_stdin_flag(p, "password or application credential secret")
    common.add_no_verify_flag(p)


def _ref(args: argparse.Namespace) -> ProjectRef:
    if getattr(args, "ref", None):
        return common.parse_ref(args.ref)
    if not args.repository or not args.project:
        raise UsageError("both --name (repository) and --tenant (project) are needed")
    return ProjectRef(args.repository, args.project)


def cmd_add(args: argparse.Namespace) -> int:
    ref = _ref(args)
    paths = common.current_paths()
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    repo = store.get_repository(ref.repository)
    app = args.app_credential is not None
    cred = validate_credential(  # before any password is asked or login tried
        Credential(
            repository=repo.name,
            project=ref.project,
            username=args.app_credential if app else args.username,
            auth_type="application_credential" if app else "password",
            user_domain=args.user_domain,
            project_domain=args.project_domain,
        )
    )
    secrets.unlock()  # master password first (if any), before the cloud password
    what = "application credential secret" if app else f"password for {cred.username}"
    secret = common.read_secret(args, f"{what} on {ref}: ")
    verified = ""
    if not args.no_verify:
        try:
            verify_login(repo, cred, secret)
        except CloudError as e:
            raise _not_saved(e) from None
        verified = " (login checked)"
    replaced = store.find_credential(ref) is not None
    secrets.set(cred.secret_key, secret)
    store.add_credential(cred, replace_existing=True)
    print(f"credential for {ref} {'replaced' if replaced else 'added'}{verified}")
    return EXIT_OK


def _not_saved(error: CloudError) -> CloudError:
    """The adapter's precise error, with what happened to the user's input."""
    note = "credential not saved (--no-verify saves it without logging in)"
    try:
        return type(error)(f"{error}; {note}", status=error.status)
    except TypeError:
        return CloudError(f"{error}; {note}", status=error.status)


def cmd_list(args: argparse.Namespace) -> int:
    paths = common.current_paths()
    store = ConfigStore(paths)
    if args.repository:
        store.get_repository(args.repository)  # a typo is an error, not an empty list
    creds = [
        c for c in store.credentials() if not args.repository or c.repository == args.repository
    ]
    if args.json:
        common.print_json([{"ref": str(c.ref), **c.to_dict()} for c in creds])
        return EXIT_OK
    if creds:
        common.print_table(
            (
                "REPOSITORY:PROJECT",
                "USER / APP CREDENTIAL",
                "AUTH",
                "USER DOMAIN",
                "PROJECT DOMAIN",
            ),
            [(str(c.ref), c.username, c.auth_type, c.user_domain, c.project_domain) for c in creds],
        )
    else:
        print("no credentials yet: glint credentials add REPOSITORY:PROJECT --username USER")
    print(f"secrets: {SecretStore(paths).describe()}")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    ref = _ref(args)
    store = ConfigStore(common.current_paths())
    cred = store.get_credential(ref)
    if not common.confirm(args, f"delete the credential for {ref} ({cred.username})?"):
        print("nothing deleted")
        return EXIT_FAILURE
    store.remove_credential(ref)
    print(f"credential for {ref} deleted")
    return EXIT_OK
