"""Import repositories and credentials from an existing ``clouds.yaml``.

The file is found like openstacksdk finds it (``OS_CLIENT_CONFIG_FILE``, then
``clouds.{yaml,yml,json}`` in the current directory, the user's config dir
``~/.config/openstack`` and the site dirs ``/etc/openstack``), with ``secure.yaml``
(``OS_CLIENT_SECURE_FILE`` or the same search path) merged over it. We parse it ourselves
so that only the adapter module imports openstacksdk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs
import yaml

from glint_tui.core.cloudid import normalize_url
from glint_tui.core.config import ConfigStore, validate_credential, validate_repository
from glint_tui.core.errors import CloudError, ConfigError, GlintError
from glint_tui.core.model import Credential, Repository
from glint_tui.core.secrets import SecretStore

SUFFIXES = (".yaml", ".yml", ".json")
PASSWORD_AUTH = ("password", "v3password")
APP_CREDENTIAL_AUTH = ("v3applicationcredential", "applicationcredential", "application_credential")

Verify = Callable[[Repository, Credential, str], None]


def search_dirs() -> list[Path]:
    """openstacksdk's search path, in its order."""
    dirs = platformdirs.PlatformDirs("openstack", "OpenStack", multipath=True)
    return [
        Path.cwd(),
        Path(dirs.user_config_dir),
        Path("~/.config/openstack").expanduser(),
        *[Path(p) for p in dirs.site_config_dir.split(os.pathsep)],
        Path("/etc/openstack"),
    ]


def _first_existing(stem: str, env: str) -> Path | None:
    override = os.environ.get(env)
    candidates = [Path(override).expanduser()] if override else []
    candidates += [d / f"{stem}{s}" for d in search_dirs() for s in SUFFIXES]
    return next((p for p in candidates if p.is_file()), None)


