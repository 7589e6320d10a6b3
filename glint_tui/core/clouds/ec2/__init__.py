"""Amazon EC2 (and EC2-compatible clouds) behind the cloud session protocol.

boto3 is an optional extra (``pip install '.[ec2]'`` in glint's checkout) and is imported
only inside this package; an ec2 repository on a host without it is one line (exit 2)
saying how to install it. The parts:

* ``clients``: a boto3 session per credential kind (access key + secret, a named profile,
  boto3's own search of the environment), clients with glint's timeouts, the login check;
* ``translate``: every botocore failure as one glint error (wrong key, no permission, a
  region that does not answer, throttling worth a retry …);
* ``records``: an AMI as an ``ImageRecord``, and the tags glint writes on what it makes;
* ``blocks`` / ``readback``: bytes into and out of EBS snapshots through the EBS direct
  APIs (PutSnapshotBlock / GetSnapshotBlock, 512 KiB blocks, zero blocks skipped);
* ``register``: RegisterImage's arguments from the Glance properties;
* ``session``: ``Ec2Session``, the protocol itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glint_tui.core.errors import ConfigError
from glint_tui.core.model import Credential, ProjectRef, Repository
from glint_tui.core.timeouts import Timeouts

if TYPE_CHECKING:
    from glint_tui.core.clouds.base import CloudSession

INSTALL_HINT = "pip install boto3 (or, in glint's checkout: pip install '.[ec2]')"


def require_boto3(repository: Repository) -> None:
    """Raise the one-line ConfigError (exit 2) when boto3 is not installed."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"repository {repository.name} is an ec2 repository and boto3 is not "
            f"installed; install it with: {INSTALL_HINT}"
        ) from None


def open_session(
    repository: Repository,
    credential: Credential,
    secret: str,
    *,
    timeouts: Timeouts | None = None,
    column: ProjectRef | None = None,
) -> CloudSession:
    """A lazy session on one region (``repository.region``) of an EC2 account. *column*
    (``REPO/REGION:ACCOUNT``) is accepted like every adapter's; the session's errors
    already name the region."""
    require_boto3(repository)
    from glint_tui.core.clouds.ec2.session import Ec2Session

    return Ec2Session(repository, credential, secret, timeouts=timeouts or Timeouts())
