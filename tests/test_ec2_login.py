"""EC2 repositories and credentials from the command line, against moto on loopback.

The strict moto checks every key and policy (after the requests that made them), so a
wrong secret, an unknown key and a key without permission get moto's real refusals. What
this does not prove: AWS's own error codes for them (moto answers with the same codes the
EC2/STS docs name: InvalidClientTokenId, SignatureDoesNotMatch, AccessDenied).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.ec2_helpers import NoStsCloud
from tests.helpers import run_glint

MASTER = "ec2-test-master"


def glint(home: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(GLINT_HOME=str(home), GLINT_KEYRING_PASSWORD=MASTER, **env)
    clean.pop("GLINT_PROFILE", None)
    return run_glint(clean, *args, input=stdin)


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    """stderr without the one-time notice of which keyring holds the secrets."""
    return [x for x in done.stderr.strip().splitlines() if "storing secrets in" not in x]


def add_repo(home: Path, url: str, *more: str) -> None:
    done = glint(home, "repository", "add", "aws", "--type", "ec2", "--region", "us-east-1",
                 "--endpoint-url", url, *more)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_access_key_login_names_the_account_and_saves_the_secret_only_to_the_keyring(
    tmp_path, moto_strict
):
    bed, (key, secret), _ = moto_strict
    add_repo(tmp_path, bed.url, "--region", "eu-west-1")
    done = glint(tmp_path, "credentials", "add", "aws", "--access-key-id", key,
                 "--secret-stdin", stdin=secret + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "credential for aws:123456789012 added (login checked)" in done.stdout
    assert "aws/us-east-1:123456789012, aws/eu-west-1:123456789012" in done.stdout
    for f in tmp_path.rglob("*.json"):
        assert secret not in f.read_text()
    listed = glint(tmp_path, "images", "--project", "aws/eu-west-1")
    assert listed.returncode == 0, listed.stderr
    assert "aws/eu-west-1:123456789012" in listed.stdout


def test_original_repository_add_syntax_takes_format_ec2(tmp_path, moto_strict):
    bed, _, _ = moto_strict
    done = glint(tmp_path, "repository-add", "--name", "old", "--format", "ec2",
                 "--region", "us-east-1", "--endpoint-url", bed.url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = glint(tmp_path, "repository", "list", "--json")
    assert '"cloud_type": "ec2"' in listed.stdout and '"regions": [' in listed.stdout


@pytest.mark.parametrize(
    ("who", "said"),
    [("wrong-secret", "SignatureDoesNotMatch"), ("unknown-key", "InvalidClientTokenId")],
)
def test_a_wrong_key_is_one_line_naming_it_and_nothing_is_saved(tmp_path, moto_strict, who, said):
    bed, (key, secret), _ = moto_strict
    add_repo(tmp_path, bed.url)
    key_id, typed = (key, secret + "x") if who == "wrong-secret" else ("AKIA" + "Z" * 16, secret)
    done = glint(tmp_path, "credentials", "add", "aws", "--access-key-id", key_id,
                 "--secret-stdin", stdin=typed + "\n")  # fmt: skip
    assert done.returncode == 1
    lines = error_lines(done)
    assert len(lines) == 1 and "wrong access key id or secret" in lines[0] and said in lines[0]
    assert "credential not saved" in lines[0] and typed not in done.stderr
    assert "no credentials yet" in glint(tmp_path, "credentials", "list").stdout


def test_a_key_without_permission_is_named_as_such(tmp_path, moto_strict):
    bed, _, (weak, weak_secret) = moto_strict
    add_repo(tmp_path, bed.url)
    done = glint(tmp_path, "credentials", "add", "aws", "--access-key-id", weak,
                 "--secret-stdin", stdin=weak_secret + "\n")  # fmt: skip
    assert done.returncode == 1
    assert "the key works but may not" in done.stderr and "AccessDenied" in done.stderr
    assert len(error_lines(done)) == 1


def test_a_region_that_does_not_answer_ends_within_its_timeout(tmp_path, silent_keystone):
    """An endpoint that accepts connections and never answers (``SilentListener``, which
    no real EC2 endpoint can be made to be): the login says the region does not answer,
    within the timeouts."""
    settings = tmp_path / "profiles" / "default" / "config"
    settings.mkdir(parents=True)
    (settings / "settings.json").write_text(
        '{"version": 1, "settings": {"timeouts": {"connect": 2, "auth": 2, "api": 2}}}'
    )
    add_repo(tmp_path, f"http://127.0.0.1:{silent_keystone.port}", "--no-verify")
    done = glint(tmp_path, "credentials", "add", "aws:123456789012", "--access-key-id",
                 "AKIAIOSFODNN7EXAMPLE", "--secret-stdin", stdin="s3cret-value\n")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "does not answer" in done.stderr or "no answer" in done.stderr
    assert len(error_lines(done)) == 1
    assert silent_keystone.accepted, "the login never reached the endpoint"


def test_without_sts_the_login_checks_describe_regions_and_asks_for_the_account(tmp_path, moto_ec2):
    """An EC2-compatible cloud without STS (``NoStsCloud``: moto behind a proxy that
    answers STS 404; moto itself always has STS): the account cannot be learnt, so a
    credential without one is refused in one line naming the fix, one with it is checked
    with DescribeRegions and DescribeImages and saved."""
    cloud = NoStsCloud(moto_ec2.url)
    try:
        add_repo(tmp_path, cloud.url)
        args = ("--access-key-id", "AKIAIOSFODNN7EXAMPLE", "--secret-stdin")
        bare = glint(tmp_path, "credentials", "add", "aws", *args, stdin="s3cret-value\n")
        assert bare.returncode == 1, bare.stderr
        assert "has no STS" in bare.stderr and "aws:ACCOUNT" in bare.stderr
        assert len(error_lines(bare)) == 1
        assert cloud.sts_requests > 0
        named = glint(tmp_path, "credentials", "add", "aws:123456789012", *args,
                      stdin="s3cret-value\n")  # fmt: skip
        assert named.returncode == 0, named.stderr
        assert "aws:123456789012 added (login checked)" in named.stdout
        assert glint(tmp_path, "images").returncode == 0
    finally:
        cloud.close()


def test_a_profile_credential_stores_no_secret_and_logs_in_through_it(tmp_path, moto_strict):
    bed, (key, secret), _ = moto_strict
    add_repo(tmp_path, bed.url)
    aws = tmp_path / "aws-credentials"
    aws.write_text(f"[lab]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(aws), "AWS_CONFIG_FILE": str(tmp_path / "none")}
    done = glint(tmp_path, "credentials", "add", "aws", "--profile", "lab", **env)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "profiles" / "default" / "data" / "keyring.enc").exists()
    listed = glint(tmp_path, "images", **env)
    assert listed.returncode == 0, listed.stderr
    missing = glint(tmp_path, "images", AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "x"))
    assert missing.returncode == 1 and "no AWS profile 'lab'" in missing.stdout  # the column


def test_environment_credentials_follow_boto3_and_store_nothing(tmp_path, moto_strict):
    bed, (key, secret), _ = moto_strict
    add_repo(tmp_path, bed.url)
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}  # fmt: skip
    done = glint(tmp_path, "credentials", "add", "aws", "--from-environment", **env)
    assert done.returncode == 0, done.stderr
    assert "aws:123456789012 added (login checked)" in done.stdout
    assert secret not in "".join(f.read_text() for f in tmp_path.rglob("*.json"))
    listed = glint(tmp_path, "credentials", "list").stdout.splitlines()
    row = next(line.split() for line in listed if line.startswith("aws:"))
    assert row == ["aws:123456789012", "environment", "environment", "-", "-"]  # no domains


def test_without_boto3_an_ec2_repository_says_how_to_install_it(tmp_path):
    """boto3 hidden from the interpreter (a path hook that refuses it)."""
    blocker = tmp_path / "noboto"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nfor m in ('boto3', 'botocore'):\n    sys.modules[m] = None\n"
    )
    add_repo(tmp_path, "http://127.0.0.1:9", "--no-verify")
    env = {"PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = glint(tmp_path, "credentials", "add", "aws:123456789012", "--access-key-id",
                 "AKIAIOSFODNN7EXAMPLE", "--secret-stdin", stdin="x-secret\n", **env)  # fmt: skip
    assert done.returncode == 2
    assert error_lines(done) == [
        "glint: repository aws is an ec2 repository and boto3 is not installed; "
        "install it with: pip install boto3 (or, in glint's checkout: pip install '.[ec2]')"
    ]
