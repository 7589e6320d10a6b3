"""Helpers every ``glint`` command shares: the use cases, output, refs, secrets, confirmation.

Commands reach the core through ``services()`` (``core.services``, the same use cases the
UI calls) and never import each other. Secrets are read from a terminal prompt or from
stdin (``--password-stdin``), never from argv: a command line is visible to every user of
the machine in ``ps``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from typing import Any

from glint_tui.core.errors import UsageError
from glint_tui.core.model import ProjectRef
from glint_tui.core.paths import paths_for
from glint_tui.core.safetext import escape, escape_lines
from glint_tui.core.services import Services


def warn(message: str) -> None:
    """A core warning (insecure TLS, a secret left behind), one line on stderr, escaped."""
    print(f"glint: warning: {escape_lines(message)}", file=sys.stderr)


def notice(message: str) -> None:
    """A one-time core notice (which keyring holds the secrets and why), on stderr, escaped."""
    print(f"glint: {escape_lines(message)}", file=sys.stderr)


def services() -> Services:
    """The use cases of the current profile (cli.main has applied --profile/--sandbox)."""
    return Services(paths_for(), warn=warn, notice=notice)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table (pipe-friendly: no colours, no box drawing). Cells are
    escaped: a tab, newline or ESC in a value cannot break the table or the terminal."""
    cells = [[("" if v is None else escape(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    for row in [list(headers), *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def parse_ref(text: str) -> ProjectRef:
    """The one way a command reads ``REPO:PROJECT`` (``ProjectRef.parse``) -> exit 2 if bad."""
    try:
        return ProjectRef.parse(text)
    except ValueError as e:
        raise UsageError(str(e)) from None


def column(use_cases: Services, text: str) -> ProjectRef:
    """A configured column from ``--to``/``--from``/``--project``: ``REPO:PROJECT``, or
    where unambiguous ``REPO``, ``REPO/REGION``, ``REPO:REGION`` (``Services.column``)."""
    try:
        return use_cases.column(text)
    except ValueError as e:
        raise UsageError(str(e)) from None


def add_password_stdin_flag(parser: argparse.ArgumentParser, what: str = "password") -> None:
    parser.add_argument(
        "--password-stdin",
        "--secret-stdin",
        dest="password_stdin",
        action="store_true",
        help=f"read the {what} from the first line of standard input (for scripts)",
    )


def read_secret(args: argparse.Namespace, prompt: str) -> str:
    """The secret from stdin (``--password-stdin``) or a no-echo terminal prompt."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        secret = line[:-1] if line.endswith("\n") else line
        secret = secret[:-1] if secret.endswith("\r") else secret
        if not secret:
            raise UsageError("--password-stdin: standard input was empty")
        return secret
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password on; pipe it in with --password-stdin")
    secret = getpass.getpass(prompt)
    if not secret:
        raise UsageError("empty password; nothing saved")
    return secret


NO_TERMINAL = "cannot ask for confirmation without a terminal; add --yes"


def confirm(args: argparse.Namespace, question: str) -> bool:
    """True with --yes, else ask on the terminal (EOF is "no").

    Without a terminal there is nobody to ask: a UsageError (exit 2) rather than a guess.
    Declining returns False; callers then exit 1 (the user refused, nothing changed).
    """
    if getattr(args, "yes", False):
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(NO_TERMINAL)
    try:
        answer = input(f"{question} [y/N] ").strip().lower()
    except EOFError:
        return False
    return answer in ("y", "yes")


def add_yes_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def add_no_verify_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="save without trying to reach the cloud / log in first",
    )


def info(message: str) -> None:
    """Progress and results meant for a human go to stderr, data to stdout. Text from a
    cloud in *message* is shown escaped."""
    print(escape_lines(message), file=sys.stderr)
