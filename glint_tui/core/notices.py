"""How the core tells the operator something without printing: callbacks.

Classes that may warn take ``warn`` / ``notice`` callables (the CLI prints them, the UI
shows notifications). Without one, the message goes to the ``glint_tui.core`` logger:
``glint``'s entry point shows those records on stderr, and any other program using the
core (glint-backup, a script) decides with its own logging set-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

Warn = Callable[[str], None]
"""Something may be wrong or unsafe (TLS verification off, a secret left behind)."""

Notice = Callable[[str], None]
"""Something worth knowing once (which keyring holds the secrets, and why)."""

LOGGER = logging.getLogger("glint_tui.core")
NOTICE_FLAG = "glint_notice"  # LogRecord attribute set on notices (warnings lack it)


def log_warning(message: str) -> None:
    """The default ``warn``: a WARNING record on the core's logger."""
    LOGGER.warning("%s", message)


def log_notice(message: str) -> None:
    """The default ``notice``: a WARNING record flagged as a notice (shown without
    "warning:" by ``glint``; Python's last-resort handler still shows it elsewhere)."""
    LOGGER.warning("%s", message, extra={NOTICE_FLAG: True})
