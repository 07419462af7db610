"""A Redis Cluster of the test's own: N masters on loopback ports, no replicas."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import redis

from tests.support.redis_server import RedisServer, free_port

# Every node also listens on its port + 10000 (the cluster bus).
BUS_OFFSET = 10000


def free_cluster_port() -> int:
    """A free port whose bus port (+10000) is free and below 65536 too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
        return port


class RedisCluster:
    def __init__(self, masters: int = 3) -> None:
        self.nodes = [
            RedisServer(extra=["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
            for _ in range(masters)
        ]
        for node in self.nodes:
            node.port = free_cluster_port()
            node.extra += ["--cluster-config-file", str(node.dir / "nodes.conf")]

    @property
    def url(self) -> str:
        """The REDIS_URL that names this cluster (any node will do)."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> RedisCluster:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli is not installed (it comes with redis-server)")
        subprocess.run(  # fixed argv: redis-cli and our own ports  # nosec B603
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._wait_ok()
        return self

    def _wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [self.client(n).cluster("info")["cluster_state"] for n in self.nodes]
            if all(state == "ok" for state in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    @staticmethod
    def client(node: RedisServer) -> redis.Redis:
        """A plain client of one master (for FLUSHALL, DBSIZE and SCAN on that node)."""
        return redis.Redis(port=node.port, decode_responses=True, socket_timeout=5)

    def flushall(self) -> None:
        for node in self.nodes:
            self.client(node).flushall()

    def keys_per_master(self, pattern: str) -> list[int]:
        return [sum(1 for _ in self.client(n).scan_iter(pattern, count=1000)) for n in self.nodes]

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
