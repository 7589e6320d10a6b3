"""The glint-backup JSON configuration: the original Glint keys plus Keystone v3 ones.

Everything is validated before any network call, and each problem names its key, so a
cron mail says exactly what to fix. An original Glint config drops in unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from glint_backup.errors import BackupConfigError
from glint_tui.core.jsonfile import BadJSON, read_json

PREFIX = "glint_backup_"
_NO_FILE: Any = object()
DEFAULT_FILE = "glint-backup.json"

# key -> (accepted JSON types, required?, help)
KEYS: dict[str, tuple[tuple[type, ...], bool, str]] = {
    "glint_backup_admin_pw_key": ((str,), False, "name of the admin password secret"),
    "glint_backup_admin_user": ((str,), False, "admin user name"),
    "glint_backup_admin_tenant": ((str,), False, "project (tenant) the admin logs in to"),
    "glint_backup_auth_URL": ((str,), False, "Keystone URL (/v2.0 and /v3 accepted)"),
    "glint_backup_dir": ((str,), False, "backup directory (a local repository)"),
    "glint_backup_repository": ((str,), False, "swift://CONTAINER[/PREFIX] or s3://BUCKET[/P]"),
    "glint_backup_repository_cloud": ((str,), False, "clouds.yaml entry for the Swift login"),
    "glint_backup_s3_endpoint": ((str,), False, "S3 endpoint URL (default: AWS)"),
    "glint_backup_s3_region": ((str,), False, "S3 region (default us-east-1)"),
    "glint_backup_s3_profile": ((str,), False, "AWS profile of the standard AWS files"),
    "glint_backup_s3_credentials_file": ((str,), False, "0600 file in AWS credentials format"),
    "glint_backup_s3_key": ((str,), False, "keyring entry holding ACCESS_KEY_ID:SECRET"),
    "glint_backup_segment_mb": ((int,), False, "Swift segment / S3 part size (MiB)"),
    "glint_backup_compression": ((str,), False, "off (default), auto or max"),
    "glint_backup_encryption": ((bool,), False, "encrypt objects and manifests"),
    "glint_backup_encryption_pw_file": ((str,), False, "0600 file with the repository password"),
    "glint_backup_encryption_pw_key": ((str,), False, "keyring entry of the repository password"),
    "glint_backup_healthcheck_url": ((str,), False, "pinged at start, success and failure"),
    "glint_backup_metrics_file": ((str,), False, "Prometheus textfile written after each run"),
    "glint_backup_hiera_config": ((str,), False, "hiera config: look the password up there"),
    "glint_backup_logfile": ((str,), False, "INFO log file (logrotate friendly)"),
    "glint_backup_testing": ((bool, str), False, "true = dry run"),
    "glint_backup_admin_user_domain": ((str,), False, "user domain (default Default)"),
    "glint_backup_admin_project_domain": ((str,), False, "project domain (default Default)"),
    "glint_backup_region": ((str,), False, "region name"),
    "glint_backup_ca_bundle": ((str,), False, "CA bundle file for TLS"),
    "glint_backup_cloud": ((str,), False, "a clouds.yaml cloud name"),
    "glint_backup_admin_pw_file": ((str,), False, "mode-0600 file holding the password"),
    "glint_backup_page_size": ((int,), False, "images per listing request"),
    "glint_backup_min_free_mb": ((int,), False, "free space kept on the backup disk (MiB)"),
    "glint_backup_projects": ((list,), False, "projects a non-admin account is meant to cover"),
    "glint_backup_members": ((str,), False, "auto (default), listings or per-image"),
}
CONNECTION_KEYS = (
    "glint_backup_auth_URL",
    "glint_backup_admin_user",
    "glint_backup_admin_tenant",
)


@dataclass(frozen=True)
class BackupConfig:
    """A validated configuration (the password is never part of it)."""

    source: Path
    backup_dir: Path | None = None
    repository: str | None = None
    repository_cloud: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_profile: str | None = None
    s3_credentials_file: Path | None = None
    s3_key: str | None = None
    segment_bytes: int = 0
    compression: str = "off"
    encryption: bool = False
    encryption_pw_file: Path | None = None
    encryption_pw_key: str | None = None
    healthcheck_url: str | None = None
    metrics_file: Path | None = None
    auth_url: str | None = None
    username: str | None = None
    project: str | None = None
    user_domain: str = "Default"
    project_domain: str = "Default"
    region: str | None = None
    ca_bundle: str | None = None
    cloud: str | None = None
    pw_key: str | None = None
    pw_file: Path | None = None
    hiera_config: str | None = None
    logfile: Path | None = None
    testing: bool = False
    page_size: int | None = None
    min_free_bytes: int = 64 << 20
    projects: tuple[str, ...] = ()
    members: str = "auto"  # how the members of shared images are read (``members``)


def default_path() -> Path:
    """``<user config dir>/glint/glint-backup.json`` (``$GLINT_HOME/config/…`` in tests)."""
    home = os.environ.get("GLINT_HOME")
    if home:
        return Path(home).expanduser() / "config" / DEFAULT_FILE
    import platformdirs

    return Path(platformdirs.user_config_dir("glint")) / DEFAULT_FILE


def _as_bool(key: str, value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    low = value.strip().lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0", ""):
        return False
    raise BackupConfigError(f'{key}: expected true/false or "True"/"False", got {value!r}')


def normalise_auth_url(url: str) -> str:
    """Keystone v3 is discovered at the base URL: strip a trailing /v2.0 (or /v3)."""
    url = url.rstrip("/")
    for suffix in ("/v2.0", "/v2", "/v3"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    return url + "/v3"


def check_auth_url(url: str) -> str | None:
    """Why *url* cannot be a Keystone URL (None when it can): scheme, host, no spaces."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        return f"not a URL ({e})"
    if parts.scheme not in ("http", "https"):
        return f"expected an http:// or https:// URL, got {url!r}"
    if not parts.hostname:
        return f"no host in {url!r}"
    return None


