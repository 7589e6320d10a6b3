"""The exit codes of ``glint``: one table for cli.py (``glint --help`` lists it), the
commands, the error types and the README (a test compares the README's table with it).

Scripts and cron act on these numbers alone, so each one means one thing to do next.
"""

from __future__ import annotations

OK = 0
FAILURE = 1
USAGE = 2
PARTIAL = 3
INTERRUPTED = 130

MEANINGS: dict[int, str] = {
    OK: "success",
    FAILURE: "failure",
    USAGE: "usage or configuration error",
    PARTIAL: "partial success",
    INTERRUPTED: "interrupted",
}
"""Each code's name; the README's table starts each row's meaning with it (tested)."""


def partial(failed: int, total: int) -> int:
    """OK when nothing failed, FAILURE when everything did, PARTIAL in between."""
    if not failed:
        return OK
    return FAILURE if failed >= total else PARTIAL


def summary() -> str:
    """One line for ``--help``: every code and its name."""
    return "exit codes: " + ", ".join(f"{code} {name}" for code, name in MEANINGS.items())
