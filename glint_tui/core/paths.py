"""Where glint keeps its files.

Every directory comes from platformdirs so glint behaves like a native tool on each OS.
A *profile* isolates a whole set of files: the sandbox uses its own profile so it can
never touch the operator's real repositories, credentials, journal or cache.
``GLINT_HOME`` moves everything under one directory (tests, containers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "glint"
SANDBOX_PROFILE = "sandbox"


@dataclass(frozen=True)
class Paths:
    """The four directories of one glint profile."""

    profile: str
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    state_dir: Path

    @property
    def repositories_file(self) -> Path:
        return self.config_dir / "repositories.json"

    @property
    def credentials_file(self) -> Path:
        return self.config_dir / "credentials.json"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def keymap_file(self) -> Path:
        """The operator's keys for the terminal UI (``ui/keymap.py``)."""
        return self.config_dir / "keymap.json"

    @property
    def journal_dir(self) -> Path:
        return self.state_dir / "journal"

    @property
    def spool_dir(self) -> Path:
        return self.cache_dir / "spool"

    def ensure(self) -> Paths:
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.state_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def glint_home() -> Path | None:
    home = os.environ.get("GLINT_HOME")
    return Path(home).expanduser() if home else None


def paths_for(profile: str | None = None) -> Paths:
    """Paths of *profile* (default: ``GLINT_PROFILE`` or the operator's own)."""
    profile = profile or os.environ.get("GLINT_PROFILE") or "default"
    home = glint_home()
    if home is None and profile == "default":
        return Paths(
            profile,
            Path(platformdirs.user_config_dir(APP)),
            Path(platformdirs.user_data_dir(APP)),
            Path(platformdirs.user_cache_dir(APP)),
            Path(platformdirs.user_state_dir(APP)),
        )
    if home is None:
        root = Path(platformdirs.user_data_dir(APP)) / "profiles" / profile
    else:
        root = home / "profiles" / profile
    return Paths(profile, root / "config", root / "data", root / "cache", root / "state")
