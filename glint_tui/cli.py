"""The ``glint`` command: no subcommand opens the UI; subcommands script the same core.

Each command group lives in ``glint_tui.commands.<group>`` and registers itself with
``register(subparsers)``; a handler returns the process exit code. Every glint error is
reported as one line (``glint: …``, text from a cloud escaped) with its documented exit
code, never a traceback.

Signals: SIGTERM is SIGINT (``kill``, systemd, a container stop): a command in flight is
interrupted the same way — transfers aborted, half-made images deleted, exit 130. The UI
handles SIGTERM itself (``GlintApp(handle_signals=True)``). ``run`` (the console entry)
then ends the process without waiting for threads still stuck in a call to a cloud that
never answered: every result has been printed by then.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from importlib import import_module
from typing import NoReturn

from glint_tui import __version__
from glint_tui.core import exitcodes
from glint_tui.core.errors import GlintError
from glint_tui.core.notices import LOGGER, NOTICE_FLAG
from glint_tui.core.safetext import escape_lines

# command modules, in help order
COMMAND_MODULES = (
    "glint_tui.commands.images",
    "glint_tui.commands.transfer",
    "glint_tui.commands.catalog",
    "glint_tui.commands.reconcile",
    "glint_tui.commands.repository",
    "glint_tui.commands.credentials",
    "glint_tui.commands.sandbox",
    "glint_tui.commands.serve",
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
        print(f"glint: {kind}{escape_lines(record.getMessage())}", file=sys.stderr)


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
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        help="UI: show what this catalog file wants in each cell; C reviews and runs it",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_sigint() -> Iterator[None]:
    """While a command runs, SIGTERM lands where Ctrl-C would: as KeyboardInterrupt in
    the main thread, so one cleanup path serves both."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run glint; the exit code. A reader that goes away (``glint images | head -1``)
    ends glint quietly: no traceback, no "Exception ignored" from Python at exit."""
    code = exitcodes.OK
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows up here, not in Python's shutdown
    except BrokenPipeError:
        _detach_stdout()
    except SystemExit:  # argparse: --help, --version, usage errors
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _detach_stdout()
        raise
    return code


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the output still buffered is dropped, not re-raised."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capturing it)
        pass
    finally:
        os.close(devnull)


def _main(argv: list[str] | None) -> int:
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
        with _sigterm_as_sigint():
            return int(args.func(args) or 0)
    except GlintError as e:  # one line per line glint meant; foreign text shown escaped
        print(f"glint: {escape_lines(e)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("glint: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED


def _open_ui(args: argparse.Namespace) -> int:
    if args.sandbox:
        from glint_tui.commands.sandbox import ProgressPrinter
        from glint_tui.sandbox.manager import ensure_sandbox_running

        out = ProgressPrinter()
        ensure_sandbox_running(progress=out.line, meter=out.meter)
    if args.catalog is not None:  # a bad file: its one-line errors, exit 2, before the UI
        from glint_tui.core.catalog.loader import load_catalog

        load_catalog(args.catalog)
    from glint_tui.ui.app import run

    return run(read_only=args.read_only, handle_signals=True, catalog=args.catalog)


def _stuck_threads() -> list[threading.Thread]:
    """Non-daemon threads still running: a call to a cloud that never answered (bounded
    by the call timeouts, but the answer is no longer wanted)."""
    me = threading.current_thread()
    return [t for t in threading.enumerate() if t is not me and not t.daemon and t.is_alive()]


def run(argv: list[str] | None = None) -> NoReturn:
    """The console entry point: ``main``, then exit without waiting for stuck threads."""
    code = main(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    if _stuck_threads():
        os._exit(code)
    sys.exit(code)
