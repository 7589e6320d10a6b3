"""Reading an operator's YAML without a traceback, and remembering where each value was.

A catalog is hand-written: it may be too large, not UTF-8, not YAML, hold a tag that
builds Python objects, repeat a key (PyYAML silently keeps the last), nest thousands of
levels, or hide an alias "bomb" whose few lines expand to billions of nodes. Each of these
becomes one ``ConfigError`` line naming the file (and the line). Anchors and merge keys
(``<<: *defaults``) stay usable: only the *expanded* size is capped.

Mappings and sequences come back as ``YamlMap``/``YamlList`` (a dict and a list) that
know their line numbers, so validation errors can say ``(line 12)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from glint_tui.core.errors import ConfigError

MAX_BYTES = 1 << 20
"""Largest catalog read: hundreds of entries are ~100 KiB; a guard against a device."""

MAX_NODES = 100_000
"""Most nodes a document may expand to once every alias is followed."""

MAX_DEPTH = 32
"""Deepest nesting accepted: a catalog is at most five levels deep."""

_MERGE = "tag:yaml.org,2002:merge"


class YamlMap(dict):
    """A mapping from the file: ``line`` of its start, ``lines[key]`` of each key."""

    line: int | None = None
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int | None:
        return getattr(self, "lines", {}).get(key, self.line)


class YamlList(list):
    """A sequence from the file: ``line`` of its start, ``lines[i]`` of each item."""

    line: int | None = None
    lines: list[int]

    def line_of(self, index: int) -> int | None:
        lines = getattr(self, "lines", [])
        return lines[index] if 0 <= index < len(lines) else self.line


def line_of(container: Any, key: Any) -> int | None:
    """The line of *key* in *container* when it came from the file, else None."""
    finder = getattr(container, "line_of", None)
    return finder(key) if finder else None


class _Loader(yaml.SafeLoader):
    """SafeLoader (no Python objects) whose mappings and sequences keep line numbers and
    whose mappings refuse a key written twice."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> YamlMap:
    explicit = [k for k, _ in node.value if k.tag != _MERGE]
    seen: dict[Any, int] = {}
    for key_node in explicit:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (lines {seen[key]} and {line})",
                    key_node.start_mark,
                )
            seen[key] = line
        except TypeError:  # an unhashable key (a list or a mapping)
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark
            ) from None
    loader.flatten_mapping(node)  # merge keys: merged pairs first, explicit ones override
    out = YamlMap()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> YamlList:
    out = YamlList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Refuse a document that refers to itself, nests too deep, or expands too far.

    Iterative (no recursion), each distinct node visited once: sizes are memoized, so an
    alias bomb is measured in microseconds without ever being expanded."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    while stack:
        node, done, depth = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] > MAX_NODES:
                raise ConfigError(
                    f"{where}: expands to more than {MAX_NODES} values through its aliases"
                    f" (line {node.start_mark.line + 1})"
                )
            continue
        if key in size:
            continue
        at = f"(line {node.start_mark.line + 1})"
        if key in on_path:
            raise ConfigError(f"{where}: an alias refers to itself {at}")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: nested more than {MAX_DEPTH} levels deep {at}")
        on_path.add(key)
        stack.append((node, True, depth))
        stack.extend((c, False, depth + 1) for c in _children(node) if id(c) not in size)


def _yaml_error(where: str, e: yaml.YAMLError) -> ConfigError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return ConfigError(f"{where}: not valid YAML: {problem}{at}")


def parse_yaml(data: bytes, where: str) -> Any:
    """The one document in *data*; a ConfigError starting with *where* if it is unusable."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{where}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})"
        ) from None
    loader = None
    try:
        loader = _Loader(text)  # the reader refuses control characters right here
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise _yaml_error(where, e) from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path) -> Any:
    """The YAML document in *path*; one ConfigError line naming it on any problem."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a catalog file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES >> 20} MiB: not a catalog")
    return parse_yaml(data, str(path))
