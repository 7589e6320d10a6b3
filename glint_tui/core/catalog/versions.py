"""Which version is newer: the order operators expect of dates and semver-ish strings.

``20261120`` > ``20261101``; ``12.10`` > ``12.9`` (numbers compare as numbers);
``1.0`` > ``1.0rc2`` > ``1.0rc1`` > ``1.0beta`` (pre-release words sort below the
release); ``1.0.1`` > ``1.0``; ``20261120-2`` > ``20261120-1``. Letters compare
case-insensitively. The key is total: any two strings compare, never raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\d+|[A-Za-z]+")
PRE_RELEASE = frozenset({"alpha", "beta", "rc", "pre", "preview", "dev", "a", "b", "c"})

_PRE, _END, _WORD, _NUMBER = 0, 1, 2, 3
"""Token ranks. ``_END`` closes every key, so ``1.0`` (ends) > ``1.0rc1`` (pre-release
word next) but < ``1.0.1`` (a number next) and < ``1.0-ubuntu`` (a word next)."""


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for *version*; larger is newer."""
    key: list[tuple[int, int | str]] = []
    for token in _TOKEN.findall(version):
        if token.isdigit():
            key.append((_NUMBER, int(token)))
        else:
            word = token.lower()
            key.append((_PRE if word in PRE_RELEASE else _WORD, word))
    key.append((_END, ""))
    # ties ("1.0" vs "1-0", "01" vs "1"): the text itself, so the order is total
    key.append((_END, version))
    return tuple(key)


def newest_first(versions: Iterable[str]) -> list[str]:
    """*versions* (each once), newest first."""
    return sorted(set(versions), key=version_key, reverse=True)
