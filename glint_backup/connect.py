"""Log in as the backup admin: config (+ optional clouds.yaml entry) -> a CloudSession."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from glint_backup import password
from glint_backup.config import BackupConfig, normalise_auth_url
from glint_backup.errors import AuthFailed, BackupConfigError
from glint_tui.core.errors import AuthenticationFailed, ProjectNotFound
from glint_tui.core.model import Credential, Repository
from glint_tui.core.timeouts import Timeouts

REPOSITORY_NAME = "glint-backup"
# A Keystone or Glance that accepts connections and never answers must end the run, and
# free its lock, within about a minute: the login gets a short read timeout, other calls a
# longer one, and a download fails once its stream made no progress for ``stream`` seconds
# (a pause between two reads, not a limit on the whole transfer).
BACKUP_TIMEOUTS = Timeouts(connect=10.0, auth=20.0, api=60.0, stream=120.0)


def clouds_yaml_files() -> list[Path]:
    """Where openstacksdk looks for clouds.yaml, in its order."""
    files = []
    if os.environ.get("OS_CLIENT_CONFIG_FILE"):
        files.append(Path(os.environ["OS_CLIENT_CONFIG_FILE"]))
    files += [
        Path.cwd() / "clouds.yaml",
        Path.home() / ".config" / "openstack" / "clouds.yaml",
        Path("/etc/openstack/clouds.yaml"),
    ]
    return files


def clouds_yaml_entry(name: str) -> dict[str, Any]:
    import yaml  # only needed for glint_backup_cloud; PyYAML comes with openstacksdk

    for f in clouds_yaml_files():
        if not f.is_file():
            continue
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise BackupConfigError(f"{f}: cannot read clouds.yaml ({type(e).__name__})") from None
        entry = (doc.get("clouds") or {}).get(name)
        if entry is not None:
            return entry
    raise BackupConfigError(f"glint_backup_cloud: no cloud {name!r} in any clouds.yaml")


def session_parts(config: BackupConfig) -> tuple[Repository, Credential, str | None]:
    """Repository, Credential and a clouds.yaml password (if any) — no network."""
    auth_url, user, project = config.auth_url, config.username, config.project
    user_domain, project_domain = config.user_domain, config.project_domain
    region, ca_bundle, yaml_password = config.region, config.ca_bundle, None
    if config.cloud:
        entry = clouds_yaml_entry(config.cloud)
        auth = entry.get("auth") or {}
        auth_url = auth_url or (
            normalise_auth_url(auth["auth_url"]) if "auth_url" in auth else None
        )
        user = user or auth.get("username")
        project = project or auth.get("project_name")
        user_domain = auth.get("user_domain_name", user_domain)
        project_domain = auth.get("project_domain_name", project_domain)
        region = region or entry.get("region_name")
        ca_bundle = ca_bundle or entry.get("cacert")
        yaml_password = auth.get("password")
    missing = [
        k
        for k, v in (
            ("glint_backup_auth_URL", auth_url),
            ("glint_backup_admin_user", user),
            ("glint_backup_admin_tenant", project),
        )
        if not v
    ]
    if missing:
        raise BackupConfigError(f"{config.source}: missing {', '.join(missing)}")
    repo = Repository(name=REPOSITORY_NAME, auth_url=auth_url, region=region, ca_bundle=ca_bundle)
    cred = Credential(
        REPOSITORY_NAME, project, user, user_domain=user_domain, project_domain=project_domain
    )
    return repo, cred, yaml_password


def open_admin_session(
    config: BackupConfig,
    project: str | None = None,
    images: bool = True,
    secret: str | None = None,
):
    """Resolve the password, open the session and log in now (AuthFailed -> exit 6).

    *project* scopes the login to another project than the configured one (a non-admin
    account covering several projects logs in to each). *images* False skips the check
    that the catalog has a reachable image service (a session only for Swift). *secret*
    is a password to try instead of the configured one (``set-password``).
    """
    from glint_tui.core.clouds import open_session

    repo, cred, yaml_password = session_parts(config)
    if project:
        cred = dataclasses.replace(cred, project=project)
    if secret is None:
        secret = password.resolve(config, yaml_password)
    session = open_session(repo, cred, secret, timeouts=BACKUP_TIMEOUTS)
    del secret
    return _logged_in(session, f"{cred.username}@{repo.auth_url}", images)


def open_application_credential_session(config: BackupConfig, cred_id: str, secret: str):
    """Log in with an application credential of this run (``project_views``) on the
    backup's own Keystone; the credential is bound to its project."""
    from glint_tui.core.clouds import open_session

    repo, cred, _ = session_parts(config)
    cred = dataclasses.replace(cred, username=cred_id, auth_type="application_credential")
    session = open_session(repo, cred, secret, timeouts=BACKUP_TIMEOUTS)
    return _logged_in(session, f"application credential {cred_id}", images=False)


def open_cloud_session(name: str):  # -> CloudSession
    """Log in with a clouds.yaml entry alone (``glint_backup_repository_cloud``), for Swift."""
    from glint_tui.core.clouds import open_session

    entry = clouds_yaml_entry(name)
    auth = entry.get("auth") or {}
    missing = [k for k in ("auth_url", "username", "password", "project_name") if k not in auth]
    if missing:
        raise BackupConfigError(
            f"glint_backup_repository_cloud: cloud {name!r} lacks {', '.join(missing)}"
        )
    repo = Repository(
        name=f"{REPOSITORY_NAME}-{name}",
        auth_url=normalise_auth_url(auth["auth_url"]),
        region=entry.get("region_name"),
        ca_bundle=entry.get("cacert"),
    )
    cred = Credential(
        repo.name, auth["project_name"], auth["username"],
        user_domain=auth.get("user_domain_name", "Default"),
        project_domain=auth.get("project_domain_name", "Default"),
    )  # fmt: skip
    session = open_session(repo, cred, auth["password"], timeouts=BACKUP_TIMEOUTS)
    return _logged_in(session, f"cloud {name!r}", images=False)


def _logged_in(session, who: str, images: bool):
    """Log in now (the session's timeouts are BACKUP_TIMEOUTS: a hung Keystone ends it)."""
    try:
        if images:
            session.check()
        else:
            session.project_id  # noqa: B018 - logs in
    except (AuthenticationFailed, ProjectNotFound) as e:
        session.close()
        raise AuthFailed(f"authentication failed for {who}: {e}") from None
    except BaseException:
        session.close()
        raise
    return session
