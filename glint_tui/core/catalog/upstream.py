"""An entry -> the versions upstream offers, newest first, each with URL and checksum.

* ``source: {checksums_url, pattern}``: the checksum file is read (once per URL, however
  many entries share it); every file whose name the pattern matches in full is a version,
  named by the pattern's ``version`` group;
* ``source: {url, checksum, version}``: that one version;
* ``versions: [...]``: the versions listed (no network).

A failure is kept in the ``Resolution`` (``error``), never raised: the planner then plans
nothing for that entry — above all it retires nothing, since it cannot tell what is newest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin

from glint_tui.core.catalog.checksums import parse_checksums
from glint_tui.core.catalog.entries import (
    VERSION_RE,
    Checksum,
    ChecksumsSource,
    Entry,
    ExplicitVersion,
    FileSource,
)
from glint_tui.core.catalog.versions import version_key
from glint_tui.core.catalog.web import UpstreamError, get_text
from glint_tui.core.safetext import escape

GetText = Callable[[str], str]


UpstreamVersion = ExplicitVersion
"""One version of an entry as upstream offers it: the same facts an explicit version
states (version, url, checksum, size)."""


@dataclass(frozen=True)
class Resolution:
    """What upstream offers for one entry: ``versions`` newest first, or an ``error``."""

    entry: str
    versions: tuple[UpstreamVersion, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def get(self, version: str) -> UpstreamVersion | None:
        return next((v for v in self.versions if v.version == version), None)


def checksum_version(checksum: Checksum) -> str:
    """The version of a file whose name has none: the first 12 hex digits of its digest."""
    return checksum.hex[:12]


def _newest_first(versions: Iterable[UpstreamVersion]) -> tuple[UpstreamVersion, ...]:
    return tuple(sorted(versions, key=lambda v: version_key(v.version), reverse=True))


def versions_in(text: str, source: ChecksumsSource) -> tuple[UpstreamVersion, ...]:
    """The versions a checksum file's *text* lists for *source* (UpstreamError if none)."""
    where = source.checksums_url
    base = source.base_url or where
    if source.base_url and not base.endswith("/"):
        base += "/"
    found: dict[str, list[tuple[str, Checksum]]] = {}
    for name, checksum in parse_checksums(text).items():
        match = source.pattern.fullmatch(name)
        if not match:
            continue
        version = match["version"] if source.versioned else checksum_version(checksum)
        if not version or not VERSION_RE.match(version):
            raise UpstreamError(
                f"the pattern takes {escape(repr(version))} as the version of {escape(name)}: "
                "not a plain version (letters, digits, . _ + ~ -)",
                where,
            )
        found.setdefault(version, []).append((name, checksum))
    if not found:
        raise UpstreamError(
            f"no file listed there matches the pattern {escape(source.pattern.pattern)!r}", where
        )
    names = sorted(escape(n) for files in found.values() for n, _ in files)
    if not source.versioned and len(names) > 1:
        raise UpstreamError(
            f"the pattern matches several files ({', '.join(names)}): give it a "
            "(?P<version>…) group",
            where,
        )
    out = []
    for version, files in found.items():
        if len(files) > 1:
            names = sorted(escape(n) for n, _ in files)
            raise UpstreamError(
                f"the pattern matches several files for version {version}: {', '.join(names)}",
                where,
            )
        name, checksum = files[0]
        out.append(UpstreamVersion(version, urljoin(base, name), checksum))
    return _newest_first(out)


def resolve(entry: Entry, get: GetText = get_text) -> Resolution:
    """What upstream offers for *entry*; *get* reads a URL's text (``web.get_text``)."""
    try:
        if entry.versions is not None:
            return Resolution(entry.name, _newest_first(entry.versions))
        source = entry.source
        if isinstance(source, FileSource):
            one = UpstreamVersion(source.version, source.url, source.checksum)
            return Resolution(entry.name, (one,))
        assert isinstance(source, ChecksumsSource)
        return Resolution(entry.name, versions_in(get(source.checksums_url), source))
    except UpstreamError as e:
        return Resolution(entry.name, error=str(e))


def resolve_all(
    entries: Iterable[Entry], get: GetText = get_text, *, max_workers: int = 8
) -> dict[str, Resolution]:
    """Every entry resolved, checksum files read concurrently and once per URL."""
    entries = list(entries)
    urls = sorted(
        {e.source.checksums_url for e in entries if isinstance(e.source, ChecksumsSource)}
    )
    texts: dict[str, str | UpstreamError] = {}

    def read(url: str) -> None:
        try:
            texts[url] = get(url)
        except UpstreamError as e:
            texts[url] = e

    if urls:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(urls)))) as pool:
            list(pool.map(read, urls))

    def cached(url: str) -> str:
        text = texts[url]
        if isinstance(text, UpstreamError):
            raise text
        return text

    return {e.name: resolve(e, cached) for e in entries}
