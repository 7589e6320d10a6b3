"""``glint serve``: the same terminal UI in a web browser, through textual-serve.

Each browser tab gets its own ``glint`` UI process (textual-serve starts one per
connection) on the profile ``glint serve`` runs with. textual-serve has no login of its
own: whoever reaches the page works as the operator who started it. So it listens on
127.0.0.1 unless ``--host`` says otherwise (and then glint warns), the UI is read-only
unless ``--allow-changes``, and the way in from another machine is an SSH tunnel.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import socket
import sys
from typing import Any

from glint_tui.commands.common import warn
from glint_tui.core import exitcodes
from glint_tui.core.errors import GlintError, UsageError
from glint_tui.core.paths import paths_for

DEFAULT_PORT = 8765
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ServeError(GlintError):
    exit_code = exitcodes.FAILURE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the terminal UI in a web browser (127.0.0.1 only; read-only by default)",
        description="The matrix in a web browser (textual-serve): one glint UI per browser "
        "tab, on this profile. It has no authentication of its own, so it listens on "
        "127.0.0.1 only; reach it from another machine through an SSH tunnel.",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); any other lets whoever reaches it "
        "use glint as you",
    )
    p.add_argument(
        "--allow-changes",
        action="store_true",
        help="let the browser copy and delete images (default: read-only)",
    )
    p.set_defaults(func=cmd_serve)


def ui_command(allow_changes: bool) -> str:
    """The shell command textual-serve runs per browser tab (the profile comes through the
    environment: GLINT_PROFILE / GLINT_HOME, as ``glint`` set them)."""
    args = [sys.executable, "-m", "glint_tui"]
    if not allow_changes:
        args.append("--read-only")
    return shlex.join(args)


def announce(host: str, port: int, allow_changes: bool, profile: str) -> list[str]:
    """What ``glint serve`` says when it starts: where, what the browser may do, and how
    to get there safely from another machine."""
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    mode = (
        "changes allowed: the browser can copy and delete"
        if allow_changes
        else "read-only (--allow-changes lets the browser copy and delete)"
    )
    lines = [f"glint: serving the UI of profile {profile} at {url}, {mode}"]
    if host in LOOPBACK:
        where = f"{getpass.getuser()}@{socket.gethostname()}"
        lines.append(
            f"glint: from another machine: ssh -L {port}:127.0.0.1:{port} {where}, "
            f"then open http://127.0.0.1:{port}"
        )
    lines.append("glint: Ctrl-C stops it")
    return lines


def cmd_serve(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number (1-65535)")
    if args.host not in LOOPBACK:
        warn(
            f"listening on {args.host}:{args.port}: glint serve has no authentication of its "
            "own, so anyone who can reach that address uses glint as you; prefer the default "
            "(127.0.0.1) and an SSH tunnel"
        )
    from glint_tui.ui.keymap import load_keymap

    load_keymap(paths_for().keymap_file)  # a bad one is one line here, not a dead browser tab
    check_can_listen(args.host, args.port)  # before saying "serving", not after
    if args.sandbox:
        from glint_tui.commands.sandbox import ProgressPrinter
        from glint_tui.sandbox.manager import ensure_sandbox_running

        out = ProgressPrinter()
        ensure_sandbox_running(progress=out.line, meter=out.meter)
    server = _server(args.host, args.port, ui_command(args.allow_changes))
    for line in announce(args.host, args.port, args.allow_changes, paths_for().profile):
        print(line, file=sys.stderr, flush=True)
    try:
        server.serve()
    except OSError as e:  # taken between the check and now
        raise _cannot_listen(args.host, args.port, e) from None
    return exitcodes.OK


def check_can_listen(host: str, port: int) -> None:
    """Bind (and let go of) every address ``host`` names on ``port``, the way aiohttp will
    (SO_REUSEADDR), so a taken port or a foreign address is one error line before glint
    announces anything."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        for family, _type, _proto, _name, addr in infos:
            socket.create_server(addr[:2], family=family).close()
    except OSError as e:
        raise _cannot_listen(host, port, e) from None


def _cannot_listen(host: str, port: int, e: OSError) -> ServeError:
    why = (os.strerror(e.errno) if e.errno else str(e)).lower()
    return ServeError(f"cannot listen on {host}:{port}: {why}")


def _server(host: str, port: int, command: str) -> Any:
    """textual-serve's Server, quiet: glint says where it listens, and errors still show."""
    import logging

    from textual_serve.server import Server

    class QuietServer(Server):
        def initialize_logging(self) -> None:
            logging.getLogger("textual-serve").setLevel(logging.WARNING)

        async def on_startup(self, app: Any) -> None:
            pass

    return QuietServer(command, host=host, port=port, title="Glint")