def check_logfile(path: Path) -> str | None:
    """Why the log file cannot be written (None when it can): checked before any work."""
    parent = path.parent
    if path.is_dir():
        return f"{path} is a directory"
    if not parent.is_dir():
        return f"directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK) and not os.access(path, os.W_OK):
        return f"directory {parent} is not writable by this user"
    return None


def _check_projects(value: list[Any]) -> str | None:
    if not value:
        return "must name at least one project"
    for item in value:
        if not isinstance(item, str) or not item.strip():
            return "expected a list of project names or ids (non-empty strings)"
        if any(ord(c) < 32 for c in item) or len(item) > 255:
            return f"not a project name or id: {item[:40]!r}"
    return None


def _repository_problems(doc: dict[str, Any]) -> list[str]:
    """Exactly one place for the repository, and settings that fit it."""
    problems = []
    where = [k for k in ("glint_backup_dir", "glint_backup_repository") if k in doc]
    if not where:
        problems.append("missing required key 'glint_backup_dir' (or glint_backup_repository)")
    elif len(where) == 2:
        problems.append("give glint_backup_dir or glint_backup_repository, not both")
    repo = doc.get("glint_backup_repository")
    if isinstance(repo, str) and repo.strip():
        from glint_backup.repository import parse_url

        try:
            parse_url(repo, "glint_backup_repository")
        except BackupConfigError as e:
            problems.append(str(e))
    members = doc.get("glint_backup_members")
    if isinstance(members, str) and members not in ("auto", "listings", "per-image"):
        problems.append(
            f"glint_backup_members: expected auto, listings or per-image, got {members!r}"
        )
    mode = doc.get("glint_backup_compression")
    if isinstance(mode, str) and mode not in ("off", "auto", "max"):
        problems.append(f"glint_backup_compression: expected off, auto or max, got {mode!r}")
    if doc.get("glint_backup_encryption") is True and not any(
        k in doc for k in ("glint_backup_encryption_pw_file", "glint_backup_encryption_pw_key")
    ):
        problems.append(
            "glint_backup_encryption needs glint_backup_encryption_pw_file or "
            "glint_backup_encryption_pw_key (the repository password)"
        )
    segment = doc.get("glint_backup_segment_mb")
    if isinstance(segment, int) and not isinstance(segment, bool) and not 5 <= segment <= 5120:
        problems.append("glint_backup_segment_mb: between 5 and 5120 (MiB)")
    return problems


def _value_problems(doc: dict[str, Any], check_paths: bool) -> list[str]:
    """Checks on well-typed values (each message starts with its key)."""
    problems = []
    url = doc.get("glint_backup_auth_URL")
    if isinstance(url, str) and url.strip() and (why := check_auth_url(url)):
        problems.append(f"glint_backup_auth_URL: {why}")
    log = doc.get("glint_backup_logfile")
    if (
        check_paths
        and isinstance(log, str)
        and log.strip()
        and (why := check_logfile(Path(log).expanduser()))
    ):
        problems.append(f"glint_backup_logfile: {why}")
    problems += _repository_problems(doc)
    for key in ("glint_backup_healthcheck_url", "glint_backup_s3_endpoint"):
        url = doc.get(key)
        if isinstance(url, str) and url.strip() and (why := check_auth_url(url)):
            problems.append(f"{key}: {why.replace('Keystone ', '')}")
    projects = doc.get("glint_backup_projects")
    if isinstance(projects, list) and (why := _check_projects(projects)):
        problems.append(f"glint_backup_projects: {why}")
    return problems


