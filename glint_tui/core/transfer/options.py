"""The engine's knobs: how much memory, how many streams, how patient."""

from __future__ import annotations

from dataclasses import dataclass

from glint_tui.core.spool import DEFAULT_CAP, DEFAULT_MAX_AGE

MiB = 1 << 20


@dataclass
class TransferOptions:
    """Knobs, with defaults that suit a 2-core machine and a few clouds.

    Memory per copy is about ``destinations × queue_depth × chunk_size``.
    """

    chunk_size: int = 1 * MiB
    queue_depth: int = 8
    max_images: int = 2  # copy actions running at once
    uploads_per_cloud: int = 2  # concurrent uploads into one repository
    use_spool: bool = True  # tee the stream to the local cache so retries skip the source
    spool_cap: int = DEFAULT_CAP  # bytes the spool may hold; larger images are not spooled
    spool_max_age: float = DEFAULT_MAX_AGE  # seconds a spool entry may go unused
    retries: int = 3  # attempts per destination after the first, transient errors only
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    stall_timeout: float = 60.0  # a destination that takes no data this long is dropped
    active_timeout: float = 300.0  # wait for Glance to report active after an upload
    # a cloud-side import whose visible state (status, stores, task) does not change this
    # long is stopped, its image deleted, and the destination streamed instead
    import_stall: float = 600.0
    import_poll: float = 2.0  # seconds between two looks at an import
    visibility: str | None = None  # override the plan's visibility (None: keep the plan's)
    reconcile_first: bool = True  # clean up after dead runs before starting
    reconcile_timeout: float = 30.0  # ... but wait for it at most this long
    max_rate: float | None = None  # bytes/s read per copy (bandwidth cap); None: unlimited
    command: str = ""  # what started the run, for the audit log
