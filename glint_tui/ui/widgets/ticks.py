"""Checkboxes whose state reads without colour: Textual draws ``X`` in both states and
tells them apart by colour only, which a 16-colour terminal, a colour-blind operator or
a screenshot can lose. Here an unticked box is empty (``[ ]``), a ticked one ``[X]``.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets._toggle_button import ToggleButton

TICK = ToggleButton.BUTTON_INNER


class TickBox(Checkbox):
    """A Checkbox that shows ``X`` only when ticked."""

    def on_mount(self) -> None:
        self.watch_value(self.value)

    def watch_value(self, value: bool) -> None:
        self.BUTTON_INNER = TICK if value else " "
        self.refresh()


class TickList(SelectionList[str]):
    """A SelectionList that shows ``X`` only on the ticked lines, and ``>`` before the
    line that space would tick (the highlight is a colour too)."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 4 or segments[1].text != TICK or segments[1].style is None:
            return strip
        index = segments[1].style.meta.get("option")
        if index is None:
            return strip
        if self.get_option_at_index(index).value not in self.selected:
            segments[1] = Segment(" ", segments[1].style)
        if index == self.highlighted and self.has_focus and segments[3].text == " ":
            segments[3] = Segment(">", segments[3].style)
        return Strip(segments, strip.cell_length)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
