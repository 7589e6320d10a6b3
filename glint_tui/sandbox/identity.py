"""Register users, projects and the image service in a fresh sandbox Keystone.

This is the one module outside the OpenStack adapter that imports openstacksdk: it uses
Keystone's admin API, which glint itself never needs.
"""

from __future__ import annotations

import openstack

from glint_tui.sandbox.cloud import (
    ADMIN_PASSWORD,
    GLANCE_SERVICE_PASSWORD,
    MEMBERS,
    PROJECTS,
    REGION,
    Cloud,
)


def register(cloud: Cloud) -> None:
    """Service user + catalog for Glance, projects alpha/beta, a member user per project."""
    conn = openstack.connect(
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
