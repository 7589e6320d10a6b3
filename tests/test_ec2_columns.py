"""EC2 repositories as columns, without a cloud: validation, one column per region, the
column reader, cloud grouping per region, and what an AMI without glint's tag may do."""

from __future__ import annotations

import pytest

from glint_tui.core.actions import Plan
from glint_tui.core.cloudid import CloudIdentity, group_clouds
from glint_tui.core.clouds.ec2.session import Ec2Session
from glint_tui.core.desired import Desired
from glint_tui.core.errors import ConfigError
from glint_tui.core.inventory import Listing, build_matrix
from glint_tui.core.model import ImageRecord, ProjectRef, Repository, resolve_column
from glint_tui.core.plan import build_plan
from glint_tui.core.validation import validate_repository
from glint_tui.ui.screens.plan_review import plan_text

ACCOUNT = "123456789012"
EC2 = Repository("aws", "", cloud_type="ec2", regions=("us-east-1", "eu-west-1"))


def test_an_ec2_repository_gives_one_column_per_region_and_round_trips():
    assert validate_repository(EC2.to_dict()) == EC2
    assert [str(c) for c in EC2.columns(ACCOUNT)] == [
        f"aws/us-east-1:{ACCOUNT}",
        f"aws/eu-west-1:{ACCOUNT}",
    ]
    plain = Repository("c1", "https://k:5000/v3")
    assert "regions" not in plain.to_dict() and "endpoint_url" not in plain.to_dict()


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"regions": ()}, "regions: an ec2 repository needs at least one region"),
        ({"auth_url": "https://k/v3"}, "auth_url: an ec2 repository has no auth URL"),
        ({"regions": ("eu/west",)}, "regions: a region must be"),
        ({"endpoint_url": "ftp://x"}, r"endpoint_url: must be an http\(s\) URL"),
    ],
)
def test_bad_ec2_repository_fields_are_named(fields, said):
    data = {**EC2.to_dict(), **fields}
    with pytest.raises(ConfigError, match=said):
        validate_repository(data)


def test_column_names_resolve_where_unambiguous_and_list_the_choices_where_not():
    columns = [*EC2.columns(ACCOUNT), ProjectRef("c1", "alpha"), ProjectRef("c1", "beta")]
    east = ProjectRef("aws", ACCOUNT, "us-east-1")
    for text in (f"aws/us-east-1:{ACCOUNT}", "aws/us-east-1", "aws:us-east-1"):
        assert resolve_column(text, columns) == east
    assert resolve_column("c1:alpha", columns) == ProjectRef("c1", "alpha")
    with pytest.raises(ValueError, match="may be any of aws/us-east-1"):
        resolve_column("aws", columns)
    with pytest.raises(ValueError, match="may be any of c1:alpha, c1:beta"):
        resolve_column("c1", columns)
    assert resolve_column("c9:x", columns) == ProjectRef("c9", "x")  # "not configured" later
    with pytest.raises(ValueError, match="expected REPO:PROJECT"):
        resolve_column("nope", columns)


def test_two_regions_of_one_repository_are_two_clouds_and_one_account_region_is_one():
    east, west = EC2.columns(ACCOUNT)
    twin = ProjectRef("aws-again", ACCOUNT, "us-east-1")
    keys = {r: f"ec2:{ACCOUNT}:{r.region}@aws" for r in (east, west, twin)}
    ident = {r: CloudIdentity(k, frozenset({k})) for r, k in keys.items()}
    groups = group_clouds(ident.items())
    assert groups[east] != groups[west] and groups[east] == groups[twin]


def _qcow2_plan(disk_format: str = "qcow2"):
    """A plan copying one *disk_format* image from c1:alpha to c1:beta and to EC2."""
    (east, _) = EC2.columns(ACCOUNT)
    alpha, beta = ProjectRef("c1", "alpha"), ProjectRef("c1", "beta")
    sha = {"os_hash_algo": "sha512", "os_hash_value": "ab" * 64}
    image = ImageRecord("i-1", "cirros", owner="p-alpha", size=300, disk_format=disk_format, **sha)
    matrix = build_matrix(
        [
            Listing(alpha, "p-alpha", [image]),
            Listing(beta, "p-beta", []),
            Listing(east, ACCOUNT, [], disk_formats=Ec2Session.disk_formats),
        ]
    )
    (row,) = matrix.rows
    desired = Desired()
    desired.want(row.key, east, True)
    desired.want(row.key, beta, True)
    return east, beta, build_plan(matrix, desired)


