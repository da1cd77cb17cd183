"""The site and a real edge in front of it, for the cache lab's workloads.

``Lab`` serves the whole app (its real database and MEDIA_ROOT, static and
media files served by the app itself) from a server thread on a free port,
and starts nginx (``edge.runner.Edge``) on another free port in front of it.
``fetch`` makes one request with the standard library and times it.
"""

from __future__ import annotations

import http.client
import json
import socket
import tempfile
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from django.test.testcases import LiveServerThread

from edge.runner import Edge

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Result:
    status: int
    # http.client's header mapping: case-insensitive lookups, repeats kept.
    headers: Message
    body: bytes
    seconds: float
    first_byte_seconds: float


def fetch(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10,
) -> Result:
    """One request on a fresh connection: no cookie jar, cache or redirects.

    ``first_byte_seconds`` runs until the status line and headers have
    arrived; ``seconds`` until the whole body has been read.
    """
    parts = urlsplit(url)
    if parts.hostname != HOST:
        # The lab only ever talks to what it started on the loopback.
        raise ValueError(f"The lab fetches from {HOST} only, not {url}.")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(HOST, parts.port, timeout=timeout)
    try:
        started = time.perf_counter()
        connection.request(method, path or "/", body=body, headers=headers or {})
        response = connection.getresponse()
        first_byte = time.perf_counter() - started
        content = response.read()
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    return Result(response.status, response.headers, content, seconds, first_byte)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _OriginThread(LiveServerThread):
    """The app on a fixed port, which may be bound again after a stop."""

    def _create_server(self, connections_override=None):
        return ThreadedWSGIServer(
            (self.host, self.port),
            _QuietHandler,
            allow_reuse_address=True,
            connections_override=connections_override,
        )


class Lab:
    """The origin in a server thread and nginx in front of it."""

    def __init__(self, lab_ttl: int | None = None, folder: Path | None = None):
        self.lab_ttl = lab_ttl
        self._temporary = None
        if folder is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="hitrate-lab-")
            folder = Path(self._temporary.name)
        self.folder = Path(folder)
        self.origin_port = free_port()
        self.origin_url = f"http://{HOST}:{self.origin_port}"
        self.edge = Edge(
            self.folder / "edge",
            listen=f"{HOST}:{free_port()}",
            origin=f"{HOST}:{self.origin_port}",
            lab_ttl=lab_ttl,
        )
        self.edge_url = self.edge.url
        self._thread: _OriginThread | None = None
        # An in-memory SQLite database (the tests') lives in its connection,
        # which the server thread must share, as Django's live_server does.
        self._shared = {
            connection.alias: connection
            for connection in connections.all()
            if connection.vendor == "sqlite" and connection.is_in_memory_db()
        }

    def __enter__(self) -> Lab:
        for connection in self._shared.values():
            connection.inc_thread_sharing()
        try:
            self.start_origin()
            self.edge.start()
        except BaseException:
            self._stop_all()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop_all()

    def start_origin(self) -> None:
        if self._thread is not None:
            return
        thread = _OriginThread(
            HOST,
            static_handler=lambda _: WSGIHandler(),
            connections_override=self._shared,
            port=self.origin_port,
        )
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        self._thread = thread

    def stop_origin(self) -> None:
        if self._thread is None:
            return
        self._thread.terminate()
        self._thread = None

    def log_lines(self, at_least: int = 0, timeout: float = 3.0) -> list[dict]:
        """The edge's access log, one dict per request (edge/config.py).

        nginx writes a request's line once it has sent the response, which
        can be just after the client has read it: ``at_least`` waits (up to
        ``timeout`` seconds) for that many lines.
        """
        deadline = time.monotonic() + timeout
        while True:
            lines = self._read_log()
            if len(lines) >= at_least or time.monotonic() > deadline:
                return lines
            time.sleep(0.01)

    def _read_log(self) -> list[dict]:
        try:
            text = self.edge.access_log.read_text()
        except FileNotFoundError:
            return []
        # A line still being written has no newline yet.
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def _stop_all(self) -> None:
        try:
            self.edge.stop()
        finally:
            self.stop_origin()
            for connection in self._shared.values():
                connection.dec_thread_sharing()
            if self._temporary is not None:
                self._temporary.cleanup()
                self._temporary = None
