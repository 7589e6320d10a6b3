"""Running a long use case from a command: in a worker thread, so Ctrl-C (and SIGTERM, which
``cli`` turns into Ctrl-C) cancels it cleanly instead of killing it mid-transfer.

The main thread waits on an Event, not ``Thread.join``: on Python < 3.13 a
KeyboardInterrupt that lands inside ``join`` can mark a live thread as finished, and the
next ``join`` returns at once - before the engine has cleaned up or returned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from glint_tui.commands.progress import ProgressPrinter
from glint_tui.core import exitcodes
from glint_tui.core.errors import GlintError

T = TypeVar("T")

CLEANUP_WAIT = 120.0  # seconds the engine gets to abort transfers and delete half images


class Interrupted(GlintError):
    """Ctrl-C and the engine did not finish cleaning up in time (or a second Ctrl-C)."""

    exit_code = exitcodes.INTERRUPTED


def run_cancellable(work: Callable[[threading.Event], T], printer: ProgressPrinter) -> T:
    """``work(cancel)`` in a worker; on Ctrl-C set *cancel* and give it ``CLEANUP_WAIT``
    seconds to abort transfers and delete half-made images, then return what it returned
    (or raise what it raised)."""
    cancel = threading.Event()
    done = threading.Event()
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["result"] = work(cancel)
        except BaseException as e:  # reported in the main thread
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=worker, name="glint-engine", daemon=True).start()
    try:
        try:
            while not done.wait(0.2):
                pass
        except KeyboardInterrupt:
            cancel.set()
            printer.interrupted = True
            printer.say("glint: interrupting: aborting transfers and cleaning up…")
            try:
                finished = done.wait(CLEANUP_WAIT)
            except KeyboardInterrupt:
                finished = False
            if not finished:
                raise Interrupted(
                    "interrupted before the cleanup finished; "
                    "run `glint reconcile` to delete half-copied images"
                ) from None
    finally:
        printer.close()
    if "error" in box:
        raise box["error"]
    return box["result"]