def test_a_qcow2_image_bound_for_ec2_is_planned_converted_to_raw_here_and_copied_as_is_elsewhere():
    """The column's ``disk_formats`` (``Ec2Session`` says raw) makes the plan convert:
    a separate copy whose target says so (``convert_to``, the plan's text and JSON)."""
    east, beta, plan = _qcow2_plan()
    assert not plan.refusals
    plain, converted = sorted(plan.copies, key=lambda c: bool(c.targets[0].convert_to))
    assert [(t.ref, t.convert_to) for t in plain.targets] == [(beta, None)]
    assert [(t.ref, t.convert_to) for t in converted.targets] == [(east, "raw")]
    assert converted.targets[0].method_note == "converted to raw on this host"
    assert Plan.from_json(plan.to_json()).copies[1].targets[0].convert_to == "raw"
    assert plan.download_bytes == 300  # the source is read once for both copies
    said = "converted to raw on this host"
    (line,) = [ln for ln in plan.describe() if str(east) in ln]  # `glint copy` prints these
    assert said in line and said in plan_text(plan).plain  # the UI's review


def test_without_qemu_img_a_qcow2_copy_to_ec2_is_refused_with_how_to_install_it(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu-img on this PATH
    east, beta, plan = _qcow2_plan()
    (copy,) = plan.copies
    assert [t.ref for t in copy.targets] == [beta]
    (refusal,) = plan.refusals
    assert refusal.ref == east and "raw images only, not qcow2" in refusal.reason
    assert "apt-get install qemu-utils" in refusal.reason and "\n" not in refusal.reason


def test_a_format_qemu_img_cannot_read_is_still_refused_for_ec2():
    east, _, plan = _qcow2_plan("iso")
    (refusal,) = plan.refusals
    assert refusal.ref == east and "qemu-img cannot convert iso images" in refusal.reason


def test_a_converted_ami_shares_its_sources_row_but_is_never_its_source_nor_its_last_copy():
    """The AMI's own sha512 is the raw file's; ``glint_source_sha512`` puts it in the qcow2's
    row. It is not a copy of the qcow2 bytes: never a copy source, never counted by the
    last-copy rule (deleting the only qcow2 is refused), itself deletable."""
    (east, _) = EC2.columns(ACCOUNT)
    alpha, beta = ProjectRef("c1", "alpha"), ProjectRef("c1", "beta")
    qcow = ImageRecord(
        "i-1", "cirros", owner="p-alpha", size=300, disk_format="qcow2",
        os_hash_algo="sha512", os_hash_value="ab" * 64,
    )  # fmt: skip
    ami = ImageRecord(
        "ami-1", "cirros", owner=ACCOUNT, size=1000, disk_format="raw",
        os_hash_algo="sha512", os_hash_value="cd" * 64,
        properties={"glint_source_sha512": "ab" * 64, "glint_converted_from": "qcow2"},
    )  # fmt: skip
    matrix = build_matrix(
        [
            Listing(east, ACCOUNT, [ami], disk_formats=Ec2Session.disk_formats),
            Listing(alpha, "p-alpha", [qcow]),
            Listing(beta, "p-beta", []),
        ]
    )
    (row,) = matrix.rows
    assert row.content_key == f"sha512:{'ab' * 64}" and row.cell(east).present
    assert (row.size, row.disk_format) == (300, "qcow2")  # the original's, not the AMI's
    desired = Desired()
    desired.want(row.key, beta, True)
    (copy,) = build_plan(matrix, desired, source=None).copies
    assert (copy.source, copy.source_image_id, copy.size) == (alpha, "i-1", 300)
    desired = Desired()
    desired.want(row.key, alpha, False)
    plan = build_plan(matrix, desired)
    assert not plan.deletes and "last copy" in plan.refusals[0].reason
    desired = Desired()
    desired.want(row.key, east, False)
    (delete,) = build_plan(matrix, desired).deletes
    assert delete.image_id == "ami-1" and delete.keeps == ((alpha, "i-1"),)


def test_an_ami_without_glint_tags_is_never_a_copy_source_and_never_deleted():
    east, west = EC2.columns(ACCOUNT)
    bare = ImageRecord("ami-1", "handmade", owner=ACCOUNT, status="active")
    matrix = build_matrix([Listing(east, ACCOUNT, [bare]), Listing(west, ACCOUNT, [])])
    (row,) = matrix.rows
    assert row.content_key == "unknown:ami-1" and row.has_data
    assert row.label == "handmade@unknown:ami-1"
    desired = Desired()
    desired.want(row.key, west, True)
    desired.want(row.key, east, False)
    plan = build_plan(matrix, desired)
    assert not plan.copies and not plan.deletes
    assert {r.kind for r in plan.refusals} == {"copy", "delete"}
