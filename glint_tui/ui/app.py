"""The Glint Textual application and ``run(read_only)``, which ``glint`` calls when it has
no subcommand.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.scrollbar import ScrollBar
from textual.theme import Theme

from glint_tui.core import exitcodes
from glint_tui.core.inventory import build_matrix
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.safetext import escape
from glint_tui.ui.backend import Backend, LiveBackend, saved_theme
from glint_tui.ui.glyphs import AsciiScrollBarRender, dot, use_ascii
from glint_tui.ui.keymap import load_keymap
from glint_tui.ui.screens.help import HelpScreen
from glint_tui.ui.screens.master_password import MasterPasswordModal
from glint_tui.ui.screens.matrix import MatrixScreen
from glint_tui.ui.screens.quitting import interrupt, quit_after_cleanup, request_quit
from glint_tui.ui.state import MatrixModel

ASCII_KEYS = {"↑": "up", "↓": "down", "←": "left", "→": "right"}


class GlintApp(App[int]):
    """Keyboard-first matrix of images × clouds. ``backend`` does every blocking call."""

    CSS_PATH = Path(__file__).with_name("glint.tcss")  # absolute: subclasses live elsewhere
    TITLE = "Glint"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("q", "quit_app", "Quit", id="app.quit"),
        # Textual's own ctrl+q would quit without asking while transfers run
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True, id="app.quit_now"),
        Binding("T", "change_theme", "Theme", show=False, id="app.theme"),
        # what terminal users expect of ctrl+c (ui/screens/quitting.py), on every screen:
        # not Textual's copy-text or its "press ctrl+q" hint
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True, id="app.interrupt"),
    ]

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        paths: Paths | None = None,
        read_only: bool = False,
        now: Callable[[], float] = time.time,
        refresh_interval: float | None = 120.0,
        handle_signals: bool = False,
        keymap: dict[str, str] | None = None,
        theme: str | None = None,
        catalog: str | None = None,
    ) -> None:
        super().__init__()
        self._operator_keymap = keymap or {}  # ui/keymap.py checked it (keymap.json)
        self._saved_theme = theme
        self.catalog = catalog  # a catalog file shown over the matrix (--catalog)
        self.handle_signals = handle_signals  # SIGTERM -> terminate() (the real app only)
        self._terminating = False
        self._prompt_lock = threading.Lock()
        self.backend: Backend = backend or LiveBackend(
            paths, prompt=self.ask_secret, warn=self.warn
        )
        self.read_only = read_only
        self.model = MatrixModel(build_matrix([]), now=now)
        self.refresh_interval = refresh_interval
        self.ascii = use_ascii()
        self._scrollbar_renderer = ScrollBar.renderer

    def on_mount(self) -> None:
        if self._operator_keymap:
            self.set_keymap(self._operator_keymap)
        if self._saved_theme in self.available_themes:
            self.theme = self._saved_theme
        elif self._saved_theme:
            self.notify(f"Theme {escape(self._saved_theme)!r} is unknown here: T picks one.")
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        if self.handle_signals:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.terminate)
        if self.ascii:
            # Textual has no per-app scrollbar glyph setting; swap the class renderer for
            # this app's lifetime (restored on unmount) and style borders as ASCII.
            ScrollBar.renderer = AsciiScrollBarRender
            self.add_class("-ascii")
        self.push_screen(self.matrix_screen())

    def on_unmount(self) -> None:
        ScrollBar.renderer = self._scrollbar_renderer

    def _remember_theme(self, theme: Theme) -> None:
        """The operator picked a theme (T, or the palette): the next start uses it."""
        if theme.name != self._saved_theme:
            self._saved_theme = theme.name
            self.run_worker(lambda: self.backend.remember_theme(theme.name), thread=True)

    def matrix_screen(self) -> MatrixScreen:
        if self.catalog is not None:
            from glint_tui.ui.screens.catalog_matrix import CatalogMatrixScreen

            return CatalogMatrixScreen(
                self.backend,  # type: ignore[arg-type]  # LiveBackend, or a test's
                self.model,
                self.catalog,
                read_only=self.read_only,
                refresh_interval=self.refresh_interval,
            )
        return MatrixScreen(
            self.backend,
            self.model,
            read_only=self.read_only,
            refresh_interval=self.refresh_interval,
        )

    def get_key_display(self, binding: Binding) -> str:
        """Arrow keys as words where the console font has no arrows (TERM=linux)."""
        shown = super().get_key_display(binding)
        return ASCII_KEYS.get(shown, shown) if self.ascii else shown

    @property
    def main(self) -> MatrixScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MatrixScreen):
                return screen
        return None

    # --- navigation ----------------------------------------------------------------------
    def show_welcome(self) -> None:
        from glint_tui.ui.screens.welcome import WelcomeScreen

        if not any(isinstance(s, WelcomeScreen) for s in self.screen_stack):
            self.push_screen(WelcomeScreen(read_only=self.read_only))

    def show_repositories(self) -> None:
        from glint_tui.ui.screens.repositories import RepositoriesScreen

        self.push_screen(RepositoriesScreen(self.backend))  # type: ignore[arg-type]

    def reload_matrix(self) -> None:
        if self.main is not None:
            self.main.load()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def terminate(self) -> None:
        """SIGTERM, as ``glint`` handles it everywhere: a run in flight is cancelled (its
        half-made images removed) and the app exits with its code, 130; otherwise exit
        130 now. A second SIGTERM exits at once (then ``glint reconcile`` cleans up)."""
        main = self.main
        if self._terminating or main is None or not main.model.running:
            self.exit(exitcodes.INTERRUPTED)
            return
        self._terminating = True
        quit_after_cleanup(main)

    def action_quit_app(self) -> None:
        main = self.main
        if main is None:
            self.exit(0)
        else:
            request_quit(main)

    def action_interrupt(self) -> None:
        if self.main is None:
            self.exit(exitcodes.INTERRUPTED)
        else:
            interrupt(self.main)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every enabled key of the current screen is also a palette command."""
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            b = active.binding
            ident = b.id or b.action
            if not active.enabled or b.system or ident in seen:
                continue
            seen.add(ident)
            key = self.get_key_display(b)
            yield SystemCommand(
                f"{b.description or b.action} ({key})",
                f"key {key}{dot()}{ident}",
                lambda b=b, node=active.node: self.run_action(b.action, node),
            )
        yield from super().get_system_commands(screen)

    # --- called from worker threads ------------------------------------------------------
    def warn(self, message: str) -> None:
        """Core warnings (insecure TLS, keyring backend choice) become notifications."""
        text = escape(message)
        if threading.get_ident() == self._thread_id:
            self.notify(text, severity="warning", timeout=8, markup=False)
        else:
            self.call_from_thread(self.notify, text, severity="warning", timeout=8, markup=False)

    def ask_secret(self, prompt: str) -> str | None:
        """SecretStore's prompt: blocks the calling worker while a modal asks.

        The core asks once per run (it keeps the answer that opened the keyring) and asks
        again, saying "Wrong master password", after an answer that did not: so nothing
        is cached here, or a mistyped password would be handed back for ever.
        """
        if threading.get_ident() == self._thread_id:
            return None  # never block the event loop; core reports "locked" instead
        with self._prompt_lock:
            answer: list[str | None] = []
            done = threading.Event()

            def show() -> None:
                def got(value: str | None) -> None:
                    answer.append(value)
                    done.set()

                self.push_screen(MasterPasswordModal(prompt), got)

            self.call_from_thread(show)
            done.wait()
            return answer[0] if answer else None


def run(read_only: bool = False, handle_signals: bool = False, catalog: str | None = None) -> int:
    """Open the UI on the current profile (``GLINT_PROFILE``/``GLINT_HOME``), with a
    catalog file shown over the matrix when *catalog* names one; exit code.

    The operator's keymap and theme are read first: a bad keymap file is a ConfigError
    (one line, exit 2) before the screen changes."""
    paths = paths_for()
    keymap = load_keymap(paths.keymap_file)
    app = GlintApp(
        paths=paths,
        read_only=read_only,
        handle_signals=handle_signals,
        keymap=keymap,
        theme=saved_theme(paths),
        catalog=catalog,
    )
    return int(app.run() or 0)
