"""The transfer engine: runs a Plan — streamed fan-out copies, then deletes.

Usage (CLI and TUI alike)::

    engine = TransferEngine(provider, paths, on_event=handle)   # handle(event) from threads
    cancel = threading.Event()
    result = engine.run(plan, cancel)                            # blocks; run it in a worker
    result.exit_code                                             # 0 ok, 1 failed, 3 partial

``on_event`` receives ``core.events`` records from worker threads (a TUI must marshal
them to its loop). Setting ``cancel`` stops new work, aborts transfers in flight,
cleans what was half-created, and returns with ``result.cancelled``.
``engine.cancel_action(action_id, destination=None)`` (from any thread, while ``run``
goes) does the same for one copy action, or one destination of it, or one delete that
has not started; everything else carries on.

The modules, by the job they do (ARCHITECTURE.md, "The transfer engine"):

* ``options`` — ``TransferOptions``; ``result`` — ``Outcome``, ``RunResult``;
* ``control`` — cancel requests (``Controls``, ``CancelScope``, ``Cancelled``);
* ``slots`` — at most N uploads per repository;
* ``sources`` — where the bytes come from (a cloud image, a local file);
* ``fanout`` — one read feeding every destination through bounded queues, spool tee;
* ``destination`` / ``upload`` — one destination across attempts, and one attempt's
  path (look again, create, fill by a ``TransferMethod``, verify, clean up);
* ``verify`` — the stream against the source, each copy against the stream;
* ``copy_job`` / ``delete_job`` — one action each; ``context`` — what a run gives them;
* ``engine`` — ``TransferEngine``: the run.
"""

from glint_tui.core.transfer.control import Cancelled
from glint_tui.core.transfer.engine import TransferEngine
from glint_tui.core.transfer.options import MiB, TransferOptions
from glint_tui.core.transfer.result import Outcome, RunResult
from glint_tui.core.transfer.sources import CloudImageSource, LocalFileSource, Source
from glint_tui.core.transfer.verify import SpoolDamaged

__all__ = [
    "Cancelled",
    "CloudImageSource",
    "LocalFileSource",
    "MiB",
    "Outcome",
    "RunResult",
    "Source",
    "SpoolDamaged",
    "TransferEngine",
    "TransferOptions",
]
