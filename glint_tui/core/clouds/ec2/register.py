"""RegisterImage's arguments from a Glance image's properties, and AMI names.

An AMI boots from its root snapshot as an ``hvm`` image on ``/dev/xvda``. What Glance
says about the guest becomes what EC2 needs to know:

* ``hw_firmware_type``: ``uefi`` -> boot mode ``uefi``, ``bios`` -> ``legacy-bios``
  (unset: EC2's default for the architecture);
* ``hw_vif_multiqueue_enabled`` true, or ``hw_vif_model`` ``virtio`` -> ENA support (a
  guest with multi-queue virtio networking has a kernel with the ENA driver); an explicit
  ``ec2_ena_support`` true/false wins;
* ``architecture`` / ``hw_architecture``: ``x86_64``, ``aarch64`` -> ``arm64``, ``i686``
  -> ``i386`` (default x86_64);
* ``hw_tpm_version`` ``2.0`` -> TPM support ``v2.0``.

The root volume is ``volume_gib(size, min_disk)`` GiB: EBS volumes are whole GiB, so an
image of 1.2 GiB gets a 2 GiB volume, and a ``min_disk`` above that is kept.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

ROOT_DEVICE = "/dev/xvda"
NAME_MAX = 128
_NAME_BAD = re.compile(r"[^A-Za-z0-9()\[\] ./\-'@_]")
ARCHITECTURES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i686": "i386",
    "i386": "i386",
}
TRUE = {"true", "yes", "1", "on"}


def ami_name(name: str) -> str:
    """An AMI name for a Glance name: 3-128 of the characters EC2 allows (others become
    ``-``); a long name keeps its start and gains a short hash so it stays unique."""
    clean = _NAME_BAD.sub("-", name)
    if len(clean) > NAME_MAX:
        tag = hashlib.sha256(name.encode()).hexdigest()[:8]
        clean = f"{clean[: NAME_MAX - 9]}-{tag}"
    while len(clean) < 3:
        clean += "_"
    return clean


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in TRUE


def boot_settings(properties: dict[str, Any]) -> dict[str, Any]:
    """BootMode, EnaSupport, Architecture, TpmSupport from Glance properties."""
    out: dict[str, Any] = {}
    arch = str(properties.get("architecture") or properties.get("hw_architecture") or "x86_64")
    out["Architecture"] = ARCHITECTURES.get(arch.lower(), "x86_64")
    firmware = str(properties.get("hw_firmware_type") or "").lower()
    if firmware == "uefi":
        out["BootMode"] = "uefi"
    elif firmware == "bios":
        out["BootMode"] = "legacy-bios"
    if "ec2_ena_support" in properties:
        out["EnaSupport"] = _truthy(properties["ec2_ena_support"])
    else:
        multiqueue = _truthy(properties.get("hw_vif_multiqueue_enabled", ""))
        virtio = str(properties.get("hw_vif_model") or "").lower() == "virtio"
        out["EnaSupport"] = multiqueue or virtio
    if str(properties.get("hw_tpm_version") or "") == "2.0" and out.get("BootMode") == "uefi":
        out["TpmSupport"] = "v2.0"
    return out


def register_arguments(
    name: str, snapshot_id: str, gib: int, properties: dict[str, Any], description: str
) -> dict[str, Any]:
    """RegisterImage's keyword arguments (tags go separately)."""
    return {
        "Name": ami_name(name),
        "Description": description[:255],
        "VirtualizationType": "hvm",
        "RootDeviceName": ROOT_DEVICE,
        "BlockDeviceMappings": [
            {
                "DeviceName": ROOT_DEVICE,
                "Ebs": {
                    "SnapshotId": snapshot_id,
                    "VolumeSize": gib,
                    "VolumeType": "gp3",
                    "DeleteOnTermination": True,
                },
            }
        ],
        **boot_settings(properties),
    }
