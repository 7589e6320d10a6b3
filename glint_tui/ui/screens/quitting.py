"""Leaving glint: ``q`` asks first when something would be lost, and ``ctrl+c`` does what
terminal users expect of it — the first asks like ``q``, a second (while the question
is open) quits once the run is cancelled and its half-made images are removed, and a
third leaves at once (``glint reconcile`` then cleans up). Never nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glint_tui.core import exitcodes
from glint_tui.ui.screens.confirm import ConfirmModal

if TYPE_CHECKING:
    from glint_tui.ui.screens.matrix import MatrixScreen


class QuitQuestion(ConfirmModal):
    """The question ``q`` and ``ctrl+c`` ask (a second ``ctrl+c`` answers it yes)."""


def request_quit(main: MatrixScreen) -> None:
    """q: quit now, or ask first when toggles would be lost or a run is going (then
    cancel it and clean up before exiting)."""
    app = main.app
    if not main.model.running:
        pending = main.model.unapplied
        if not pending:
            app.exit(exitcodes.OK)
            return

        def leave(yes: bool | None) -> None:
            if yes:
                app.exit(exitcodes.OK)

        changes = "change" if pending == 1 else "changes"
        question = f"{pending} pending {changes} will be lost. Quit?"
        app.push_screen(QuitQuestion(question, yes="Quit", no="Stay"), leave)
        return

    def answer(yes: bool | None) -> None:
        if yes:
            quit_after_cleanup(main)

    app.push_screen(
        QuitQuestion(
            "Transfers are running. Quit anyway? They will be cancelled and "
            "half-made images removed first.",
            yes="Cancel and quit",
            no="Keep running",
        ),
        answer,
    )


def quit_after_cleanup(main: MatrixScreen) -> None:
    """Cancel the run; the app exits when the engine has cleaned up (``on_run_done``)."""
    main.quit_after_run = True
    main.action_cancel_run()


def interrupt(main: MatrixScreen) -> None:
    """ctrl+c (see the module docstring)."""
    app = main.app
    if main.quit_after_run:  # already cleaning up to quit: leave now
        app.exit(exitcodes.INTERRUPTED)
        return
    if not isinstance(app.screen, QuitQuestion):
        request_quit(main)
        return
    app.pop_screen()  # the second ctrl+c answers the question: yes
    if not main.model.running:
        app.exit(exitcodes.OK)
        return
    quit_after_cleanup(main)
    main.notify(
        "Cancelling the run; glint quits once its half-made images are removed "
        "(ctrl+c again leaves at once, then run glint reconcile).",
        severity="warning",
        timeout=10,
    )
