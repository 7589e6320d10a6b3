"""How long glint waits for a cloud, per kind of call.

A single long read timeout (it was 300 s for everything) let one Keystone that accepts a
connection and never answers hold ``glint images`` for five minutes. Calls differ: a login
or an API answer (a listing page, a get, a metadata update, a delete) is small and comes
quickly or not at all; a byte stream (download or upload) may run for an hour, and what
matters there is that it keeps moving. So:

* ``connect``: seconds to open a TCP (and TLS) connection, for every call;
* ``auth``: seconds Keystone may take to answer a token request (login, re-login);
* ``api``: seconds any other API call may take to answer;
* ``stream``: the no-progress deadline of a download or upload: it fails once no byte
  went either way for this long (the socket timeout of each read and write), however
  long the whole transfer takes;
* ``import_stall``: the no-progress deadline of a cloud-side import: Glance shows no byte
  count while the destination pulls, so it runs from the last visible change (status,
  stores, task); past it the import is stopped and the copy streamed instead.

The defaults suit a real cloud under load; ``settings.json`` (``"timeouts"``) overrides
any of them for one profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from glint_tui.core.errors import ConfigError

SETTING = "timeouts"


@dataclass(frozen=True)
class Timeouts:
    """Seconds glint waits, per kind of call (see the module docstring)."""

    connect: float = 10.0
    auth: float = 30.0
    api: float = 60.0
    stream: float = 120.0
    import_stall: float = 600.0

    @property
    def for_auth(self) -> tuple[float, float]:
        """(connect, read) for a Keystone token request."""
        return (self.connect, self.auth)

    @property
    def for_api(self) -> tuple[float, float]:
        """(connect, read) for every other API call."""
        return (self.connect, self.api)

    @property
    def for_download(self) -> tuple[float, float]:
        """(connect, read): the read timeout is the stream's no-progress deadline."""
        return (self.connect, self.stream)

    @property
    def for_upload(self) -> tuple[float, float]:
        """Both parts are the no-progress deadline: urllib3 sends a request body under the
        *connect* timeout, so a Glance that pauses reading for longer than ``connect``
        would otherwise fail a healthy upload. (The create call just before an upload
        reaches the same Glance with the short connect timeout.)"""
        return (self.stream, self.stream)

    @classmethod
    def from_setting(cls, value: Any, where: str = "settings.json") -> Timeouts:
        """Defaults overridden by a ``{"connect": 5, "api": 30, ...}`` setting (or None)."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {SETTING}: must be an object of seconds")
        known = {f.name for f in fields(cls)}
        changes: dict[str, float] = {}
        for key, seconds in value.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: {SETTING}.{key}: unknown (expected {', '.join(sorted(known))})"
                )
            ok = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
            if not ok or not math.isfinite(seconds) or not 0 < seconds <= 3600:
                raise ConfigError(
                    f"{where}: {SETTING}.{key}: must be a number of seconds in (0, 3600]"
                )
            changes[key] = float(seconds)
        return replace(cls(), **changes)
