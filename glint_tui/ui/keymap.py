"""The operator's own keys: ``keymap.json`` in glint's config directory maps binding ids
(the ids the help screen lists, e.g. ``matrix.toggle``) to keys, and Textual's
``App.set_keymap`` applies it, so the footer, the help and the palette show those keys::

    {"matrix.toggle": "t", "matrix.apply": "A,ctrl+a", "app.quit": "ctrl+q"}

The file is checked before the UI opens; every problem is one line naming the file and
the binding id (a ConfigError, exit 2): not a JSON object, an id no screen has, a key
name Textual does not know, or two bindings of one screen on the same key.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import unicodedata
from pathlib import Path

from textual.binding import Binding
from textual.keys import REPLACED_KEYS, Keys, _normalize_key_list

from glint_tui.core.errors import ConfigError
from glint_tui.core.jsonfile import read_json
from glint_tui.core.safetext import escape

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
NAMED_KEYS = frozenset(
    {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")}
    | set(REPLACED_KEYS)
) - {"ctrl-at"}
EXAMPLES = "t, T, ctrl+t, f5, space, enter, question_mark"


def glint_bindings() -> dict[str, Binding]:
    """Every binding with an id that glint's UI declares (found, not listed)."""
    import glint_tui.ui

    found: dict[str, Binding] = {}
    for info in pkgutil.walk_packages(glint_tui.ui.__path__, "glint_tui.ui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and "BINDINGS" in vars(cls):
                for b in vars(cls)["BINDINGS"]:
                    if isinstance(b, Binding) and b.id:
                        found[b.id] = b
    return found


def key_is_known(key: str) -> bool:
    """``t``, ``T``, ``ctrl+t``, ``f5``, ``space``, ``question_mark``: a key Textual
    reports. A single printable character, a named key, or a character's Unicode name."""
    *modifiers, name = key.split("+")
    if not name or any(m not in MODIFIERS for m in modifiers):
        return False
    if len(name) == 1:
        return name.isprintable() and not name.isspace()
    if name in NAMED_KEYS:
        return True
    try:
        return len(unicodedata.lookup(name.replace("_", " "))) == 1
    except KeyError:
        return False


def _area(binding_id: str) -> str:
    """A binding id's screen: ``matrix`` for ``matrix.toggle`` (and the matrix widget's
    ``matrix.up``): bindings of one area are active together, and the app's (``app.``)
    on every screen."""
    return binding_id.split(".", 1)[0]


def _clash(keys: dict[str, list[str]], changed: dict[str, str]) -> tuple[str, str, str] | None:
    """The first (key, changed id, other id) where the keymap puts a key on two bindings
    active at once. glint's own defaults may shadow an app key on purpose (``q`` closes
    the help instead of quitting), so only clashes the keymap makes count."""
    for binding_id in changed:
        for key in keys[binding_id]:
            for other, other_keys in keys.items():
                together = _area(other) in (_area(binding_id), "app") or _area(binding_id) == "app"
                if other != binding_id and together and key in other_keys:
                    return key, binding_id, other
    return None


def check_keymap(
    data: object, where: str, bindings: dict[str, Binding] | None = None
) -> dict[str, str]:
    """*data* (the parsed file) as a keymap for ``App.set_keymap``, or a ConfigError."""
    bindings = glint_bindings() if bindings is None else bindings
    if not isinstance(data, dict):
        raise ConfigError(
            f'{where}: must be a JSON object of binding ids and keys, e.g. {{"matrix.toggle": "t"}}'
        )
    keymap: dict[str, str] = {}
    for binding_id, value in data.items():
        shown = escape(repr(binding_id))
        if binding_id not in bindings:
            close = difflib.get_close_matches(binding_id, list(bindings), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"{where}: {shown}: no such binding id{hint}; the help (?) lists them"
            )
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f'{where}: {binding_id}: keys must be a string, e.g. "t" or "ctrl+t,f5"'
            )
        keys = [k.strip() for k in value.split(",")]
        for key in keys:
            if not key_is_known(key):
                raise ConfigError(
                    f"{where}: {binding_id}: {escape(repr(key))} is not a key name "
                    f"(examples: {EXAMPLES})"
                )
        keymap[binding_id] = ",".join(keys)
    effective = {
        binding_id: _normalize_key_list(keymap.get(binding_id, b.key)).split(",")
        for binding_id, b in bindings.items()
    }
    clash = _clash(effective, keymap)
    if clash:
        key, culprit, other = clash
        typed = dict(zip(effective[culprit], keymap[culprit].split(","), strict=True))
        raise ConfigError(
            f"{where}: {culprit}: {typed[key]!r} is already the key of {other} "
            f"(give {other} another key too, or choose another)"
        )
    return keymap


def load_keymap(path: Path, bindings: dict[str, Binding] | None = None) -> dict[str, str]:
    """The operator's keymap file (an empty keymap when there is none)."""
    data = read_json(path, default=None)
    return {} if data is None else check_keymap(data, str(path), bindings)
