"""`python -m glint_tui` is the same as the `glint` command."""

from glint_tui.cli import run

run()