def find_clouds_yaml(explicit: str | Path | None = None) -> Path:
    """The clouds.yaml to import (``--file`` wins over the search path)."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        return path
    path = _first_existing("clouds", "OS_CLIENT_CONFIG_FILE")
    if path is None:
        looked = ", ".join(str(d) for d in search_dirs())
        raise ConfigError(
            f"no clouds.yaml found (OS_CLIENT_CONFIG_FILE is unset; looked in {looked}); "
            "name one with --file"
        )
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except (ValueError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: not valid YAML/JSON: {str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("clouds"), dict):
        raise ConfigError(f"{path}: clouds: missing (expected a 'clouds:' mapping)")
    return doc


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _normalize(d: dict[str, Any]) -> dict[str, Any]:
    """clouds.yaml accepts ``project-name`` as well as ``project_name``."""
    return {
        str(k).replace("-", "_"): (_normalize(v) if isinstance(v, dict) else v)
        for k, v in d.items()
    }


@dataclass
class CloudEntry:
    """One ``clouds:`` entry turned into glint records (or why it can't be)."""

    cloud: str
    repository: Repository | None = None
    credential: Credential | None = None
    secret: str | None = None
    problem: str | None = None


def _region(entry: dict[str, Any]) -> str | None:
    if entry.get("region_name"):
        return str(entry["region_name"])
    regions = entry.get("regions")
    if isinstance(regions, list) and regions:
        first = regions[0]
        return str(first.get("name") if isinstance(first, dict) else first)
    return None


def repository_name(cloud: str) -> str:
    """A valid glint repository name for a clouds.yaml entry name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", cloud).strip("-") or "cloud"


def _entry(cloud: str, raw: Any, where: str) -> CloudEntry:
    if not isinstance(raw, dict):
        return CloudEntry(cloud, problem=f"{where}: must be a mapping")
    e = _normalize(raw)
    auth = e.get("auth") if isinstance(e.get("auth"), dict) else {}
    auth_url = auth.get("auth_url")
    if not auth_url:
        hint = " (vendor 'profile' entries are not supported)" if e.get("profile") else ""
        return CloudEntry(cloud, problem=f"{where}.auth.auth_url: missing{hint}")
    verify = e.get("verify", True)
    try:
        repo = validate_repository(
            Repository(
                name=repository_name(cloud),
                auth_url=str(auth_url),
                description=f"imported from clouds.yaml entry {cloud}",
                region=_region(e),
                interface=str(e.get("interface") or "public"),
                ca_bundle=str(e["cacert"]) if e.get("cacert") else None,
                insecure=verify is False,
            ),
            where,
        )
    except ConfigError as err:
        return CloudEntry(cloud, problem=str(err))
    auth_type = str(e.get("auth_type") or "password").replace("-", "").lower()
    project = auth.get("project_name") or auth.get("project_id") or auth.get("tenant_name")
    user_domain = auth.get("user_domain_name") or auth.get("user_domain_id") or "Default"
    project_domain = auth.get("project_domain_name") or auth.get("project_domain_id")
    project_domain = project_domain or auth.get("domain_name") or "Default"
    if auth_type in PASSWORD_AUTH:
        username, secret, kind = auth.get("username"), auth.get("password"), "password"
        if not username:
            return CloudEntry(cloud, repo, problem=f"{where}.auth.username: missing")
        if not project:
            return CloudEntry(
                cloud, repo, problem=f"{where}.auth.project_name: missing (glint needs a project)"
            )
    elif auth_type in APP_CREDENTIAL_AUTH:
        username = auth.get("application_credential_id")
        secret, kind = auth.get("application_credential_secret"), "application_credential"
        if not username:
            return CloudEntry(
                cloud,
                repo,
                problem=f"{where}.auth.application_credential_id: missing "
                "(glint needs the id, not only the name)",
            )
        # an application credential is bound to one project; the ref needs a label for it
        project = project or repo.name
    else:
        return CloudEntry(cloud, repo, problem=f"{where}.auth_type: {auth_type} is not supported")
    try:
        cred = validate_credential(
            Credential(
                repository=repo.name,
                project=str(project),
                username=str(username),
                auth_type=kind,
                user_domain=str(user_domain),
                project_domain=str(project_domain),
            ),
            where,
        )
    except ConfigError as err:
        return CloudEntry(cloud, repo, problem=str(err))
    return CloudEntry(cloud, repo, cred, str(secret) if secret else None)


def load_clouds(file: str | Path | None = None) -> tuple[Path, list[CloudEntry]]:
    """Parse the clouds.yaml (+ secure.yaml) into entries, in file order."""
    path = find_clouds_yaml(file)
    doc = _read(path)
    secure_path = _first_existing("secure", "OS_CLIENT_SECURE_FILE")
    if secure_path is not None and secure_path.resolve() != path.resolve():
        doc = _merge(doc, _read(secure_path))
    entries = [
        _entry(str(name), raw, f"{path}: clouds.{name}") for name, raw in doc["clouds"].items()
    ]
    return path, entries


# -- importing into a profile ------------------------------------------------------------------


@dataclass
class ImportResult:
    cloud: str
    ref: str | None
    status: str  # "imported", "skipped" or "failed"
    message: str = ""


def import_entries(
    entries: list[CloudEntry],
    store: ConfigStore,
    secrets: SecretStore,
    verify: Verify | None = None,
    ask_secret: Callable[[CloudEntry], str | None] | None = None,
) -> list[ImportResult]:
    """Save each entry (after *verify* logs in, unless None). One bad entry stops nothing.

    An entry whose auth URL (and region) matches an existing repository adds its
    credential to that repository instead of creating a near-duplicate one.
    """
    results = []
    for entry in entries:
        try:
            results.append(_import_one(entry, store, secrets, verify, ask_secret))
        except GlintError as e:
            ref = str(entry.credential.ref) if entry.credential else None
            results.append(ImportResult(entry.cloud, ref, "failed", str(e)))
    return results


def _import_one(
    entry: CloudEntry,
    store: ConfigStore,
    secrets: SecretStore,
    verify: Verify | None,
    ask_secret: Callable[[CloudEntry], str | None] | None,
) -> ImportResult:
    if entry.problem or entry.repository is None or entry.credential is None:
        return ImportResult(entry.cloud, None, "failed", entry.problem or "incomplete entry")
    repo, cred = entry.repository, entry.credential
    existing = {r.name: r for r in store.repositories()}
    url = normalize_url(repo.auth_url)  # "…/v3" and "…/v3/" are one Keystone
    same = [
        r for r in existing.values() if (normalize_url(r.auth_url), r.region) == (url, repo.region)
    ]
    is_new = False
    if repo.name in existing and existing[repo.name] not in same:
        raise ConfigError(
            f"repository {repo.name} already exists with another auth URL or region; "
            "rename it or import with --name"
        )
    if repo.name in existing:
        repo = existing[repo.name]
    elif same:
        repo = same[0]
    else:
        is_new = True
    cred = replace(cred, repository=repo.name)
    if store.find_credential(cred.ref) is not None:
        return ImportResult(entry.cloud, str(cred.ref), "skipped", "already configured")
    secret = entry.secret or (ask_secret(entry) if ask_secret else None)
    if not secret:
        return ImportResult(
            entry.cloud,
            str(cred.ref),
            "failed",
            "no password/secret in clouds.yaml or secure.yaml; add it later with "
            f"`glint credentials add {cred.ref} --username {cred.username}`",
        )
    if verify is not None:
        try:
            verify(repo, cred, secret)
        except CloudError as e:
            return ImportResult(entry.cloud, str(cred.ref), "failed", f"login failed: {e}")
    if is_new:
        store.add_repository(repo)
    secrets.set(cred.secret_key, secret)
    store.add_credential(cred)
    note = f"new repository {repo.name}" if is_new else f"added to repository {repo.name}"
    return ImportResult(entry.cloud, str(cred.ref), "imported", note)