def validate(doc: Any, source: Path, check_paths: bool = True) -> BackupConfig:
    """Check every key of *doc* and build the config; raise naming all problems at once.

    *check_paths* False skips what depends on this host's files (the log directory), to
    check an example config written for another host.
    """
    if not isinstance(doc, dict):
        raise BackupConfigError(f"{source}: expected a JSON object at the top level")
    problems: list[str] = []
    for key in sorted(doc):
        if key not in KEYS:
            problems.append(f"unknown key {key!r}")
            continue
        types, _, _ = KEYS[key]
        value = doc[key]
        ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
        if not ok:
            want = " or ".join("boolean" if t is bool else t.__name__ for t in types)
            problems.append(f"{key}: expected {want}, got {type(value).__name__}")
        elif isinstance(value, str) and not value.strip() and key != "glint_backup_testing":
            problems.append(f"{key}: must not be empty")
    for key, (_, required, _) in KEYS.items():
        if required and key not in doc:
            problems.append(f"missing required key {key!r}")
    if "glint_backup_cloud" not in doc:
        problems += [f"missing required key {k!r}" for k in CONNECTION_KEYS if k not in doc]
    if not any(
        k in doc
        for k in ("glint_backup_admin_pw_key", "glint_backup_admin_pw_file", "glint_backup_cloud")
    ):
        problems.append(
            "missing required key 'glint_backup_admin_pw_key' (or glint_backup_admin_pw_file)"
        )
    if "glint_backup_hiera_config" in doc and "glint_backup_admin_pw_key" not in doc:
        problems.append("glint_backup_hiera_config needs glint_backup_admin_pw_key")
    for key in ("glint_backup_page_size", "glint_backup_min_free_mb"):
        if isinstance(doc.get(key), int) and not isinstance(doc[key], bool) and doc[key] < 0:
            problems.append(f"{key}: must not be negative")
    problems += _value_problems(doc, check_paths)
    testing = False
    if "glint_backup_testing" in doc and isinstance(doc["glint_backup_testing"], (bool, str)):
        try:
            testing = _as_bool("glint_backup_testing", doc["glint_backup_testing"])
        except BackupConfigError as e:
            problems.append(str(e))
    if problems:
        raise BackupConfigError(f"{source}: " + "; ".join(problems))

    def path(key: str) -> Path | None:
        return Path(doc[key]).expanduser() if key in doc else None

    auth = doc.get("glint_backup_auth_URL")
    return BackupConfig(
        source=source,
        backup_dir=path("glint_backup_dir"),
        repository=doc.get("glint_backup_repository"),
        repository_cloud=doc.get("glint_backup_repository_cloud"),
        s3_endpoint=doc.get("glint_backup_s3_endpoint"),
        s3_region=doc.get("glint_backup_s3_region", "us-east-1"),
        s3_profile=doc.get("glint_backup_s3_profile"),
        s3_credentials_file=path("glint_backup_s3_credentials_file"),
        s3_key=doc.get("glint_backup_s3_key"),
        segment_bytes=int(doc.get("glint_backup_segment_mb", 0)) << 20,
        compression=doc.get("glint_backup_compression", "off"),
        encryption=bool(doc.get("glint_backup_encryption", False)),
        encryption_pw_file=path("glint_backup_encryption_pw_file"),
        encryption_pw_key=doc.get("glint_backup_encryption_pw_key"),
        healthcheck_url=doc.get("glint_backup_healthcheck_url"),
        metrics_file=path("glint_backup_metrics_file"),
        auth_url=normalise_auth_url(auth) if auth else None,
        username=doc.get("glint_backup_admin_user"),
        project=doc.get("glint_backup_admin_tenant"),
        user_domain=doc.get("glint_backup_admin_user_domain", "Default"),
        project_domain=doc.get("glint_backup_admin_project_domain", "Default"),
        region=doc.get("glint_backup_region"),
        ca_bundle=doc.get("glint_backup_ca_bundle"),
        cloud=doc.get("glint_backup_cloud"),
        pw_key=doc.get("glint_backup_admin_pw_key"),
        pw_file=path("glint_backup_admin_pw_file"),
        hiera_config=doc.get("glint_backup_hiera_config"),
        logfile=path("glint_backup_logfile"),
        testing=testing,
        page_size=doc.get("glint_backup_page_size") or None,
        min_free_bytes=int(doc.get("glint_backup_min_free_mb", 64)) << 20,
        projects=tuple(doc.get("glint_backup_projects") or ()),
        members=doc.get("glint_backup_members", "auto"),
    )


def load(path: Path | None = None, check_paths: bool = True) -> BackupConfig:
    """Read and validate the config file (default location when *path* is None)."""
    source = Path(path).expanduser() if path else default_path()
    try:
        doc = read_json(source, default=_NO_FILE)
    except BadJSON as e:  # unreadable, too large, not UTF-8, not JSON, too deep: names the file
        raise BackupConfigError(str(e)) from None
    if doc is _NO_FILE:
        raise BackupConfigError(f"{source}: config file not found (create it, or pass -c FILE)")
    return validate(doc, source, check_paths)
