"""``glint sandbox up|down|status|wipe``: real local clouds to try glint on."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
from typing import TextIO

from glint_tui.core import exitcodes
from glint_tui.sandbox.manager import Sandbox
from glint_tui.sandbox.pipinstall import Meter, Step
from glint_tui.sandbox.shapes import add_shape_arguments, shape_from_args


class ProgressPrinter:
    """The sandbox's progress on stderr: lines, and on a terminal the install meter as one
    line redrawn in place (elsewhere, a line per quarter: ``meter`` is then None).

    Each cloud's thread prints its own line, so a whole line (newline included) is one
    write under one lock, shared by every printer: no line is cut by another's."""

    _lock = threading.Lock()

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._open = False  # a meter line is on screen, without its newline

    def line(self, text: str) -> None:
        with self._lock:
            wipe = "\r\x1b[K" if self._open else ""
            self._open = False
            self.stream.write(f"{wipe}{text}\n")
            self.stream.flush()

    def _meter(self, step: Step) -> None:
        width = shutil.get_terminal_size((80, 24)).columns - 1
        with self._lock:
            self.stream.write("\r\x1b[K  " + step.line()[: max(10, width - 2)])
            self.stream.flush()
            self._open = True

    @property
    def meter(self) -> Meter | None:
        return self._meter if self.stream.isatty() else None


def _progress(line: str) -> None:
    ProgressPrinter().line(line)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run real Keystone+Glance clouds on this machine (127.0.0.1) to try glint",
        description="Real local OpenStack clouds in a separate 'sandbox' profile. "
        "Use them with `glint --sandbox …`.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start the clouds (create and seed them the first time)")
    up.add_argument("-n", "--clouds", type=int, default=None, help="how many clouds (default 3)")
    up.add_argument("--port-base", type=int, default=None, help="ports: BASE+10N, BASE+10N+1")
    up.add_argument("--no-seed", action="store_true", help="do not create sample images")
    up.add_argument(
        "--with-ec2",
        action="store_true",
        help="also run an EC2 emulator (moto) as repository 'ec2' (needs moto[server])",
    )
    add_shape_arguments(up)
    up.add_argument("--with-swift", action="store_true",
                    help="also run Swift (Swift + S3 APIs) on c1's Keystone: BASE+12")  # fmt: skip
    up.set_defaults(func=_up)
    actions.add_parser("down", help="stop the clouds (data kept)").set_defaults(func=_down)
    st = actions.add_parser("status", help="which clouds run where")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_status)
    actions.add_parser(
        "wipe", help="stop and delete the clouds and the sandbox profile"
    ).set_defaults(func=_wipe)


def _up(args: argparse.Namespace) -> int:
    sandbox = Sandbox(port_base=args.port_base)
    out = ProgressPrinter()
    sandbox.up(
        args.clouds,
        seed=not args.no_seed,
        progress=out.line,
        shape=shape_from_args(args),
        meter=out.meter,
        with_swift=args.with_swift,
        with_ec2=args.with_ec2,
    )
    _progress("try it:  glint --sandbox      (or: glint --sandbox images)")
    return exitcodes.OK


def _down(args: argparse.Namespace) -> int:
    Sandbox().down(_progress)
    return exitcodes.OK


def _wipe(args: argparse.Namespace) -> int:
    Sandbox().wipe(_progress)
    return exitcodes.OK


def _status(args: argparse.Namespace) -> int:
    sandbox = Sandbox()
    rows = sandbox.status()
    moto = sandbox.moto
    if sandbox.with_ec2 or moto.alive():  # --with-ec2
        running = moto.alive()
        pid = moto.pid() if running else None
        rows.append({"name": "ec2", "moto": {"url": moto.url, "pid": pid, "running": running}})
    if args.json:
        print(json.dumps(rows, indent=2))
        return exitcodes.OK
    if not rows:
        print("no sandbox clouds (start them with: glint sandbox up)")
        return exitcodes.OK
    for r in rows:
        state = lambda s: f"running (pid {s['pid']})" if s["running"] else "stopped"  # noqa: E731
        if "moto" in r:
            print(f"ec2  EC2 emulator (moto) {r['moto']['url']} {state(r['moto'])}")
            continue
        k, g = r["keystone"], r["glance"]
        print(f"{r['name']}  keystone {k['url']} {state(k)}  glance {g['url']} {state(g)}")
        for name, site in r.items():  # the Glances of further regions, and several stores
            if name.startswith("glance") and (name != "glance" or len(site["stores"]) > 1):
                stores = ", ".join(site["stores"])
                print(f"    {name} {site['region']} {site['url']} {state(site)}  stores {stores}")
        if "swift" in r:
            sw = r["swift"]
            print(f"    swift {sw['url']} {'running' if sw['running'] else 'stopped'}")
    return exitcodes.OK
