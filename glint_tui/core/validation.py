"""What a repository, a credential and a setting may hold: checked on every load and on
every add or edit, so a bad value is refused with its file (or record) and key named.

Names and URLs end up in ``REPO:PROJECT`` refs, keyring keys, tables and log lines, so
they may not hold control or invisible characters, and have Keystone's length limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from glint_tui.core.errors import ConfigError
from glint_tui.core.importmethods import CHOICES as METHOD_CHOICES
from glint_tui.core.model import (
    AUTH_TYPES,
    AUTH_TYPES_BY_CLOUD,
    CLOUD_TYPES,
    INTERFACES,
    Credential,
    Repository,
)
from glint_tui.core.safetext import escape

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
NAME_MAX = 64  # repository names: glint's own limit, they appear in every column label
KEYSTONE_NAME_MAX = 64  # Keystone's limit for project and domain names
USER_MAX = 255  # Keystone's limit for user names (and application credential ids)
URL_MAX = 2048
TEXT_MAX = 1024  # descriptions, regions

_SECRET_KEYS = {"password", "secret", "application_credential_secret", "token"}


def check_repository_name(name: Any) -> str:
    """Names appear in ``REPO[/REGION]:PROJECT`` refs and file names: keep them plain.

    ``/`` and ``:`` are the separators of a ref, so a name holding one would not parse back.
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError("must be letters, digits, '_', '.' or '-' (no '/', ':' or spaces)")
    if len(name) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters (has {len(name)})")
    return name


def _printable(value: str) -> str:
    """Refuse control and invisible characters, naming the first one (escaped)."""
    if not value.isprintable():
        i, ch = next((i, ch) for i, ch in enumerate(value) if not ch.isprintable())
        raise ValueError(f"contains a control or invisible character ({escape(ch)} at {i})")
    return value


def check_text(value: Any, *, empty: bool = True, limit: int = TEXT_MAX) -> str:
    """A one-line string of at most *limit* characters (non-empty unless *empty*)."""
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ValueError("must be a non-empty string" if not empty else "must be a string")
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters (has {len(value)})")
    return _printable(value)


def check_url(value: Any) -> str:
    """An http(s) Keystone URL with a host, no spaces, no user:password part."""
    if not isinstance(value, str) or not value:
        raise ValueError("must be an http(s) URL")
    if len(value) > URL_MAX:
        raise ValueError(f"must be at most {URL_MAX} characters (has {len(value)})")
    if any(ch.isspace() for ch in value):
        raise ValueError("must be an http(s) URL without spaces")
    _printable(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as e:
        raise ValueError(f"must be an http(s) URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError(
            "must not hold a user name or password; credentials go to `glint credentials add`"
        )
    return value


REGION_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_region(value: Any) -> str:
    """A region name appears in ``REPO/REGION:PROJECT``: no ``/``, ``:`` or spaces."""
    if not isinstance(value, str) or not REGION_RE.match(value):
        raise ValueError("a region must be 1-64 letters, digits, '_', '.' or '-' (e.g. eu-west-1)")
    return value


def _regions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of region names")
    regions = tuple(check_region(v) for v in value)
    if len(set(regions)) != len(regions):
        raise ValueError("names a region twice")
    return regions


def _optional_url(value: Any) -> str | None:
    return None if value is None or value == "" else check_url(value)


def _optional_text(value: Any, limit: int = TEXT_MAX) -> str | None:
    if value is None or value == "":
        return None
    return check_text(value, limit=limit)


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"must be one of {', '.join(choices)} (got {escape(repr(value))})")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _ca_bundle(value: Any) -> str | None:
    value = _optional_text(value, URL_MAX)
    if value is not None and not Path(value).expanduser().is_file():
        raise ValueError(f"file {value} does not exist")
    return value


REPOSITORY_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": check_repository_name,
    "auth_url": lambda v: v if v == "" else check_url(v),  # "" for EC2 (checked per type)
    "cloud_type": lambda v: _choice(v, CLOUD_TYPES),
    "description": check_text,
    "region": _optional_text,
    "interface": lambda v: _choice(v, INTERFACES),
    "ca_bundle": _ca_bundle,
    "insecure": _bool,
    "regions": _regions,
    "endpoint_url": _optional_url,
}
CREDENTIAL_CHECKS: dict[str, Callable[[Any], Any]] = {
    "repository": check_repository_name,
    "project": lambda v: check_text(v, empty=False, limit=KEYSTONE_NAME_MAX),
    "username": lambda v: check_text(v, empty=False, limit=USER_MAX),
    "auth_type": lambda v: _choice(v, AUTH_TYPES),
    "user_domain": lambda v: check_text(v, empty=False, limit=KEYSTONE_NAME_MAX),
    "project_domain": lambda v: check_text(v, empty=False, limit=KEYSTONE_NAME_MAX),
}


