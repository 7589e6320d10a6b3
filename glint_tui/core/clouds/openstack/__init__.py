"""OpenStack adapter: Keystone v3 login + Glance v2 through openstacksdk's image proxy.

The only package in glint that imports ``openstack``/``keystoneauth1``. Its modules:

* ``auth`` — a Repository + Credential + secret as a lazy keystoneauth session that
  times each request by kind, and the openstacksdk connection on it;
* ``translate`` — ``translate_error``: every keystoneauth / openstacksdk / requests
  failure as one glint ``CloudError`` with a human message that never holds the secret;
* ``records`` — Glance's JSON as glint's ``ImageRecord`` (which attributes are user
  properties), and glint's creates and updates as Glance requests;
* ``streams`` — the sized upload body and the verifying streamed download;
* ``compute`` — whether a server runs from an image (Nova, when the catalog has it);
* ``imports`` — Glance's import discovery answers and an import's visible state;
* ``session`` — ``OpenStackSession``, the ``CloudSession`` implementation.
"""

from __future__ import annotations

from glint_tui.core.clouds.openstack.auth import (
    AUTH_TYPES,
    TimedSession,
    build_connection,
    build_keystone_session,
    quiet_library_loggers,
)
from glint_tui.core.clouds.openstack.records import (
    BASE_ATTRIBUTES,
    CORE_UPDATES,
    RESERVED_PREFIXES,
    image_record,
)
from glint_tui.core.clouds.openstack.session import OpenStackSession
from glint_tui.core.clouds.openstack.streams import OpenStackDownload
from glint_tui.core.clouds.openstack.translate import PROVIDER_ERRORS, translate_error
from glint_tui.core.model import Credential, ProjectRef, Repository
from glint_tui.core.timeouts import Timeouts

__all__ = [
    "AUTH_TYPES",
    "BASE_ATTRIBUTES",
    "CORE_UPDATES",
    "PROVIDER_ERRORS",
    "RESERVED_PREFIXES",
    "OpenStackDownload",
    "OpenStackSession",
    "TimedSession",
    "build_connection",
    "build_keystone_session",
    "image_record",
    "open_session",
    "quiet_library_loggers",
    "translate_error",
]


def open_session(
    repository: Repository,
    credential: Credential,
    secret: str,
    *,
    timeouts: Timeouts | None = None,
    column: ProjectRef | None = None,
) -> OpenStackSession:
    """A lazy session: nothing is sent until the first call (``check()`` logs in now).
    *column* names it in messages when it is one region of its repository."""
    return OpenStackSession(repository, credential, secret, timeouts=timeouts, column=column)
