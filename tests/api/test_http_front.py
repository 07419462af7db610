"""What the HTTP server answers itself: a real gunicorn started with the project's
gunicorn.conf.py (2 processes x 4 threads, queuey_site.gunicorn_worker). Its refusals
are JSON in the API's error shape, and slow clients hold no request thread."""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from queuey_site.gunicorn_worker import HEADER_TIMEOUT
from tests.chaos.test_api_faults import Api
from tests.support.stack import Stack, wait_for

SLOW_CLIENTS = 50


@pytest.fixture
def server(transactional_db) -> Iterator[Api]:
    stack = Stack()
    try:
        yield Api(SimpleNamespace(stack=stack))
    finally:
        stack.stop()


def _get(api: Api, path: str, headers: dict[str, str] | None = None, timeout: float = 10):
    """(status, content type, body) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type"), resp.read()
    finally:
        conn.close()


def _request(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


REFUSALS = {
    # a 10,000-character job id: gunicorn's request line limit is 4,094 bytes
    "long_request_line": (
        _request("/v1/jobs/" + "0" * 10_000),
        414,
        "request_line_too_long",
        "the request line is too long",
    ),
    # gunicorn accepts 100 header fields
    "too_many_headers": (
        _request("/v1/jobs", *(f"x-filler-{i}: 1" for i in range(120))),
        431,
        "headers_too_large",
        "too many header fields",
    ),
    # and 8,190 bytes in one field
    "header_too_large": (
        _request("/v1/jobs", "x-api-key: " + "k" * 9_000),
        431,
        "headers_too_large",
        "a header field is too large",
    ),
    "malformed_request_line": (b"NONSENSE\r\n\r\n", 400, "malformed", None),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_gunicorn_refusals_are_json_in_the_api_error_shape(server, case):
    raw, status, code, message = REFUSALS[case]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        head, _, body = _read_to_close(sock).partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head
    assert b"\r\ncontent-type: application/json\r\n" in head.lower(), head
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] == code
    if message:
        assert error["message"] == message


class SlowClients:
    """Connections that send a request line, then one header line a second, never the
    blank line that ends the head."""

    def __init__(self, port: int, count: int) -> None:
        self.socks = [
            socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)
        ]
        for s in self.socks:
            s.sendall(b"GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.rounds = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stopped.wait(1.0):
            for i, s in enumerate(self.socks):
                with contextlib.suppress(OSError):  # refused by the server's head deadline
                    s.sendall(f"x-slow-{self.rounds}: {i}\r\n".encode())
            self.rounds += 1

    def answered(self) -> list[socket.socket]:
        """The connections the server has answered (or closed) so far."""
        return select.select(self.socks, [], [], 0)[0]

    def stop(self) -> None:
        """Stop sending (a line sent after the server closed would reset its answer)."""
        self.stopped.set()
        self.thread.join(timeout=5)

    def close(self) -> None:
        self.stop()
        for s in self.socks:
            s.close()


def _latencies(api: Api, key: str, rounds: int) -> tuple[list[float], list[tuple]]:
    """Milliseconds of each GET /metrics and authenticated GET /v1/jobs; stops at the first
    failure (a stalled server would otherwise cost 10 s a request)."""
    times: list[float] = []
    for _ in range(rounds):
        for path, headers in (("/metrics", {}), ("/v1/jobs", {"x-api-key": key})):
            start = time.perf_counter()
            try:
                status, _, _ = _get(api, path, headers)
            except OSError as exc:
                return times, [(path, repr(exc))]
            if status != 200:
                return times, [(path, status)]
            times.append((time.perf_counter() - start) * 1000)
    return times, []


def test_requests_are_answered_while_fifty_slow_clients_trickle_headers(server):
    from jobs.apikeys import create_api_key

    key = create_api_key(name="front", scope="admin")[1]
    _latencies(server, key, 3)  # warm both worker processes
    quiet, quiet_failures = _latencies(server, key, 15)

    slow = SlowClients(server.port, SLOW_CLIENTS)
    try:
        wait_for(lambda: slow.rounds >= 2, timeout=10, what="two rounds of slow header lines")
        loaded, loaded_failures = _latencies(server, key, 15)
        still_open = SLOW_CLIENTS - len(slow.answered())
        slow.stop()
        assert not quiet_failures and not loaded_failures, (quiet_failures, loaded_failures)
        report = (
            f"p50 quiet {statistics.median(quiet):.1f} ms, with {SLOW_CLIENTS} slow clients "
            f"{statistics.median(loaded):.1f} ms (max {max(quiet):.1f} / {max(loaded):.1f} ms)"
        )
        print(report)
        assert still_open == SLOW_CLIENTS, f"slow clients answered early; {report}"
        assert statistics.median(loaded) < 300, report

        # The head deadline then answers each slow client 408 in the API's error shape.
        wait_for(
            lambda: len(slow.answered()) == SLOW_CLIENTS,
            timeout=HEADER_TIMEOUT + 20,
            what="the server to refuse every slow client",
        )
        for s in slow.socks:
            head, _, body = _read_to_close(s).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 "), head
            assert b"content-type: application/json" in head.lower()
            assert json.loads(body)["error"]["code"] == "request_timeout"
    finally:
        slow.close()


def _read_to_close(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