def _check_method(value: Any) -> None:
    if value not in METHOD_CHOICES:
        raise ValueError(f"must be one of {', '.join(METHOD_CHOICES)}")


SETTING_CHECKS: dict[str, Callable[[Any], Any]] = {
    "home_repository": check_repository_name,
    "transfer_method": _check_method,  # how copies move by default (core.methodchoice)
    "theme": lambda v: check_text(v, empty=False, limit=64),  # the UI says if it is unknown
}


def _build(cls: type, checks: dict[str, Callable[[Any], Any]], data: Any, where: str) -> Any:
    """A validated *cls* from *data*.

    Errors read ``<file>: repositories[1].auth_url: <problem>`` for a file entry (*where*
    ends with ``]``) and ``repository 'x': auth_url: <problem>`` for a record.
    """
    sep = "." if where.endswith("]") else ": "
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be an object")
    required = {f.name for f in fields(cls) if MISSING is f.default is f.default_factory}
    for key in data:
        if key in _SECRET_KEYS:
            raise ConfigError(
                f"{where}{sep}{key}: secrets don't belong in this file; "
                "store them with `glint credentials add` (they go to the keyring)"
            )
        if key not in checks:
            raise ConfigError(
                f"{where}{sep}{escape(key)}: unknown key (known: {', '.join(checks)})"
            )
    for key in required:
        if key not in data:
            raise ConfigError(f"{where}{sep}{key}: missing")
    values = {}
    for key, value in data.items():
        try:
            values[key] = checks[key](value)
        except ValueError as e:
            raise ConfigError(f"{where}{sep}{key}: {e}") from None
    return cls(**values)


def validate_repository(repo: Repository | dict[str, Any], where: str | None = None) -> Repository:
    """Check every field of *repo* (a record or a dict from a file)."""
    data = repo.to_dict() if isinstance(repo, Repository) else repo
    name = data.get("name") if isinstance(data, dict) else None
    where = where or f"repository {escape(repr(name))}"
    built = _build(Repository, REPOSITORY_CHECKS, data, where)
    problem = _type_problem(built)
    if problem:
        key, why = problem
        sep = "." if where.endswith("]") else ": "
        raise ConfigError(f"{where}{sep}{key}: {why}")
    return built


def _type_problem(repo: Repository) -> tuple[str, str] | None:
    """(key, problem) when a field does not suit the repository's cloud type."""
    if repo.cloud_type == "ec2":
        if repo.auth_url:
            return "auth_url", "an ec2 repository has no auth URL (use endpoint_url)"
        if not repo.regions:
            return "regions", "an ec2 repository needs at least one region (--region)"
        if repo.region is not None:
            return "region", "an ec2 repository lists its regions under regions"
        return None
    if not repo.auth_url:
        return "auth_url", "must be an http(s) URL"
    if repo.regions:
        return "regions", f"only ec2 repositories have several regions, not {repo.cloud_type}"
    if repo.endpoint_url is not None:
        return "endpoint_url", "only ec2 repositories take an endpoint URL (use auth_url)"
    return None


def check_auth_type(cred: Credential, repo: Repository) -> None:
    """A credential's auth type must be one its repository's cloud type knows."""
    allowed = AUTH_TYPES_BY_CLOUD.get(repo.cloud_type, ())
    if cred.auth_type not in allowed:
        raise ConfigError(
            f"credential {escape(str(cred.ref))}: auth_type: {cred.auth_type} is not for "
            f"{repo.cloud_type} repositories (use {' or '.join(allowed)})"
        )


def validate_credential(cred: Credential | dict[str, Any], where: str | None = None) -> Credential:
    data = cred.to_dict() if isinstance(cred, Credential) else cred
    if where is None and isinstance(data, dict):
        where = escape(f"credential {data.get('repository')}:{data.get('project')}")
    return _build(Credential, CREDENTIAL_CHECKS, data, where or "credential")


def validate_settings(settings: dict[str, Any], where: str) -> dict[str, Any]:
    """Check the settings glint knows; keys it does not know are kept as they are."""
    for key, check in SETTING_CHECKS.items():
        if key in settings and settings[key] is not None:
            try:
                check(settings[key])
            except ValueError as e:
                raise ConfigError(f"{where}.{key}: {e}") from None
    return settings
