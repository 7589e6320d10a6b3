"""The ``to:`` list: which matrix columns an entry is kept in.

A pattern is ``REPO:PROJECT``, ``REPO/REGION:PROJECT``, ``REPO:*`` (every project of the
repository glint has credentials for), or ``*`` (every column). Without a region a
pattern means every region glint lists for the repository.

``ProjectRef.parse`` on main knows no region yet (another branch adds one), and it has no
wildcards, so the text is parsed here, in ``parse_column`` only; matching reads a ref's
``region`` when it has one. When ``ProjectRef`` gains ``region``, nothing here changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from glint_tui.core.model import ProjectRef
from glint_tui.core.validation import KEYSTONE_NAME_MAX, check_repository_name

WILDCARD = "*"


@dataclass(frozen=True)
class ColumnPattern:
    """A ``to:`` item. ``None`` fields match anything."""

    repository: str | None
    project: str | None
    region: str | None = None

    def __str__(self) -> str:
        if self.repository is None:
            return WILDCARD
        where = self.repository if self.region is None else f"{self.repository}/{self.region}"
        return f"{where}:{self.project or WILDCARD}"

    def matches(self, ref: ProjectRef) -> bool:
        region = getattr(ref, "region", None)
        return (
            (self.repository is None or ref.repository == self.repository)
            and (self.project is None or ref.project == self.project)
            and (self.region is None or region == self.region)
        )


def parse_column(text: object) -> ColumnPattern:
    """``REPO[/REGION]:PROJECT``, ``REPO[/REGION]:*`` or ``*``; ValueError naming the form."""
    form = "REPO:PROJECT, REPO/REGION:PROJECT, REPO:* or *"
    if not isinstance(text, str):
        raise ValueError(f"must be a string: {form}")
    if text == WILDCARD:
        return ColumnPattern(None, None)
    where, sep, project = text.partition(":")
    repo, slash, region = where.partition("/")
    if not sep or not repo or not project or (slash and not region) or not text.isprintable():
        raise ValueError(f"expected {form}, got {text!r}")
    try:
        check_repository_name(repo)
    except ValueError as e:
        raise ValueError(f"repository {repo!r} {e}") from None
    if len(project) > KEYSTONE_NAME_MAX:
        raise ValueError(f"project names have at most {KEYSTONE_NAME_MAX} characters")
    return ColumnPattern(repo, None if project == WILDCARD else project, region or None)


def expand(
    patterns: Iterable[ColumnPattern], columns: Iterable[ProjectRef]
) -> tuple[list[ProjectRef], list[ColumnPattern]]:
    """(the columns the patterns select, sorted; the patterns that select none)."""
    columns = sorted(set(columns))
    chosen: set[ProjectRef] = set()
    unmatched: list[ColumnPattern] = []
    for pattern in patterns:
        hits = [c for c in columns if pattern.matches(c)]
        if not hits:
            unmatched.append(pattern)
        chosen.update(hits)
    return sorted(chosen), unmatched
