"""A throwaway PostgreSQL cluster of the test's own (like scripts/test.sh): initdb as the
`postgres` user (initdb refuses root) in a temporary directory, on a free port. The
machine's shared server is never touched."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.redis_server import free_port
from tests.support.stack import migrate_database

ROOT = Path(__file__).resolve().parents[2]


def pg_bindir() -> str | None:
    for d in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]), reverse=True
    ):
        if all(os.access(f"{d}/{b}", os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    initdb = shutil.which("initdb")
    return str(Path(initdb).resolve().parent) if initdb else None


class PgCluster:
    def __init__(self, dbname: str = "queuey_chaos_own") -> None:
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries are not installed")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="queuey-chaos-pg-"))
        self.dbname = dbname
        os.chmod(self.dir, 0o700)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def _as_pg(self, *args: str, **kw) -> subprocess.CompletedProcess:
        cmd = ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else list(args)
        return subprocess.run(cmd, cwd=self.dir, check=True, capture_output=True, timeout=120, **kw)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.dbname}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> PgCluster:
        self._as_pg(
            f"{self.bindir}/initdb",
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.start()
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        migrate_database(self.url)
        return self

    def start(self) -> None:
        self._as_pg(
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_pg(
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-m",
            mode,
            "-w",
            "-t",
            "60",
            "stop",
        )

    def terminate_backends(self, only_in_transaction: bool = False) -> int:
        """Kill the application's server connections (optionally only those inside a
        transaction); returns how many were killed."""
        import psycopg

        where = "AND xact_start IS NOT NULL" if only_in_transaction else ""
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
                f"WHERE datname = %s AND pid <> pg_backend_pid() {where}",
                (self.dbname,),
            ).fetchall()
        return len(rows)

    def cleanup(self) -> None:
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
