"""A deterministic inventory built from real model objects (no network).

Screenshots and the benchmark need the same matrix every time: fixed names, hashes,
dates and owners, grouped by the engine's own ``build_matrix``.
"""

from __future__ import annotations

import hashlib
import random

from glint_tui.core.inventory import Listing, Matrix, build_matrix
from glint_tui.core.model import ImageRecord, ProjectRef

FIXED_NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z: "now" for screenshots
DISTROS = ("ubuntu", "debian", "fedora", "rocky", "alma", "cirros", "centos", "arch", "suse")


def _hex(seed: str) -> str:
    return hashlib.sha512(seed.encode()).hexdigest()


def sample_matrix(
    images: int = 14,
    repositories: int = 3,
    projects: tuple[str, ...] = ("alpha", "beta"),
    seed: int = 7,
    failed_column: bool = False,
) -> Matrix:
    """``images`` distinct images spread over ``repositories × projects`` columns.

    Includes a name conflict, shared/public images (locked elsewhere), a protected one,
    and optionally a column whose listing failed.
    """
    rng = random.Random(seed)
    refs = [ProjectRef(f"c{i + 1}", p) for i in range(repositories) for p in projects]
    pid = {ref: f"{ref.project}-{ref.repository}-id" for ref in refs}
    listings = {ref: Listing(ref, project_id=pid[ref]) for ref in refs}
    for n in range(images):
        distro = DISTROS[n % len(DISTROS)]
        name = f"{distro}-{20 + n // len(DISTROS)}.{n % 4:02d}"
        if n == 3:
            name = f"{DISTROS[0]}-20.00"  # same name as image 0, other bytes: a conflict
        digest = _hex(f"{seed}-{n}")
        size = rng.randrange(12, 4096) * (1 << 20)
        created = f"2025-{1 + n % 12:02d}-{1 + n % 27:02d}T0{n % 10}:00:00Z"
        owner_ref = refs[n % len(refs)]
        visibility = ("private", "private", "shared", "public", "community")[n % 5]
        holders = [r for r in refs if rng.random() < 0.45] or [owner_ref]
        if owner_ref not in holders:
            holders.append(owner_ref)
        for i, ref in enumerate(holders):
            owned = ref == owner_ref or rng.random() < 0.7
            record = ImageRecord(
                id=f"{n:04d}{i:02d}00-0000-4000-8000-{_hex(f'{n}{ref}')[:12]}",
                name=name,
                owner=pid[ref] if owned else "someone-else",
                visibility=visibility if not owned else rng.choice(("private", visibility)),
                protected=n == 5,
                size=size,
                disk_format=("qcow2", "raw", "iso")[n % 3],
                container_format="bare",
                checksum=digest[:32],
                os_hash_algo="sha512",
                os_hash_value=digest,
                created_at=created,
                updated_at=created,
            )
            listings[ref].images.append(record)
    if failed_column and refs:
        bad = listings[refs[-1]]
        bad.images, bad.error = [], "c3:beta: cannot reach http://127.0.0.1:5000/v3: refused"
    matrix = build_matrix(listings.values())
    matrix.refreshed_at = FIXED_NOW
    return matrix


def big_matrix(images: int = 2000, repositories: int = 10, projects: int = 3) -> Matrix:
    """The benchmark's inventory: ``images`` rows × ``repositories × projects`` columns."""
    names = tuple(f"p{i}" for i in range(projects))
    return sample_matrix(images, repositories, names, seed=1)
