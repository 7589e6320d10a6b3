"""Time the README's first command, from nothing to a usable matrix, without a compiler.

Runs exactly the README's first command (``python3 -m venv .venv && .venv/bin/pip install
-q . && .venv/bin/glint --sandbox``) in a tmux pane, in a fresh copy of this checkout,
with a PATH that has no C compiler (no gcc, cc, c++, clang, ld, as), a fresh data
directory (so no sandbox server venv exists), a fresh GLINT_HOME, and pip's cache off
(as on a new machine). It polls the pane until the matrix shows a sample image name and
the status line says nothing is refreshing, and prints the time and the phases seen.
Then it quits glint, stops the sandbox by its PIDs and deletes everything it made.

Run: ``.venv/bin/python bench/first_run.py [--port-base 27400]`` (needs tmux; about 2 min).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPILERS = ("gcc", "cc", "c++", "g++", "cpp", "clang", "tcc", "ld", "as", "c89", "c99")


def readme_first_command() -> str:
    lines = (ROOT / "README.md").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("# 1. try glint"))
    return lines[at + 1].strip()


def path_without_compilers(folder: Path) -> str:
    """A PATH of symlinks to every program on the current PATH except compilers."""
    folder.mkdir()
    for entry in os.environ["PATH"].split(os.pathsep):
        directory = Path(entry)
        if not directory.is_dir():
            continue
        for program in directory.iterdir():
            name = program.name
            if name in COMPILERS or name.startswith(("x86_64-linux-gnu-", "gcc-", "clang-")):
                continue
            link = folder / name
            if not link.exists() and os.access(program, os.X_OK) and program.is_file():
                link.symlink_to(program.resolve())
    return str(folder)


def pane(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-base", type=int, default=27400)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glint-first-run-"))
    session = f"glint-first-run-{os.getpid()}"
    checkout = work / "glint"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(checkout)], check=True)
    path = path_without_compilers(work / "bin")
    assert shutil.which("gcc", path=path) is None and shutil.which("cc", path=path) is None
    env = {
        "PATH": path,
        "HOME": os.environ.get("HOME", "/root"),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(work / "data"),
        "GLINT_HOME": str(work / "glint-home"),
        "GLINT_SANDBOX_PORT_BASE": str(args.port_base),
        "PIP_NO_CACHE_DIR": "1",
    }
    command = readme_first_command()
    print(f"command: {command}\nPATH without compilers; fresh data dir, GLINT_HOME, no pip cache")
    exports = " ".join(f"{k}={v!s}" for k, v in env.items())
    shell = f"cd {checkout} && env -i {exports} bash -c '{command}'"
    started = time.monotonic()
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", shell], check=True
    )
    seen: dict[str, float] = {}
    phases = {
        "glint installed, sandbox servers installing": "installing Keystone",
        "servers installed": "sandbox servers installed",
        "clouds started": "starting 3 sandbox",
        "sandbox up": "sandbox up in",
    }
    try:
        while time.monotonic() - started < args.timeout:
            text = pane(session)
            now = time.monotonic() - started
            for phase, marker in phases.items():
                if marker in text and phase not in seen:
                    seen[phase] = now
            if "cirros-0.6" in text and "refreshing" not in text and "image  (" in text:
                seen["matrix usable"] = now
                break
            time.sleep(0.5)
        else:
            print(pane(session))
            print("timed out", file=sys.stderr)
            return 1
        for phase, at in seen.items():
            print(f"  {at:6.1f} s  {phase}")
        print(f"first run to a usable matrix: {seen['matrix usable']:.0f} s")
        print(pane(session))
        return 0
    finally:
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
        time.sleep(1)
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
        glint = checkout / ".venv" / "bin" / "glint"
        if glint.exists():
            subprocess.run([str(glint), "sandbox", "down"], env={**os.environ, **env}, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
