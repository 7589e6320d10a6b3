"""What each key of a catalog entry may hold: one check per key, raising ``Bad``.

``loader`` runs these and turns each ``Bad`` into a line naming file, entry, key and line.
YAML reads ``12.10`` as the number 12.1, ``2026-11-20`` as a date and ``no`` as false;
wherever glint wants text it refuses those with a hint to quote the value rather than
guessing what was meant (``os_version: 12`` is the one safe case: a whole number).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from glint_tui.core.catalog.columns import ColumnPattern, parse_column
from glint_tui.core.catalog.entries import (
    CONTAINER_FORMATS,
    CONVERTIBLE,
    DISK_FORMATS,
    RETIRE_MODES,
    VERSION_RE,
    Checksum,
    ChecksumsSource,
    ExplicitVersion,
    FileSource,
)
from glint_tui.core.catalog.naming import RESERVED_PROPERTIES, is_glint_property
from glint_tui.core.catalog.yamlsafe import line_of
from glint_tui.core.model import VISIBILITIES
from glint_tui.core.safetext import escape
from glint_tui.core.validation import (
    KEYSTONE_NAME_MAX,
    URL_MAX,
    check_repository_name,
    check_url,
)

NAME_MAX = 200  # leaves room in Glance's 255 for " (<version>, <format>)"
TEXT_MAX = 255  # Glance's limit for tags and property keys
SHORTCUTS = ("architecture", "os_distro", "os_version")
"""Top-level keys that are Glance properties operators set on every image."""

ENTRY_KEYS = (
    "name",
    "disk_format",
    "container_format",
    "source",
    "versions",
    "keep",
    "retire",
    "delete_after_days",
    "to",
    "visibility",
    "share_with",
    "convert_to",
    "min_disk",
    "min_ram",
    "properties",
    "tags",
    *SHORTCUTS,
)


class Bad(ValueError):
    """A value problem; ``key`` continues the dotted key path, ``line`` overrides the line."""

    def __init__(
        self,
        message: str,
        key: str | None = None,
        line: int | None = None,
        more: tuple[Bad, ...] = (),
    ):
        super().__init__(message)
        self.key = key
        self.line = line
        self.more = more  # further problems found in the same value (each property)

    def all(self) -> list[Bad]:
        return [self, *self.more]


# --- values ------------------------------------------------------------------------------


def _yaml_hint(value: Any) -> str:
    if isinstance(value, bool):
        return " (YAML reads yes/no/on/off/true/false as a boolean: quote it)"
    if isinstance(value, float):
        return ' (YAML read a number: quote it, e.g. "12.10", or it becomes 12.1)'
    if isinstance(value, (dt.date, dt.datetime)):
        return " (YAML read a date: quote it)"
    return ""


def _text(value: Any, *, limit: int = TEXT_MAX, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise Bad(f"must be {what}{_yaml_hint(value)}")
    if not value.strip():
        raise Bad("must not be empty")
    if len(value) > limit:
        raise Bad(f"must be at most {limit} characters (has {len(value)})")
    if not value.isprintable():
        raise Bad("contains a control or invisible character")
    return value


def _name(value: Any) -> str:
    value = _text(value, limit=NAME_MAX)
    if value != value.strip():
        raise Bad("must not start or end with a space")
    return value


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise Bad(f"must be one of {', '.join(choices)} (got {escape(repr(value))})")
    return value


def _whole(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Bad(f"must be a whole number from {low} to {high} (got {escape(repr(value))})")
    return value


def check_download_url(value: Any) -> str:
    """An http(s) URL with a host and no user:password (a catalog is no place for secrets):
    the rules of a repository's URL (``validation.check_url``)."""
    value = _text(value, limit=URL_MAX, what="an http(s) URL")
    try:
        return check_url(value)
    except ValueError as e:  # its hint about `glint credentials add` is not for mirrors
        raise Bad(str(e).split(";")[0]) from None


