"""`python -m queuey_site.container_health [--ready]`: the one container health check of
the image, for every role.

QUEUEY_ROLE (the image sets `api`; Compose and the ECS task definitions set the others)
picks what "healthy" means:

- `api`: GET /healthz (with --ready: /readyz, which also asks the database and Redis) on
  the port gunicorn binds (GUNICORN_BIND, else PORT, else 8000), over loopback;
- `worker`, `watchdog`: the heartbeat file (QUEUEY_HEARTBEAT_FILE) was touched within
  --max-age seconds (`workers.healthcheck`): the worker's lease keeper touches it at each
  heartbeat, the watchdog after each pass, both only after Redis answered.

Exit 0 when healthy, 1 otherwise, with one line saying why. Like workers.healthcheck it
imports neither Django nor redis: a check must stay quick on a busy host.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

ROLE_ENV = "QUEUEY_ROLE"
ROLES = ("api", "worker", "watchdog")
_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]", "*"}  # noqa: S104  # nosec B104  # parsed, never bound


def api_url(path: str, environ: Mapping[str, str] | None = None) -> str:
    """The loopback URL of `path` on the address gunicorn.conf.py binds."""
    env = os.environ if environ is None else environ
    bind = (env.get("GUNICORN_BIND") or "").strip()
    if not bind:
        return f"http://127.0.0.1:{env.get('PORT') or '8000'}{path}"
    if bind.startswith(("unix:", "fd://")):
        raise ValueError(f"GUNICORN_BIND={bind!r} is not a TCP address: cannot probe it")
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"GUNICORN_BIND={bind!r}: expected HOST:PORT")
    if host in _ANY_ADDRESS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def check_api(*, ready: bool, timeout: float) -> tuple[bool, str]:
    path = "/readyz" if ready else "/healthz"
    try:
        url = api_url(path)
    except ValueError as exc:
        return False, f"unhealthy: {exc}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310  # loopback
            return True, f"healthy: {path} answered {response.status}"
    except urllib.error.HTTPError as exc:  # /readyz: 503 names the store that is down
        body = exc.read(300).decode("utf-8", "replace")
        return False, f"unhealthy: {path} answered {exc.code} {body}"
    except (OSError, ValueError) as exc:
        return False, f"unhealthy: {url}: {exc}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The container health check of every role.")
    parser.add_argument(
        "--role", default=os.environ.get(ROLE_ENV, "api"), help=f"default ${ROLE_ENV}, else api"
    )
    parser.add_argument("--ready", action="store_true", help="api: /readyz instead of /healthz")
    parser.add_argument("--timeout", type=float, default=3.0, help="api: seconds (default 3)")
    parser.add_argument(
        "--max-age", type=float, default=30.0, help="worker/watchdog: seconds (default 30)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.role == "api":
        ok, message = check_api(ready=args.ready, timeout=args.timeout)
        print(message)
        return 0 if ok else 1
    if args.role in ("worker", "watchdog"):
        from workers import healthcheck

        return healthcheck.main(["--max-age", str(args.max_age)])
    print(f"unhealthy: unknown {ROLE_ENV}={args.role!r} (one of {', '.join(ROLES)})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
