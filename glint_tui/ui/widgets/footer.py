"""A footer that never loses Help and Quit.

Textual's Footer lists keys in binding order and silently cuts whatever does not fit,
and the app's own keys (``?`` Help, ``q`` Quit) come last — so at 80 columns they were
the ones cut. This one drops the least important keys first until the rest fit; every
key stays in the help screen and the command palette.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from glint_tui.ui.keyhelp import order

# Most important first; keys not listed here are trimmed before any listed one.
PRIORITY = (
    "app.help",
    "app.quit",
    "matrix.cancel",
    "matrix.toggle",
    "matrix.apply",
    "matrix.refresh",
    "matrix.filter",
    "matrix.project",
    "matrix.visibility",
    "matrix.range",
)
PALETTE_WIDTH = 14  # "^p palette" docked right, with its border
COMPACT_BELOW = 100  # columns: below this, keys are packed tighter


def _rank(binding: Binding) -> int:
    ident = binding.id or binding.action
    return PRIORITY.index(ident) if ident in PRIORITY else len(PRIORITY)


class GlintFooter(Footer):
    """Shows as many keys as fit, by importance, in their usual order."""

    def __init__(self) -> None:
        super().__init__()
        self._width = 0

    def key_width(self, key_display: str, description: str) -> int:
        """Cells one FooterKey takes (its CSS padding: compact or not)."""
        extra = 1 if self.compact else 3
        return cell_len(key_display) + cell_len(description) + extra

    def shown(self, width: int) -> list[tuple[Binding, bool, str]]:
        """The (binding, enabled, tooltip) triples that fit in *width* cells."""
        seen: set[str] = set()
        entries: list[tuple[Binding, bool, str]] = []
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                entries.append((binding, enabled, tooltip))
        entries.sort(key=lambda e: order(e[0].id or ""))
        budget = width - (PALETTE_WIDTH if self._palette() else 0)

        def used(items: list[tuple[Binding, bool, str]]) -> int:
            return sum(
                self.key_width(self.app.get_key_display(b), b.description) for b, _, _ in items
            )

        keep = list(entries)
        for victim in sorted(entries, key=lambda e: _rank(e[0]), reverse=True):
            if used(keep) <= budget:
                break
            if _rank(victim[0]) > PRIORITY.index("app.quit"):
                keep.remove(victim)
        return keep

    def _palette(self) -> bool:
        return self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self.compact = self.size.width < COMPACT_BELOW
        for binding, enabled, tooltip in self.shown(self.size.width or 80):
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if self._palette():
            try:
                _node, binding, enabled, _tooltip = self.screen.active_bindings[
                    self.app.COMMAND_PALETTE_BINDING
                ]
            except KeyError:
                return
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            if self._bindings_ready:
                self.call_after_refresh(self.recompose)
