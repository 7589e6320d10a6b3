"""A loopback HTTP mirror a test starts: real sockets, real HTTP, real misbehaviour.

Serves files from memory on 127.0.0.1 (a free port), with the faults upstream mirrors
really have, switched on per test: answering ``Range`` with 206 or ignoring it (no range
support), dropping the connection after N bytes of a response, stalling mid-body,
serving one flipped byte. Every request is recorded (path, Range header, bytes sent), so
a test proves *how* a download went, not only that it ended.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    range: str | None
    status: int = 0
    sent: int = 0


class Mirror:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.ranges = True  # False: Range is ignored (200, whole file), nothing advertised
        self.drops: list[int] = []  # per response, in order: close after N body bytes
        self.stalls: list[int] = []  # per response, in order: pause after N bytes
        self.unstall = threading.Event()  # set to end every pause at once
        self.corrupt: set[str] = set()  # paths served with one byte flipped
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Mirror:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unstall.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{path.lstrip('/')}"

    @property
    def bytes_sent(self) -> int:
        return sum(r.sent for r in self.requests)

    def _next(self, queue: list[int]) -> int | None:
        with self._lock:
            return queue.pop(0) if queue else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                record = Request(self.path.lstrip("/"), self.headers.get("Range"))
                mirror.requests.append(record)
                data = mirror.files.get(record.path)
                if data is None:
                    record.status = 404
                    self.send_error(404, "Not Found")
                    return
                if record.path in mirror.corrupt:
                    middle = len(data) // 2
                    data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                start = self._range_start(etag, len(data))
                body = data[start:]
                record.status = 206 if start else 200
                self.send_response(record.status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                if mirror.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                self._send(record, body)

            def _range_start(self, etag: str, size: int) -> int:
                if not mirror.ranges or not self.headers.get("Range"):
                    return 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers["Range"])
                if_range = self.headers.get("If-Range")
                if not match or (if_range and if_range != etag) or int(match[1]) >= size:
                    return 0
                return int(match[1])

            def _send(self, record: Request, body: bytes) -> None:
                drop = mirror._next(mirror.drops)
                stall = mirror._next(mirror.stalls)
                end = len(body) if drop is None else min(drop, len(body))
                pos = 0
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    while pos < end:
                        if stall is not None and pos >= stall:
                            mirror.unstall.wait(30)
                            stall = None
                        step = min(64 << 10, end - pos)
                        if stall is not None and pos < stall < pos + step:
                            step = stall - pos
                        self.wfile.write(body[pos : pos + step])
                        pos += step
                        record.sent = pos
                    self.wfile.flush()
                if drop is not None:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)

        return Handler
