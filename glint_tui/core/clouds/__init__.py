"""Cloud adapters by cloud type. ``open_session`` is the entry point for every caller."""

from __future__ import annotations

from importlib import import_module

from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import ConfigError
from glint_tui.core.model import CLOUD_TYPES, Credential, ProjectRef, Repository
from glint_tui.core.timeouts import Timeouts

_MODULES = {
    "openstack": "glint_tui.core.clouds.openstack",
    "ec2": "glint_tui.core.clouds.ec2",
}
assert set(_MODULES) == set(CLOUD_TYPES)


def open_session(
    repository: Repository,
    credential: Credential,
    secret: str,
    *,
    timeouts: Timeouts | None = None,
    column: ProjectRef | None = None,
) -> CloudSession:
    """Connect lazily to *repository* as *credential*; call ``check()`` to log in now.

    *timeouts* (default ``Timeouts()``) bounds every call of the session by kind: login,
    API call, byte stream (``core.timeouts``). *column*: the ``REPO/REGION:PROJECT`` the
    session serves when it is one region of its repository (``repository.region`` is that
    region then); its errors name that column."""
    module = _MODULES.get(repository.cloud_type)
    if module is None:
        raise ConfigError(
            f"repository {repository.name}: unknown cloud type {repository.cloud_type!r}"
        )
    extra = {"column": column} if column is not None else {}
    adapter = import_module(module)
    return adapter.open_session(repository, credential, secret, timeouts=timeouts, **extra)
