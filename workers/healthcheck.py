"""`python -m workers.healthcheck [--max-age SECONDS]`: exit 0 while this container's
worker or watchdog touched its heartbeat file recently, 1 otherwise (with the reason).

Imports neither Django nor redis, so the check itself is quick and cannot be the thing
that times out on a busy host.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from workers import heartbeat_file


def heartbeat_age(target: str) -> float | None:
    try:
        return max(0.0, time.time() - os.stat(target).st_mtime)
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-age", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument(
        "--file", default=heartbeat_file.path(), help=f"default ${heartbeat_file.ENV}"
    )
    args = parser.parse_args(argv)
    if not args.file:
        print(f"unhealthy: no heartbeat file configured (set {heartbeat_file.ENV})")
        return 1
    age = heartbeat_age(args.file)
    if age is None:
        print(f"unhealthy: no heartbeat yet ({args.file} missing)")
        return 1
    if age > args.max_age:
        print(f"unhealthy: last heartbeat {age:.0f}s ago (limit {args.max_age:g}s)")
        return 1
    print(f"healthy: last heartbeat {age:.1f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
