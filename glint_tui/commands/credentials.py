"""``glint credentials add|list|delete`` and the original ``credentials-add`` spellings.

A credential is (repository, project, user name or application credential id); its
password or secret goes to the keyring only. Before saving, glint logs in once so a typo
is reported now ("wrong password", "unknown project", …) rather than at the next sync.
"""

from __future__ import annotations

import argparse
from typing import Any

from glint_tui.commands import common
from glint_tui.core import exitcodes
from glint_tui.core.errors import CloudError, UsageError
from glint_tui.core.model import AUTH_TYPES_BY_CLOUD, SECRETLESS_AUTH_TYPES, Credential, ProjectRef


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "credentials",
        help="add, list or delete the credentials glint logs in with",
        description="Credentials are per repository and project; secrets live in the keyring.",
    )
    sub = group.add_subparsers(dest="credentials_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "add",
        help="add (or replace) the credential of REPOSITORY:PROJECT",
        description="OpenStack: REPOSITORY:PROJECT --username U (or --app-credential ID). "
        "EC2: REPOSITORY (the login names the account; REPOSITORY:ACCOUNT to say it) with "
        "--access-key-id ID (secret asked or --secret-stdin), --profile P or "
        "--from-environment (boto3's own search; nothing secret stored).",
    )
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
    who = p.add_mutually_exclusive_group(required=True)  # one way to say who logs in
    who.add_argument("--username", help="Keystone user name (password asked, never on argv)")
    who.add_argument(
        "--app-credential",
        metavar="ID",
        help="application credential id (its secret is asked, never on argv)",
    )
    who.add_argument(
        "--access-key-id", metavar="ID", help="ec2: access key id (its secret is asked)"
    )
    who.add_argument(  # dest: glint's own global --profile names glint's files
        "--profile",
        "--aws-profile",
        dest="aws_profile",
        metavar="P",
        help="ec2: a profile of ~/.aws/config (nothing stored)",
    )
    who.add_argument(
        "--from-environment",
        action="store_true",
        help="ec2: boto3's own search (AWS_ACCESS_KEY_ID …, instance role); nothing stored",
    )
    p.add_argument("--user-domain", default="Default", help="user's domain (default: Default)")
    p.add_argument(
        "--project-domain", default="Default", help="project's domain (default: Default)"
    )
    common.add_password_stdin_flag(p, "password or application credential secret")
    common.add_no_verify_flag(p)


def _ref(args: argparse.Namespace, ec2_names: frozenset[str] = frozenset()) -> ProjectRef:
    """REPOSITORY:PROJECT, or just an ec2 REPOSITORY (in *ec2_names*): the login names the
    account."""
    if getattr(args, "ref", None):
        if args.ref in ec2_names:
            return ProjectRef(args.ref, "")
        return common.parse_ref(args.ref)
    if not args.repository or not args.project:
        raise UsageError("both --name (repository) and --tenant (project) are needed")
    return ProjectRef(args.repository, args.project)


EC2_OPTIONS = ("access_key_id", "aws_profile", "from_environment")


def _who(args: argparse.Namespace, cloud_type: str) -> tuple[str, str]:
    """(auth type, username) from the options, refusing those of the other cloud type."""
    ec2 = cloud_type == "ec2"
    given_ec2 = any(getattr(args, o, None) for o in EC2_OPTIONS)
    if ec2 and not given_ec2:
        raise UsageError(
            "an ec2 repository logs in with --access-key-id ID, --profile P or "
            "--from-environment (not --username / --app-credential)"
        )
    if not ec2 and given_ec2:
        raise UsageError("--access-key-id, --profile and --from-environment are for ec2")
    if args.access_key_id:
        return "access_key", args.access_key_id
    if args.aws_profile:
        return "profile", args.aws_profile
    if args.from_environment:
        return "environment", "environment"
    if args.app_credential is not None:
        return "application_credential", args.app_credential
    return "password", args.username


def cmd_add(args: argparse.Namespace) -> int:
    services = common.services()
    ec2 = frozenset(r.name for r in services.repositories() if r.cloud_type == "ec2")
    ref = _ref(args, ec2)
    repo = services.repository(ref.repository)
    auth_type, username = _who(args, repo.cloud_type)
    cred = services.check_credential(  # before any password is asked or login tried
        Credential(
            repository=repo.name,
            project=ref.project,
            username=username,
            auth_type=auth_type,
            user_domain=args.user_domain,
            project_domain=args.project_domain,
        )
    )
    secret = ""
    if auth_type not in SECRETLESS_AUTH_TYPES:
        services.unlock_secrets()  # master password first (if any), before the cloud secret
        what = {
            "application_credential": "application credential secret",
            "access_key": f"secret access key of {username}",
        }.get(auth_type, f"password for {username}")
        place = str(ref) if ref.project else ref.repository
        secret = common.read_secret(args, f"{what} on {place}: ")
    try:
        saved = services.save_credential(cred, secret, verify=not args.no_verify)
    except CloudError as e:
        raise _not_saved(e) from None
    verb = "replaced" if saved.replaced else "added"
    checked = " (login checked)" if saved.verified else ""
    print(f"credential for {saved.credential.ref} {verb}{checked}")
    if repo.regions:
        columns = ", ".join(map(str, repo.columns(saved.credential.project)))
        print(f"columns: {columns}")
    return exitcodes.OK


def _not_saved(error: CloudError) -> CloudError:
    """The adapter's precise error, with what happened to the user's input."""
    note = "credential not saved (--no-verify saves it without logging in)"
    try:
        return type(error)(f"{error}; {note}", status=error.status)
    except TypeError:
        return CloudError(f"{error}; {note}", status=error.status)


def cmd_list(args: argparse.Namespace) -> int:
    services = common.services()
    creds = services.credentials(args.repository or None)  # a typo is an error, not ""
    if args.json:
        common.print_json([{"ref": str(c.ref), **c.to_dict()} for c in creds])
        return exitcodes.OK
    if creds:
        common.print_table(
            (
                "REPOSITORY:PROJECT",
                "USER / APP CREDENTIAL",
                "AUTH",
                "USER DOMAIN",
                "PROJECT DOMAIN",
            ),
            [(str(c.ref), c.username, c.auth_type, *_domains(c)) for c in creds],
        )
    else:
        print("no credentials yet: glint credentials add REPOSITORY:PROJECT --username USER")
    print(f"secrets: {services.describe_secrets()}")
    return exitcodes.OK


def _domains(cred: Credential) -> tuple[str, str]:
    """Keystone domains of an OpenStack credential; an EC2 one has none (``-``)."""
    if cred.auth_type in AUTH_TYPES_BY_CLOUD["ec2"]:
        return ("-", "-")
    return (cred.user_domain, cred.project_domain)


def cmd_delete(args: argparse.Namespace) -> int:
    ref = _ref(args)
    services = common.services()
    cred = services.credential(ref)
    if not common.confirm(args, f"delete the credential for {ref} ({cred.username})?"):
        print("nothing deleted")
        return exitcodes.FAILURE
    services.delete_credential(ref)
    print(f"credential for {ref} deleted")
    return exitcodes.OK