def _version(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad(f"must be a string{_yaml_hint(value) or ' (quote it)'}")
    if not VERSION_RE.match(value):
        raise Bad(
            "must be 1-48 letters, digits, '.', '_', '+', '~' or '-', starting with a letter "
            f"or digit (got {escape(repr(value))})"
        )
    return value


def _size(value: Any) -> int:
    return _whole(value, 1, 1 << 50)


def _checksum(value: Any) -> Checksum:
    try:
        return Checksum.parse(value)
    except ValueError as e:
        raise Bad(str(e)) from None


def _mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise Bad(f"must be a mapping ({what})")
    return value


def _only_keys(value: dict, known: tuple[str, ...]) -> None:
    for key in value:
        if key not in known:
            raise Bad(f"unknown key (known: {', '.join(known)})", str(key), line_of(value, key))


def _required(value: dict, key: str, check: Callable[[Any], Any]) -> Any:
    if key not in value:
        raise Bad("missing", key, getattr(value, "line", None))
    try:
        return check(value[key])
    except Bad as e:
        raise Bad(str(e), join_key(key, e.key), e.line or line_of(value, key)) from None


def join_key(key: str, sub: str | None) -> str:
    """``key`` + ``.sub`` or ``key[3]``: the dotted path a message names."""
    if not sub:
        return key
    return f"{key}{sub}" if sub.startswith("[") else f"{key}.{sub}"


def _source(value: Any) -> FileSource | ChecksumsSource:
    value = _mapping(value, "url + checksum + version, or checksums_url + pattern")
    if "checksums_url" in value:
        _only_keys(value, ("checksums_url", "pattern", "url"))
        base = _required(value, "url", check_download_url) if "url" in value else None
        return ChecksumsSource(
            _required(value, "checksums_url", check_download_url),
            _required(value, "pattern", _pattern),
            base,
        )
    if "url" in value:
        _only_keys(value, ("url", "checksum", "version"))
        return FileSource(
            _required(value, "url", check_download_url),
            _required(value, "checksum", _checksum),
            _required(value, "version", _version),
        )
    raise Bad("needs url + checksum + version, or checksums_url + pattern")


def _pattern(value: Any) -> re.Pattern[str]:
    value = _text(value, limit=1024)
    try:
        pattern = re.compile(value)
    except re.error as e:
        raise Bad(f"not a regular expression: {e}") from None
    return pattern  # without a version group: one file, named by its checksum (upstream)


def _versions(value: Any) -> tuple[ExplicitVersion, ...] | None:
    if value == "latest":
        return None
    if not isinstance(value, list) or not value:
        raise Bad("must be latest or a non-empty list of {version, url, checksum}")
    out: list[ExplicitVersion] = []
    for i, item in enumerate(value):
        try:
            item = _mapping(item, "version, url, checksum")
            _only_keys(item, ("version", "url", "checksum", "size"))
            version = ExplicitVersion(
                _required(item, "version", _version),
                _required(item, "url", check_download_url),
                _required(item, "checksum", _checksum),
                _required(item, "size", _size) if "size" in item else None,
            )
        except Bad as e:
            raise Bad(str(e), join_key(f"[{i}]", e.key), e.line or line_of(value, i)) from None
        if any(v.version == version.version for v in out):
            raise Bad(f"version {version.version!r} is listed twice", f"[{i}]", line_of(value, i))
        out.append(version)
    return tuple(out)


def _list_of(check: Callable[[Any], Any]) -> Callable[[Any], tuple]:
    def run(value: Any) -> tuple:
        if not isinstance(value, list):
            raise Bad("must be a list")
        out = []
        for i, item in enumerate(value):
            try:
                parsed = check(item)
            except (Bad, ValueError) as e:
                raise Bad(str(e), f"[{i}]", line_of(value, i)) from None
            if parsed not in out:
                out.append(parsed)
        return tuple(out)

    return run


def _to(value: Any) -> tuple[ColumnPattern, ...]:
    out = _list_of(parse_column)(value)
    if not out:
        raise Bad("must name at least one column (REPO:PROJECT, REPO:* or *)")
    return out


def _project(value: Any) -> str:
    return _text(value, limit=KEYSTONE_NAME_MAX, what="a project name")


def _convert_to(value: Any) -> dict[str, str]:
    value = _mapping(value, "repository: disk format")
    out = {}
    for repo, fmt in value.items():
        try:
            check_repository_name(repo)
            out[repo] = _choice(fmt, CONVERTIBLE)
        except ValueError as e:
            raise Bad(str(e), escape(str(repo)), line_of(value, repo)) from None
    return out


def _property_value(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # os_version: 12 -> "12" (a whole number reads back the same)
    return _text(value, limit=65535)


def _properties(value: Any) -> dict[str, str]:
    value = _mapping(value, "name: value")
    out, bad = {}, []
    for key, item in value.items():
        where, line = escape(str(key)), line_of(value, key)
        try:
            out[_property_name(key)] = _property_value(item)
        except Bad as e:
            bad.append(Bad(str(e), where, line))
    if bad:
        raise Bad(str(bad[0]), bad[0].key, bad[0].line, tuple(bad[1:]))
    return out


def _property_name(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > TEXT_MAX or not key.isprintable():
        raise Bad("property names must be printable text of 1-255 characters")
    if is_glint_property(key):
        raise Bad("glint_* properties are glint's own (it sets them itself)")
    if key in RESERVED_PROPERTIES or key.startswith("os_glance"):
        raise Bad(f"{key} is not a property Glance lets you set here")
    return key


CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "disk_format": lambda v: _choice(v, DISK_FORMATS),
    "container_format": lambda v: _choice(v, CONTAINER_FORMATS),
    "source": _source,
    "versions": _versions,
    "keep": lambda v: _whole(v, 1, 100),
    "retire": lambda v: _choice(v, RETIRE_MODES),
    "delete_after_days": lambda v: None if v is None else _whole(v, 0, 36500),
    "to": _to,
    "visibility": lambda v: _choice(v, VISIBILITIES),
    "share_with": _list_of(_project),
    "convert_to": _convert_to,
    "min_disk": lambda v: _whole(v, 0, 1 << 20),
    "min_ram": lambda v: _whole(v, 0, 1 << 30),
    "properties": _properties,
    "tags": _list_of(_text),
    "architecture": _text,
    "os_distro": _text,
    "os_version": _property_value,
}
assert set(CHECKS) == set(ENTRY_KEYS)
