"""Redis key names: the one place that builds them.

Every key shares the hash tag `{main}`, so all of them live in one Redis Cluster slot and
the Lua scripts may touch any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:{{main}}"

    @property
    def job_prefix(self) -> str:
        return f"{self.base}:job:"

    @property
    def queue_prefix(self) -> str:
        return f"{self.base}:queue:"

    def job(self, job_id: str) -> str:
        return self.job_prefix + job_id

    def queue(self, name: str) -> str:
        return self.queue_prefix + name

    @property
    def scheduled(self) -> str:
        return f"{self.base}:scheduled"

    @property
    def leases(self) -> str:
        return f"{self.base}:leases"

    @property
    def dlq(self) -> str:
        return f"{self.base}:dlq"

    @property
    def outbox(self) -> str:
        return f"{self.base}:outbox"

    @property
    def notify(self) -> str:
        return f"{self.base}:notify"

    @property
    def token_seq(self) -> str:
        return f"{self.base}:token_seq"

    @property
    def epoch(self) -> str:
        """Sentinel set by the watchdog; its absence means Redis lost its data."""
        return f"{self.base}:epoch"

    @property
    def watchdog_pass(self) -> str:
        return f"{self.base}:watchdog_pass"

    @property
    def workers(self) -> str:
        return f"{self.base}:workers"

    def worker(self, worker_id: str) -> str:
        return f"{self.base}:worker:{worker_id}"

    def rate_window(self, scope: str, ident: str, window: int) -> str:
        return f"{self.base}:rate:{scope}:{ident}:{window}"

    def lock(self, name: str) -> str:
        return f"{self.base}:lock:{name}"

    @property
    def key_revocations(self) -> str:
        """Pub/sub channel: an API key was revoked, drop cached keys."""
        return f"{self.base}:key_revocations"
