"""A lean closed-loop HTTP/1.1 load driver on asyncio streams.

The driver shares the machine's two cores with the server it measures, so every
microsecond it spends per request is taken from the server: aiohttp costs about four
times what this does (header objects, cookie jar, connection pool, tracing hooks). Each
client owns one keep-alive connection, sends a prebuilt request and reads the response
by its Content-Length (or chunked encoding), reconnecting when the server closes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class DriveResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0

    @property
    def requests_per_s(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, server keeps the connection); the body is read and dropped."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length = -1
    chunked = False
    keep_alive = True
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length >= 0:
        await reader.readexactly(length)
    else:  # no length: the body runs to the end of the connection
        await reader.read()
        keep_alive = False
    return status, keep_alive


async def _exchange(reader, writer, request: bytes, since: float, result: DriveResult, ok) -> bool:
    """Send one request and read its reply, recording its latency from `since`. Returns
    whether the connection stays open (closed here when the server or a failure ends it)."""
    try:
        writer.write(request)
        status, keep_alive = await _read_response(reader)
    except (ConnectionError, asyncio.IncompleteReadError):
        result.errors += 1
        writer.close()
        return False
    result.latencies_ms.append((time.perf_counter() - since) * 1000)
    if status not in ok:
        result.errors += 1
    if not keep_alive:
        writer.close()
    return keep_alive


async def drive(
    host: str, port: int, request: bytes, *, clients: int, seconds: float, ok=(200, 201)
) -> DriveResult:
    """Closed loop: `clients` connections, each sending its next request on the last reply."""
    result = DriveResult()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        reader = writer = None
        while time.monotonic() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            if not await _exchange(reader, writer, request, time.perf_counter(), result, ok):
                writer = None
        if writer is not None:
            writer.close()

    start = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.elapsed_s = time.monotonic() - start
    return result


async def drive_paced(
    host: str,
    port: int,
    request: bytes,
    *,
    rate: float,
    seconds: float,
    connections: int = 32,
    ok=(200, 201),
) -> DriveResult:
    """Open loop: one request every 1/rate s, whatever the replies do. Each latency runs
    from the request's scheduled send time, so a server that falls behind is charged for
    the queue it builds (no coordinated omission); a request waits for a free connection
    when all `connections` are busy."""
    result = DriveResult()
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(None)  # a slot; the connection opens on first use

    async def send(due: float) -> None:
        conn = await pool.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port)
        except OSError:
            result.errors += 1
            pool.put_nowait(None)
            return
        kept = await _exchange(*conn, request, due, result, ok)
        pool.put_nowait(conn if kept else None)

    total = int(rate * seconds)
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(send(due)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - start
    while not pool.empty():
        conn = pool.get_nowait()
        if conn is not None:
            conn[1].close()
    return result
