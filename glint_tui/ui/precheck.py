"""Early refusals: while the operator marks cells, the core's own plan says which marks
it would refuse — the last verified copy of an image, a protected image, one the
project does not own, a copy with no verified source — so the cell (``REFUSED``) and a
notice say so at once, not only in the review.

The plan is made by the backend in a thread worker (its calls may block); each new mark
makes the answers to older ones void, so a slow answer never undoes a newer mark.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode

from glint_tui.core.errors import GlintError
from glint_tui.core.plan import CONFLICT_HINT
from glint_tui.ui.backend import Backend, desired_copy
from glint_tui.ui.state import CellKey, MatrixModel

Answer = Callable[[set[CellKey], "str | None"], None]
"""(cells whose look changed, why the cell just marked is refused or None)."""


class Prechecker:
    """Asks the plan about the current marks after each change (see the module doc)."""

    def __init__(self, node: DOMNode, backend: Backend, model: MatrixModel, answer: Answer):
        self.node, self.backend, self.model, self.answer = node, backend, model, answer
        self.generation = 0

    def request(self, marked: CellKey | None = None) -> None:
        """The marks changed (*marked*: the cell the operator just marked, if one)."""
        self.generation += 1
        generation, matrix = self.generation, self.model.matrix
        desired = desired_copy(self.model.desired)

        def work() -> None:
            try:
                refusals = self.backend.precheck(matrix, desired) if desired else []
            except GlintError:
                return  # (the settings could not be read): the review will say it
            found = {((r.name, r.content_key), r.ref): in_the_ui(r.reason) for r in refusals}
            self.node.app.call_from_thread(self._done, generation, found, marked)

        self.node.run_worker(work, thread=True, group="precheck", exit_on_error=False)

    def _done(self, generation: int, found: dict[CellKey, str], marked: CellKey | None) -> None:
        if generation != self.generation:
            return  # a newer mark's answer is on its way
        changed = self.model.set_refusals(found)
        self.answer(changed, found.get(marked) if marked else None)


def in_the_ui(reason: str) -> str:
    """A refusal's reason as the UI says it: a same-name conflict is answered in the
    review, not with the command line's flag."""
    return reason.replace(CONFLICT_HINT, "the review (a) offers rename, keep both or replace")
