"""The catalog file -> a validated ``Catalog``, or one line per problem.

Every problem names the file, the entry (``images[2] (debian-12)``) and the key, with the
line it is on — one line each, all of them at once, so an operator fixes a file in one
pass. The whole is one ``ConfigError`` (exit 2); nothing downstream runs on a file with a
problem. ``defaults:`` holds keys every entry gets unless it sets them itself
(``properties`` are merged key by key).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from glint_tui.core.catalog.entries import CONVERTIBLE, Catalog, Entry
from glint_tui.core.catalog.fields import CHECKS, ENTRY_KEYS, SHORTCUTS, Bad, join_key
from glint_tui.core.catalog.yamlsafe import line_of, read_yaml
from glint_tui.core.errors import ConfigError
from glint_tui.core.safetext import escape

TOP_KEYS = ("images", "defaults")
REQUIRED = ("name", "disk_format", "to")
MAX_PROBLEMS = 20
HINTS = {
    "protected": "glint never makes catalog images protected: retirement could never "
    "remove them (protect one by hand and glint leaves it alone)",
    "checksum": "put it inside source: or inside each item of versions:",
    "url": "put it inside source: or inside each item of versions:",
    "image": "the top-level key is images:",
}


class _Problems:
    """Problem lines in file order, each ``FILE: PLACE: KEY: message (line N)``."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.lines: list[str] = []

    def add(self, place: str, key: str | None, message: str, line: int | None) -> None:
        text = f"{self.where}: {place}" + (f": {key}" if key else "") + f": {message}"
        text += f" (line {line})" if line else ""
        if text not in self.lines:
            self.lines.append(text)

    def raise_if_any(self) -> None:
        if not self.lines:
            return
        shown = self.lines[:MAX_PROBLEMS]
        if len(self.lines) > MAX_PROBLEMS:
            shown.append(f"{self.where}: … and {len(self.lines) - MAX_PROBLEMS} more problems")
        raise ConfigError("\n".join(shown))


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate the catalog at *path* (ConfigError, exit 2, on any problem)."""
    return build_catalog(read_yaml(Path(path)), str(path))


def build_catalog(doc: Any, where: str) -> Catalog:
    """Validate a parsed document; *where* names it in messages."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: must be a mapping with an images: list (docs/catalog.md)")
    problems = _Problems(where)
    for key in doc:
        if key not in TOP_KEYS:
            problems.add(escape(str(key)), None, _unknown(key, TOP_KEYS), line_of(doc, key))
    defaults = _defaults(doc.get("defaults"), problems, line_of(doc, "defaults"))
    images = doc.get("images")
    if not isinstance(images, list) or not images:
        problems.add("images", None, "must be a non-empty list of entries", line_of(doc, "images"))
        images = []
    entries: list[Entry] = []
    first_line: dict[str, int | None] = {}
    for index, raw in enumerate(images):
        entry = _entry(raw, defaults, index, problems, line_of(images, index))
        if entry is None:
            continue
        if entry.name in first_line:
            problems.add(
                _place(index, entry.name),
                "name",
                f"{entry.name!r} is already the name of an earlier entry (line "
                f"{first_line[entry.name]}): each entry is one image",
                entry.line,
            )
            continue
        first_line[entry.name] = entry.line
        entries.append(entry)
    problems.raise_if_any()
    return Catalog(where, tuple(entries))


def _unknown(key: Any, known: tuple[str, ...]) -> str:
    hint = HINTS.get(str(key))
    if hint:
        return f"unknown key: {hint}"
    close = difflib.get_close_matches(str(key), known, n=1)
    return "unknown key" + (f" (did you mean {close[0]}?)" if close else "")


def _place(index: int, name: Any) -> str:
    return f"images[{index}]" + (f" ({escape(name)})" if isinstance(name, str) else "")


def _values(raw: dict, place: str, problems: _Problems) -> dict[str, Any]:
    """Every key of *raw* checked; problems added, good values returned."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in CHECKS:
            problems.add(place, escape(str(key)), _unknown(key, ENTRY_KEYS), line_of(raw, key))
            continue
        try:
            values[key] = CHECKS[key](value)
        except Bad as e:
            for one in e.all():
                problems.add(place, join_key(key, one.key), str(one), one.line or line_of(raw, key))
    return values


def _defaults(raw: Any, problems: _Problems, line: int | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add("defaults", None, "must be a mapping of entry keys", line)
        return {}
    if "name" in raw:
        problems.add("defaults", "name", "each entry names itself", line_of(raw, "name"))
        raw = {k: v for k, v in raw.items() if k != "name"}
    return _values(raw, "defaults", problems)


def _entry(
    raw: Any, defaults: dict[str, Any], index: int, problems: _Problems, line: int | None
) -> Entry | None:
    if not isinstance(raw, dict):
        problems.add(_place(index, None), None, "must be a mapping (name:, disk_format:, …)", line)
        return None
    place = _place(index, raw.get("name"))
    before = len(problems.lines)
    own = _values(raw, place, problems)
    for key in REQUIRED:
        if key not in own and key not in defaults and key not in raw:
            problems.add(place, key, "missing", line)
    if len(problems.lines) > before:
        return None
    values = {**defaults, **own}
    values["properties"] = {**defaults.get("properties", {}), **own.get("properties", {})}
    _cross_checks(values, raw, place, problems)
    if len(problems.lines) > before:
        return None
    for key in SHORTCUTS:
        if key in values:
            values["properties"][key] = values.pop(key)
    return Entry(
        name=values["name"],
        disk_format=values["disk_format"],
        to=values["to"],
        source=values.get("source"),
        versions=values.get("versions"),
        container_format=values.get("container_format", "bare"),
        keep=values.get("keep", 2),
        retire=values.get("retire", "hide"),
        delete_after_days=values.get("delete_after_days"),
        visibility=values.get("visibility", "shared"),
        share_with=values.get("share_with", ()),
        convert_to=dict(values.get("convert_to", {})),
        min_disk=values.get("min_disk", 0),
        min_ram=values.get("min_ram", 0),
        properties=values["properties"],
        tags=values.get("tags", ()),
        line=line,
    )


def _cross_checks(values: dict[str, Any], raw: dict, place: str, problems: _Problems) -> None:
    """Rules between keys; each problem is reported on the key that has to change."""

    def bad(key: str, message: str) -> None:
        problems.add(place, key, message, line_of(raw, key) or getattr(raw, "line", None))

    listed = values.get("versions") is not None
    if listed and "source" in values:
        bad("source", "not used with a versions: list (each version has its url and checksum)")
    if not listed and "source" not in values:
        bad("source", "missing (versions: latest reads the versions from source:)")
    retire = values.get("retire", "hide")
    if values.get("delete_after_days") is not None and retire == "delete":
        bad("delete_after_days", "only with retire: hide or deactivate (delete deletes at once)")
    if values.get("share_with") and values.get("visibility", "shared") != "shared":
        bad("share_with", "needs visibility: shared (only shared images have members)")
    disk_format = values["disk_format"]
    converts = {f for f in values.get("convert_to", {}).values() if f != disk_format}
    if converts and disk_format not in CONVERTIBLE:
        bad("convert_to", f"qemu-img cannot convert {disk_format} images")
    for key in SHORTCUTS:
        prop = values["properties"].get(key)
        if key in values and prop is not None and prop != values[key]:
            bad(key, f"differs from properties.{key} ({escape(repr(prop))}): keep one")
