"""Glint's error types. Every failure a user can see is one of these, with a human message.

``exit_code`` is what the command line returns for it (see README, "Exit codes");
``transient`` says whether retrying the same operation later may succeed.

A message may span lines (a list of candidates); the CLI and the UI escape control
characters in it (``core.safetext``) but keep its newlines, so text from outside - image
names, argv, file contents - is embedded with ``!r`` or ``safetext.escape``, never raw.
"""

from __future__ import annotations


class GlintError(Exception):
    """Base of every error glint reports to a user (never shown as a traceback)."""

    exit_code = 1
    transient = False


class UsageError(GlintError):
    """Bad command-line input."""

    exit_code = 2


class ConfigError(GlintError):
    """A configuration file or value is wrong; the message names the file and key."""

    exit_code = 2


class SecretsError(GlintError):
    """The keyring cannot be used (locked, wrong master password, no backend)."""

    exit_code = 2


class CloudError(GlintError):
    """Something went wrong talking to a cloud. ``where`` names the repository/project."""

    def __init__(self, message: str, where: str | None = None, status: int | None = None):
        self.where = where
        self.status = status
        super().__init__(f"{where}: {message}" if where else message)


class AuthenticationFailed(CloudError):
    """Keystone refused the user name/password or application credential."""


class ProjectNotFound(CloudError):
    """The login works but the project is unknown or the user has no role on it."""


class Unreachable(CloudError):
    """A Keystone or Glance endpoint did not answer (refused, DNS, TLS, timeout)."""

    transient = True


class NoImageEndpoint(CloudError):
    """The catalog has no image service for this region/interface."""


class PermissionDenied(CloudError):
    """HTTP 403: the credential may not do this (not owner, policy, public visibility)."""


class ImageNotFound(CloudError):
    """HTTP 404 for an image id."""


class Conflict(CloudError):
    """HTTP 409: the image is in a state that forbids the operation."""


class QuotaExceeded(CloudError):
    """HTTP 413 or a storage quota: the destination is full."""


class ServerError(CloudError):
    """HTTP 5xx or a dropped connection mid-request: worth retrying."""

    transient = True


class BadRequest(CloudError):
    """HTTP 400: Glance refused the request (bad size, format mismatch, read-only field)."""


class DataMismatch(CloudError):
    """The bytes' checksum differs from what the source or destination claims."""


def located(ref: object, message: str) -> str:
    """``REF: message``, unless *message* already starts with that place.

    CloudError (and the session provider's errors) already begin with ``REPO:PROJECT:``;
    prefixing again printed ``c1:alpha: c1:alpha: …``.
    """
    prefix = f"{ref}:"
    return message if message.startswith(prefix) else f"{prefix} {message}"
