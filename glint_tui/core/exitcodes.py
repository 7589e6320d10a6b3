"""The exit codes of ``glint``: one table for cli.py, the commands, the error types and
the README (a test compares the README's table with ``MEANINGS``).

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
    FAILURE: "failure: a cloud refused, was unreachable, a login failed, a copy failed or was "
    "refused, or the operator answered N to a confirmation (nothing done)",
    USAGE: "usage or configuration error, an unknown or ambiguous IMAGE, a deletion with no "
    "terminal to confirm on and no --yes, keyring locked",
    PARTIAL: "partial success: some destinations, columns or clouds.yaml entries failed",
    INTERRUPTED: "interrupted (Ctrl-C); run `glint reconcile` if glint could not clean up",
}


def partial(failed: int, total: int) -> int:
    """OK when nothing failed, FAILURE when everything did, PARTIAL in between."""
    if not failed:
        return OK
    return FAILURE if failed >= total else PARTIAL
