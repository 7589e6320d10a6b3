"""The ``glint`` command: no subcommand opens the UI; subcommands script the same core.

Each command group lives in ``glint_tui.commands.<group>`` and registers itself with
``register(subparsers)``; a handler returns the process exit code. Every glint error is
reported as one line (``glint: …``) with its documented exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import import_module

from glint_tui import __version__
from glint_tui.core import exitcodes
from glint_tui.core.errors import GlintError
from glint_tui.core.notices import LOGGER, NOTICE_FLAG

# command modules, in help order
COMMAND_MODULES = (
    "glint_tui.commands.images",
    "glint_tui.commands.transfer",
    "glint_tui.commands.repository",
    "glint_tui.commands.credentials",
    "glint_tui.commands.sandbox",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every usage error
        self.print_usage(sys.stderr)
        self.exit(exitcodes.USAGE, f"glint: error: {message}\n")


class _CoreMessages(logging.Handler):
    """Core warnings no callback took (``core.notices``): one stderr line each, worded
    like the commands' own. Looks ``sys.stderr`` up per record, so the UI captures it."""

    def emit(self, record: logging.LogRecord) -> None:
        kind = "" if getattr(record, NOTICE_FLAG, False) else "warning: "
        print(f"glint: {kind}{record.getMessage()}", file=sys.stderr)


def _show_core_messages() -> None:
    if not any(isinstance(h, _CoreMessages) for h in LOGGER.handlers):
        LOGGER.addHandler(_CoreMessages())
        LOGGER.propagate = False


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="glint",
        description="Keep the same VM images on many OpenStack clouds. "
        "Without a command, opens the terminal UI.",
        epilog=exitcodes.summary() + " (README: Exit codes)",
    )
    parser.add_argument("--version", action="version", version=f"glint {__version__}")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the sandbox profile (start the local sandbox clouds if needed)",
    )
    parser.add_argument("--profile", help="use another set of glint files (default: yours)")
    parser.add_argument("--read-only", action="store_true", help="UI: hide every mutating action")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_core_messages()
    if args.sandbox:
        os.environ["GLINT_PROFILE"] = "sandbox"
    elif args.profile:
        os.environ["GLINT_PROFILE"] = args.profile
    try:
        if args.command is None:
            return _open_ui(args)
        return int(args.func(args) or 0)
    except GlintError as e:
        print(f"glint: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("glint: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except BrokenPipeError:
        return exitcodes.OK


def _open_ui(args: argparse.Namespace) -> int:
    if args.sandbox:
        from glint_tui.sandbox.manager import ensure_sandbox_running

        ensure_sandbox_running(progress=lambda s: print(s, file=sys.stderr))
    from glint_tui.ui.app import run

    return run(read_only=args.read_only)
