"""Register users, projects and the image service in a fresh sandbox Keystone.

This is the one module outside the OpenStack adapter that imports openstacksdk: it uses
Keystone's admin API, which glint itself never needs.
"""

from __future__ import annotations

import json
import secrets

import openstack

from glint_tui.sandbox.cloud import (
    ADMIN_PASSWORD,
    GLANCE_SERVICE_PASSWORD,
    MEMBERS,
    PROJECTS,
    REGION,
    Cloud,
)


def admin_connection(cloud: Cloud) -> openstack.connection.Connection:
    """The sandbox admin on *cloud* (Keystone's admin API, which glint itself never needs)."""
    return openstack.connect(
        auth_url=cloud.keystone_url + "/v3",
        username="admin",
        password=ADMIN_PASSWORD,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=REGION,
        load_yaml_config=False,
        load_envvars=False,
    )


def register(cloud: Cloud) -> None:
    """Service user + catalog for Glance, projects alpha/beta, a member user per project."""
    conn = admin_connection(cloud)
    try:
        idc = conn.identity

        def project(name: str):
            return idc.find_project(name, domain_id="default") or idc.create_project(
                name=name, domain_id="default", description=f"sandbox project {name}"
            )

        roles = {r.name: r for r in idc.roles()}
        service_project = project("service")
        glance = idc.find_user("glance", domain_id="default") or idc.create_user(
            name="glance", password=GLANCE_SERVICE_PASSWORD, domain_id="default"
        )
        idc.assign_project_role_to_user(service_project, glance, roles["service"])
        service = idc.find_service("glance") or idc.create_service(
            name="glance", type="image", description="Glance image service"
        )
        have = {(e.region_id, e.interface) for e in idc.endpoints(service_id=service.id)}
        regions = {r.id for r in idc.regions()}
        for site in cloud.glances:  # one Glance per region (several in a shaped cloud)
            if site.region not in regions:
                idc.create_region(id=site.region, description=f"sandbox region {site.region}")
            for interface in ("public", "internal", "admin"):
                if (site.region, interface) not in have:
                    idc.create_endpoint(
                        service_id=service.id,
                        interface=interface,
                        url=site.url,
                        region_id=site.region,
                    )
        admin = idc.find_user("admin", domain_id="default")
        for name in PROJECTS:
            idc.assign_project_role_to_user(project(name), admin, roles["admin"])
        for user, password, project_name in MEMBERS:
            p = project(project_name)
            u = idc.find_user(user, domain_id="default") or idc.create_user(
                name=user, password=password, domain_id="default", default_project_id=p.id
            )
            idc.assign_project_role_to_user(p, u, roles["member"])
    finally:
        conn.close()


def register_swift(cloud: Cloud, endpoint: str, user_name: str, password: str) -> None:
    """Swift's service user (authtoken and s3token log in as it) and its catalog entry."""
    conn = admin_connection(cloud)
    try:
        idc = conn.identity
        service_project = idc.find_project("service", domain_id="default")
        user = idc.find_user(user_name, domain_id="default") or idc.create_user(
            name=user_name, password=password, domain_id="default"
        )
        roles = {r.name: r for r in idc.roles()}
        for role in ("service", "admin"):  # admin: s3token reads EC2 secrets
            idc.assign_project_role_to_user(service_project, user, roles[role])
        service = idc.find_service("swift") or idc.create_service(
            name="swift", type="object-store", description="sandbox Swift"
        )
        have = {e.interface for e in idc.endpoints(service_id=service.id)}
        for interface in ("public", "internal", "admin"):
            if interface not in have:
                idc.create_endpoint(
                    service_id=service.id, interface=interface, url=endpoint, region_id=REGION
                )
    finally:
        conn.close()


def ec2_credentials(cloud: Cloud, user: str = "admin", project: str = "admin") -> tuple[str, str]:
    """Keystone EC2 credentials (access, secret) of *user* on *project*: S3 through s3api."""
    conn = admin_connection(cloud)
    try:
        idc = conn.identity
        u = idc.find_user(user, domain_id="default")
        p = idc.find_project(project, domain_id="default")
        for cred in idc.credentials(user_id=u.id, type="ec2"):
            if cred.project_id == p.id:
                blob = json.loads(cred.blob)
                return blob["access"], blob["secret"]
        access, secret = secrets.token_hex(16), secrets.token_hex(20)
        blob = json.dumps({"access": access, "secret": secret})
        idc.create_credential(type="ec2", user_id=u.id, project_id=p.id, blob=blob)
        return access, secret
    finally:
        conn.close()
