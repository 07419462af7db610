"""gunicorn's gthread worker, made safe against slow clients and answering in JSON.

Why a worker class and not nginx in front: gunicorn 27's gthread worker waits off-thread
only for a connection's *first* byte; a thread then reads the rest of the request head
with blocking reads and no deadline, and gunicorn has no header-read timeout setting. So
2 processes x 4 threads are held by 8 clients that send a header line a second. This
worker reads the head (request line and headers) without blocking on the worker's own
selector loop, and hands a connection to the thread pool only once its head is complete
(or its request line is already over the limit, which the parser then refuses at once).
A head not complete within GUNICORN_HEADER_TIMEOUT seconds (default 10) is answered 408.
That keeps `make run`, Compose and ECS safe with no extra process. Request *bodies* are
still read by the thread (see README, "In production: what goes in front").

Every refusal gunicorn makes itself (414, 431, 400, 408, ...) is answered in the API's
error shape (jobs/api/errors.py, built here because this module loads before Django):

    {"error": {"code": "headers_too_large", "message": "...", "field": "headers"}}

Plain HTTP/1.1 only: TLS and HTTP/2 end at the load balancer (check_config refuses them).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from ssl import SSLError
from typing import Any

from gunicorn import http, util
from gunicorn.http import errors
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_TIMEOUT = float(os.environ.get("GUNICORN_HEADER_TIMEOUT") or 10)
_END_OF_HEAD = b"\r\n\r\n"
_RECV_SIZE = 65536


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    code: str
    message: str
    field: str | None = None

    def response(self) -> bytes:
        error = {"code": self.code, "message": self.message, "field": self.field}
        body = json.dumps({"error": error}, separators=(",", ":")).encode()
        head = (
            f"HTTP/1.1 {self.status} {self.reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode("latin-1") + body


INTERNAL_ERROR = Refusal(
    500, "Internal Server Error", "internal_error", "internal error; it has been logged"
)
HEAD_TIMEOUT = Refusal(
    408, "Request Timeout", "request_timeout", "the request head did not arrive in time"
)

_HEADER_LIMITS = {
    "limit request headers fields": "too many header fields",
    "limit request headers fields size": "a header field is too large",
}


def refusal(exc: BaseException) -> Refusal:
    """The answer to an error gunicorn raised while reading or answering a request."""
    if isinstance(exc, errors.InvalidResponseHeader | errors.InvalidResponseHeaderName):
        return INTERNAL_ERROR  # the application's fault, not the client's
    if isinstance(exc, errors.LimitRequestLine):
        return Refusal(414, "URI Too Long", "request_line_too_long", "the request line is too long")
    if isinstance(exc, errors.LimitRequestHeaders):
        message = _HEADER_LIMITS.get(str(exc), "the request headers are too large")
        return Refusal(
            431, "Request Header Fields Too Large", "headers_too_large", message, "headers"
        )
    if isinstance(exc, errors.UnsupportedTransferCoding):
        return Refusal(501, "Not Implemented", "not_implemented", str(exc), "transfer-encoding")
    if isinstance(exc, errors.ExpectationFailed):
        return Refusal(417, "Expectation Failed", "expectation_failed", str(exc), "expect")
    if isinstance(exc, errors.ForbiddenProxyRequest):
        return Refusal(403, "Forbidden", "forbidden", "request forbidden")
    if isinstance(exc, errors.ConfigurationProblem):
        return INTERNAL_ERROR
    if isinstance(exc, errors.ParseException | SSLError):
        return Refusal(400, "Bad Request", "malformed", str(exc))
    return INTERNAL_ERROR


@dataclass
class _Head:
    deadline: float
    data: bytearray = field(default_factory=bytearray)


class HeadFirstWorker(ThreadWorker):
    """gthread, with each request head read on the selector loop before a thread runs it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections whose head is still arriving; insertion order is deadline order.
        self.reading: dict[TConn, _Head] = {}
        self.line_limit = min(self.cfg.limit_request_line, MAX_REQUEST_LINE)  # 0: no limit
        fields = self.cfg.limit_request_fields
        fields = fields if 0 < fields <= MAX_HEADERS else MAX_HEADERS
        size = self.cfg.limit_request_field_size or DEFAULT_MAX_HEADERFIELD_SIZE
        # What gunicorn's parser buffers at most (line and headers) before it refuses.
        self.head_limit = (self.line_limit or MAX_REQUEST_LINE) + 2 + fields * (size + 2) + 4

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl or cfg.http_protocols != ["h1"]:
            raise RuntimeError(f"{cls.__name__} serves plain HTTP/1.1 only (no TLS, no h2)")

    def enqueue_req(self, conn: TConn) -> None:
        """Every way into the thread pool (accepted, kept-alive, pipelined) passes here:
        read the head first."""
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.initialized = True
        head = _Head(time.monotonic() + HEADER_TIMEOUT)
        head.data += conn.parser.unreader.take_buffered()
        if self._parser_can_answer(head.data):
            self._dispatch(conn, head)
            return
        conn.sock.setblocking(False)
        self.reading[conn] = head
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: TConn, _sock: object) -> None:
        head = self.reading[conn]
        try:
            data = conn.sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading(conn)
            self._close(conn)
            return
        head.data += data
        if self._parser_can_answer(head.data):
            self._stop_reading(conn)
            self._dispatch(conn, head)
        elif len(head.data) > self.head_limit:
            self._stop_reading(conn)
            self._refuse(conn, refusal(errors.LimitRequestHeaders("max buffer headers")))

    def _parser_can_answer(self, data: bytearray) -> bool:
        """A complete head, or a request line already over the limit: the parser needs
        no further read (a read on a thread is what a slow client would hold)."""
        if _END_OF_HEAD in data:
            return True
        if not self.line_limit:
            return False
        line = data[2:] if data.startswith(b"\r\n") else data  # one leading CRLF is skipped
        end = line.find(b"\r\n")
        return end > self.line_limit or (end < 0 and len(line) - 2 > self.line_limit)

    def _dispatch(self, conn: TConn, head: _Head) -> None:
        conn.parser.unreader.unread(bytes(head.data))
        super().enqueue_req(conn)

    def _stop_reading(self, conn: TConn) -> None:
        del self.reading[conn]
        self.poller.unregister(conn.sock)

    def murder_pending(self) -> None:
        """Also answer 408 to each head past its deadline (run on every loop turn)."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading:
            conn, head = next(iter(self.reading.items()))
            if head.deadline > now:
                break
            self._stop_reading(conn)
            self._refuse(conn, HEAD_TIMEOUT)

    def _refuse(self, conn: TConn, answer: Refusal) -> None:
        ip = (conn.client or ("",))[0]  # a unix socket's peer has no address
        self.log.warning("Refused request from ip=%s: %s", ip, answer.message)
        try:
            util.write_nonblock(conn.sock, answer.response())
        except OSError:
            self.log.debug("Failed to send the refusal.")
        # Unread bytes at close() make the kernel reset the connection, which can destroy
        # the answer: take what has arrived (without blocking the loop) first.
        with contextlib.suppress(OSError):
            for _ in range(16):
                if not conn.sock.recv(_RECV_SIZE):
                    break
        self._close(conn)

    def _close(self, conn: TConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's handle_error (logging, access log) with a JSON body."""
        answer = refusal(exc)
        response = answer.response()
        addr = addr or ("", -1)  # unix socket
        if answer is INTERNAL_ERROR:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
        if req is None and isinstance(exc, errors.InvalidHeader | errors.InvalidHeaderName):
            req = exc.req  # for the access log
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            resp = Response(req, client, self.cfg)
            resp.status = f"{answer.status} {answer.reason}"
            resp.response_length = len(response)
            self.log.access(resp, req, environ, timedelta(0))
        try:
            util.write_nonblock(client, response)
        except Exception:
            self.log.debug("Failed to send error message.")
