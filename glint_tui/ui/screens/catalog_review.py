"""The plan review for a catalog plan: the same dialog as a toggled plan's (``y``
confirms, ``n``/Esc cancels, focus on Cancel, deactivations and deletions need the count
typed), with the catalog plan in the words ``glint catalog plan`` prints, per column.
"""

from __future__ import annotations

from rich.text import Text

from glint_tui.core.catalog import review
from glint_tui.core.catalog.steps import CatalogPlan
from glint_tui.ui.screens.plan_review import PlanReviewModal


def catalog_text(plan: CatalogPlan) -> Text:
    """``review.lines`` (already escaped) in a Text: headings bold, removals red,
    refusals yellow."""
    t = Text()
    for line in review.lines(plan):
        word = line.split(maxsplit=1)[0] if line.strip() else ""
        if not line.startswith(" "):
            style = "bold"
        elif word in ("DELETE", "deactivate"):
            style = "bold red"
        elif word == "REFUSED":
            style = "yellow"
        elif word in ("upload", "shared", "share"):
            style = "green"
        else:
            style = ""
        t.append(line + "\n", style=style)
    return t


class CatalogReviewModal(PlanReviewModal):
    """Dismisses True only when confirmed (and, with removals, the count was typed)."""

    HEADING = "Review the catalog plan"

    def __init__(self, plan: CatalogPlan, path: str) -> None:
        super().__init__(plan)  # type: ignore[arg-type]  # the review reads the same fields
        self.catalog_path = path

    def on_mount(self) -> None:
        """A catalog plan runs long: its body scrolls within the screen, so the buttons
        stay in sight at 80x24 (PlanReviewModal's own on_mount still focuses Cancel)."""
        self.query_one("#plan-body").styles.max_height = "60vh"

    def body(self) -> Text:
        heading = Text(f"catalog {self.catalog_path}\n\n", style="dim")
        return heading + catalog_text(self.plan)  # type: ignore[arg-type]

    def removal_question(self) -> str:
        n = self.plan.delete_count
        return (
            f"This catalog plan deactivates or DELETES {n} image{'s' if n != 1 else ''}: "
            "only versions no column keeps, never the last copy of one a column keeps."
        )
