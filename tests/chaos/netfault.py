"""A TCP proxy in front of Redis that can blackhole traffic, like a network cut.

While blackholed, bytes in both directions are read and dropped: the peer sees no error,
only silence (as with a pulled cable or a dropped route). Healing closes the connections
that lost bytes, as a stateful firewall that forgot them would (the client gets a reset
on its next write and must reconnect); new connections work again at once.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading

from tests.support.redis_server import free_port


class BlackholeProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.blackholed = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket, dict]] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                client.close()
                continue
            state = {"dropped": False}
            with self._lock:
                self._pairs.append((client, upstream, state))
            threading.Thread(target=self._pump, args=(client, upstream, state), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket, state: dict) -> None:
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if self.blackholed.is_set():
                        state["dropped"] = True  # silence: the bytes vanish
                        continue
                    peers[sock].sendall(data)
                if state["dropped"] and not self.blackholed.is_set():
                    return  # healed: this connection lost bytes, reset it
        except OSError:
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.blackholed.set()

    def heal(self) -> None:
        self.blackholed.clear()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)
