"""Which transfer method each copy destination of a plan uses (``--method``).

``build_plan`` is pure and plans every copy as a stream. Before the operator reviews it,
``choose_methods`` asks the two ends of each copy what they allow — each session's
``import_info()`` (import methods, stores, the regions of its Keystone, the admin role)
and the source image as it is now (its stores, its members) — and lets
``core.importmethods`` decide per destination:

* ``auto`` takes the first possible method in the order copy-image, glance-download,
  web-download, stream: a cloud-side one wherever both ends allow it, else the stream;
  discovery that fails (a Glance that does not answer ``/v2/info/import``) means stream;
* an explicit method is used where it is possible and refused (a ``Refusal`` with the
  reason) where it is not — glint never silently does something else than asked;
* a destination that already holds the image and only lacks the asked store
  (``CopyTarget.adds_store_to``) can only get it by ``copy-image``.

What discovery cannot know (Glance's import filtering, policy, whether the destination
reaches the source's URL) may still make a chosen method fail; the engine then streams
that destination (``transfer.cloudside``). ``web-download`` needs a URL the destination
can read without a token: ``source_url`` (``--source-url``, or what the image catalog
knows), else the source image's ``glint_source_url`` property; the copy is verified by
hash like every other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from glint_tui.core.actions import CopyAction, CopyTarget, Plan, Refusal, conversion_note
from glint_tui.core.clouds.base import CloudSession, ImportInfo
from glint_tui.core.errors import GlintError, Unreachable
from glint_tui.core.importmethods import (
    AUTO,
    CHOICES,
    COPY_IMAGE,
    STREAM,
    SourceImage,
    Verdict,
    choose,
    verdicts,
)
from glint_tui.core.model import ImageRecord, ProjectRef

SOURCE_URL_PROPERTY = "glint_source_url"
"""An image property naming where anyone can read the same bytes (web-download's URL)."""

OpenSession = Callable[[ProjectRef], CloudSession]


def check_method(asked: str) -> str:
    """*asked* if it is a method name; ValueError naming the choices otherwise."""
    if asked not in CHOICES:
        raise ValueError(f"unknown transfer method {asked!r} (one of {', '.join(CHOICES)})")
    return asked


DISCOVERY_WAIT = 10.0
"""Seconds a plan waits for the clouds to say which imports they allow (all are asked at
once): one that has not answered by then is streamed to under ``auto`` — a hung Glance
must not hold the review for the whole API timeout."""


class _Discovery:
    """What each end said, asked once per column, every column at once (sessions closed
    at the end)."""

    def __init__(self, open_session: OpenSession, wait: float | None = None) -> None:
        self.open_session = open_session
        self.wait = DISCOVERY_WAIT if wait is None else wait
        self.sessions: dict[ProjectRef, CloudSession] = {}
        self.infos: dict[ProjectRef, Future[ImportInfo]] = {}
        self._opening = threading.Lock()  # one keyring read at a time (it may derive a key)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="glint-discovery")
        self._deadline = time.monotonic() + self.wait

    def ask(self, refs: list[ProjectRef]) -> None:
        """Start asking each of *refs* now; ``info`` waits for them until the deadline."""
        for ref in refs:
            if ref not in self.infos:
                self.infos[ref] = self._pool.submit(lambda r=ref: self.session(r).import_info())
        self._deadline = time.monotonic() + self.wait

    def session(self, ref: ProjectRef) -> CloudSession:
        with self._opening:
            if ref not in self.sessions:
                self.sessions[ref] = self.open_session(ref)
            return self.sessions[ref]

    def info(self, ref: ProjectRef) -> ImportInfo:
        if ref not in self.infos:
            self.ask([ref])
        try:
            return self.infos[ref].result(timeout=max(0.0, self._deadline - time.monotonic()))
        except FutureTimeout:
            raise Unreachable(
                f"did not say which imports it allows within {self.wait:g} s", str(ref)
            ) from None

    def image(self, ref: ProjectRef, image_id: str, web_url: str | None) -> SourceImage:
        session = self.session(ref)
        record = session.get_image(image_id)
        members: list[str] = []
        if record.visibility == "shared":
            members = [
                m.member_id for m in session.list_members(image_id) if m.status == "accepted"
            ]
        return _source_image(record, members, web_url)

    def close(self) -> None:
        """Close every session; a question still unanswered is abandoned, not awaited."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for session in self.sessions.values():
            try:
                session.close()
            except Exception:  # noqa: S112 - closing is best effort
                continue


def _source_image(record: ImageRecord, members: list[str], web_url: str | None) -> SourceImage:
    url = web_url or record.properties.get(SOURCE_URL_PROPERTY)
    return SourceImage(
        id=record.id,
        size=int(record.size or 0),
        status=record.status,
        owner=record.owner or "",
        visibility=record.visibility,
        stores=frozenset(record.stores),
        members=frozenset(members),
        web_url=str(url) if url else None,
    )


def choose_methods(
    plan: Plan,
    open_session: OpenSession,
    asked: str = AUTO,
    *,
    source_url: str | None = None,
) -> Plan:
    """*plan* with each copy destination's method chosen (see the module docstring);
    destinations an explicit method cannot serve become refusals."""
    check_method(asked)
    copies: list[CopyAction] = []
    refusals = list(plan.refusals)
    found = _Discovery(open_session)
    try:
        ends = {t.ref for a in plan.copies for t in a.targets}
        ends |= {a.source for a in plan.copies if a.source is not None}
        found.ask(sorted(ends))
        for action in plan.copies:
            targets = []
            for target in action.targets:
                chosen = _decide(found, action, target, asked, source_url)
                if isinstance(chosen, str):
                    refusals.append(
                        Refusal("copy", action.name, action.content_key, target.ref, chosen)
                    )
                    continue
                targets.append(chosen)
            if targets:
                copies.append(replace(action, targets=tuple(targets)))
    finally:
        found.close()
    return Plan(copies, list(plan.deletes), refusals)


def _decide(
    found: _Discovery, action: CopyAction, target: CopyTarget, asked: str, url: str | None
) -> CopyTarget | str:
    """The target with its method, or the reason it is refused."""
    in_place = target.adds_store_to is not None
    if target.convert_to:  # converted on this host: only this host can send it
        if asked in (AUTO, STREAM):
            return replace(target, method=STREAM, method_note=conversion_note(target.convert_to))
        return f"--method {asked}: the image is converted to {target.convert_to} on this host"
    if asked == STREAM and not in_place:
        return replace(target, method=STREAM, method_note="asked for")
    if action.source is None or action.source_image_id is None:
        if asked in (AUTO, STREAM):
            return replace(target, method=STREAM, method_note="the source is a file here")
        return f"--method {asked}: the source is a file on this host; only stream can copy it"
    try:
        options = _verdicts(found, action, target, url)
    except GlintError as e:
        if asked == AUTO and not in_place:
            return replace(target, method=STREAM, method_note=f"cannot ask the clouds: {e}")
        return f"cannot tell whether {asked} is possible: {e}"
    if in_place:
        options = [v for v in options if v.method == COPY_IMAGE]
        if asked not in (AUTO, COPY_IMAGE):
            return (
                f"--method {asked}: the image is already here; only copy-image adds "
                f"store {target.store!r} to it"
            )
    elif asked == COPY_IMAGE:
        return (
            "--method copy-image: it only adds a store to an image already at the "
            "destination (ask for one with --store)"
        )
    else:
        options = [v for v in options if v.method != COPY_IMAGE]
    verdict = _pick(options, asked)
    if not verdict.possible:
        label = "copy-image" if in_place and asked == AUTO else f"--method {asked}"
        return f"{label}: {verdict.reason}"
    note = verdict.reason + (f"; {verdict.caveat}" if verdict.caveat else "")
    body = dict(verdict.body) if verdict.body is not None else None
    return replace(target, method=verdict.method, method_note=note, import_body=body)


def _pick(options: list[Verdict], asked: str) -> Verdict:
    if asked != AUTO:
        return choose(options, asked)
    return next((v for v in options if v.possible), options[-1])


def _verdicts(
    found: _Discovery, action: CopyAction, target: CopyTarget, url: str | None
) -> list[Verdict]:
    assert action.source is not None and action.source_image_id is not None
    dest = found.info(target.ref)
    if target.adds_store_to is not None:  # the image here is both ends
        image = found.image(target.ref, target.adds_store_to, url)
        return verdicts(dest, image, dest, target.store)
    source = found.info(action.source)
    image = found.image(action.source, action.source_image_id, url)
    return verdicts(source, image, dest, target.store)
