"""The sandbox's servers run on ``pyuwsgi`` (uWSGI as a binary wheel: nothing compiled),
and that server does everything glint needs of it: Keystone logs in, and Glance takes an
image's data as a chunked upload (a body of unknown length, the way glint streams a
copy) and stores exactly those bytes. Real Keystone and Glance of the sandbox."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import psutil

from glint_tui.sandbox.cloud import Cloud
from tests.cloudside_helpers import OCTETS, create, delete, image, keystone
from tests.helpers import unique

# odd sizes on purpose: chunks of 1 byte, under and over uWSGI's 64 KiB buffer and over
# its 1 MiB default chunked-input limit, adding up to no round number
CHUNKS = (1, 4093, 65_537, 1 << 20, (3 << 20) // 2 + 7, 333, 2 << 20)


def _listener(cloud: Cloud, service: str, port: int) -> psutil.Process:
    """The process of *service* (its uWSGI master or a worker) that listens on *port*:
    only one socket can be bound there, so it is what answers on that port."""
    pid = cloud.pid(service)
    assert pid, f"{cloud.name} {service}: no pidfile"
    master = psutil.Process(pid)
    for proc in [master, *master.children(recursive=True)]:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                return proc
    raise AssertionError(f"{cloud.name} {service}: nothing of it listens on {port}")


def _assert_pyuwsgi(cloud: Cloud, proc: psutil.Process) -> None:
    """*proc* is the server venv's Python with the venv's pyuwsgi extension loaded, and
    the venv's ``uwsgi`` command is pyuwsgi's entry-point script, not a compiled uWSGI."""
    venv = cloud.venv
    assert Path(proc.exe()).resolve() == (venv / "bin" / "python").resolve()
    [site] = venv.glob("lib/python*/site-packages")
    extensions = [str(p.resolve()) for p in site.glob("pyuwsgi*.so")]
    assert extensions, f"no pyuwsgi extension in {site}"
    mapped = {m.path for m in proc.memory_maps()}
    assert mapped & set(extensions), f"{proc.pid} does not run pyuwsgi"
    script = (venv / "bin" / "uwsgi").read_bytes()
    assert script.startswith(b"#!") and b"from pyuwsgi import" in script, "uwsgi is a binary"
    assert list(site.glob("pyuwsgi-*.dist-info")) and not list(site.glob("uWSGI-*.dist-info"))


def test_keystone_and_glance_answer_from_pyuwsgi_and_a_chunked_upload_stores_its_bytes(
    sandbox,
) -> None:
    cloud = sandbox.cloud("c1")
    for service, port in (("keystone", cloud.keystone_port), ("glance", cloud.glance_port)):
        _assert_pyuwsgi(cloud, _listener(cloud, service, port))
    session = keystone(cloud)  # a login: Keystone on pyuwsgi answers
    url = cloud.glance_url
    made = create(session, url, unique("chunked"))
    digest, sent = hashlib.sha512(), 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for size in CHUNKS:
            chunk = os.urandom(size)
            digest.update(chunk)
            sent += size
            yield chunk

    try:
        r = session.put(f"{url}/v2/images/{made['id']}/file", data=body(), headers=OCTETS)
        assert r.request.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in r.request.headers, "not a chunked upload"
        assert r.status_code == 204, r.text
        stored = image(session, url, made["id"])
        assert stored is not None and stored["status"] == "active", stored
        assert stored["size"] == sent == sum(CHUNKS)
        assert stored["os_hash_algo"] == "sha512"
        assert stored["os_hash_value"] == digest.hexdigest(), "Glance stored other bytes"
        # the listener is still pyuwsgi after the upload (no other server took over)
        _assert_pyuwsgi(cloud, _listener(cloud, "glance", cloud.glance_port))
    finally:
        delete(session, url, made["id"])
