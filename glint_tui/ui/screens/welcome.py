"""First run: no repository configured yet, so say what to do instead of an empty grid."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Static

from glint_tui.ui.widgets.footer import GlintFooter

WELCOME = """[b]Welcome to Glint[/b]

Glint keeps the same VM images on many OpenStack clouds: a grid of images × clouds, \
where you mark cells, review the plan, and watch the copies stream and verify.

No repository (cloud) is configured yet. You can:

  • [b]a[/b]  add a repository (its Keystone URL), then a project credential
  • [b]i[/b]  import repositories and credentials from an existing clouds.yaml
  • try local sandbox clouds: quit, then run [b]glint --sandbox[/b] (it starts them; \
[b]glint sandbox up[/b] starts them without opening the UI)
"""


class WelcomeScreen(Screen[None]):
    BINDINGS = [
        Binding("a", "add", "Add repository", id="welcome.add"),
        Binding("i", "import_yaml", "Import clouds.yaml", id="welcome.import"),
    ]

    def __init__(self, read_only: bool = False) -> None:
        super().__init__(id="welcome")
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(id="welcome-body"):
            yield Static(WELCOME)
            with Horizontal(classes="buttons"):
                yield Button(
                    "Add repository (a)", id="add", variant="primary", disabled=self.read_only
                )
                yield Button("Import clouds.yaml (i)", id="import", disabled=self.read_only)
                yield Button("Quit (q)", id="quit")
        yield GlintFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in ("add", "import_yaml"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.action_add()
        elif event.button.id == "import":
            self.action_import_yaml()
        else:
            self.app.exit(0)

    def _repositories(self):  # type: ignore[no-untyped-def]
        from glint_tui.ui.screens.repositories import RepositoriesScreen

        screen = RepositoriesScreen(self.app.backend)  # type: ignore[attr-defined]
        self.app.switch_screen(screen)
        return screen

    def action_add(self) -> None:
        self._repositories().call_after_refresh(lambda: self.app.screen.action_add())

    def action_import_yaml(self) -> None:
        self._repositories().call_after_refresh(lambda: self.app.screen.action_import_yaml())
