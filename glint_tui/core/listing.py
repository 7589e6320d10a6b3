"""One column's listing: its images, project id, cloud identity and the disk formats its
cloud takes — or, for a repository whose Keystone catalogs several image regions and
pins none, one listing per region (``REPO/REGION:PROJECT`` columns, each its own cloud).

A column's failure is its own (an error message in its listing), never the matrix's;
``core.inventory`` runs one of these per column at once and builds the matrix.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace

from glint_tui.core.cloudid import CloudIdentity
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import GlintError, SecretsError
from glint_tui.core.model import ImageRecord, ProjectRef
from glint_tui.core.sessions import SessionSource, open_serialized


@dataclass
class Listing:
    """One column's listing result, as ``core.inventory.build_matrix`` takes it."""

    ref: ProjectRef
    project_id: str | None = None
    images: list[ImageRecord] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    cloud: CloudIdentity | None = None
    fatal: SecretsError | None = None  # the keyring failed: no column can be listed
    disk_formats: tuple[str, ...] | None = None  # the session's ``disk_formats``, if any


def list_column(source: SessionSource, ref: ProjectRef) -> list[Listing]:
    """One column's listing — or one per region, when *ref* names a repository whose
    Keystone catalogs several image regions and neither the repository nor the ref pins
    one (``REPO/REGION:PROJECT`` columns, each its own cloud)."""
    start = time.monotonic()
    out = Listing(ref)
    session = None
    regions: list[str] = []
    try:
        session = open_serialized(source, ref)
        out.images = list(session.list_images())
        out.project_id = session.project_id
        out.cloud = _identity(session)
        out.disk_formats = getattr(session, "disk_formats", None)
        if ref.region is None and session.repository.region is None:
            regions = _regions(session)
    except SecretsError as e:  # locked keyring / wrong master password: exit 2, not a column
        out.error, out.fatal = str(e), e
    except GlintError as e:
        out.error = str(e)
    except Exception as e:  # a column must never take the whole matrix down
        out.error = f"{type(e).__name__}: {e}"
    finally:
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()
        out.seconds = time.monotonic() - start
    if len(regions) < 2:
        return [out]
    listed = out.cloud.region if out.cloud is not None else None
    listings = []
    for region in regions:
        column = ProjectRef(ref.repository, ref.project, region)
        if region == listed:  # the listing just made was of this region: keep it
            listings.append(replace(out, ref=column))
        else:
            listings.extend(list_column(source, column))
    return listings


def _regions(session: CloudSession) -> list[str]:
    """The image regions of the session's catalog, sorted; none if it cannot tell."""
    try:
        return sorted(session.image_regions())
    except Exception:  # the listing worked: show the repository as one column, as before
        return []


def _identity(session: CloudSession) -> CloudIdentity | None:
    """The column's cloud identity; None (counted conservatively) if it cannot be read."""
    try:
        return session.cloud_identity()
    except Exception:  # the listing worked: an unknown identity only makes counting stricter
        return None
