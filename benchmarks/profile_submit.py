"""Profile the submit path in one process, through the real WSGI application, or the
in-process enqueue (jobs.enqueue) the same way.

python -m benchmarks.profile_submit [--db sqlite|postgres]
    [--path /v1/jobs|/v1/jobs/batch|enqueue|enqueue_many] [--requests N]
    [--sort tottime|cumulative]

Uses the benchmark's own Redis and database (benchmarks.env). Prints the requests per
second of the one process (no HTTP server, no client) and the top of a cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time

from benchmarks.env import BenchRedis, base_env, database_urls


def _environ(path: str, body: bytes, key: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_API_KEY": key,
        "HTTP_ACCEPT": "*/*",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--path", default="/v1/jobs")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--no-profile", action="store_true", help="only the rate")
    parser.add_argument(
        "--site-chain", action="store_true", help="the site's full middleware chain for /v1"
    )
    args = parser.parse_args()
    redis_server = BenchRedis()
    try:
        _profile(args, redis_server)
    finally:
        redis_server.close()


def _profile(args: argparse.Namespace, redis_server: BenchRedis) -> None:
    url = database_urls()[args.db]
    os.environ.update(base_env(url, redis_server.url, QUEUEY_API_RATE="100000000/minute"))
    import django

    django.setup()
    from django.core.management import call_command

    from jobs.apikeys import create_api_key

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    _, key = create_api_key(name="profile", scope="admin")
    if args.path.endswith("/batch"):
        jobs = [{"type": "demo.noop", "payload": {"n": i}} for i in range(100)]
        body = json.dumps({"jobs": jobs})
    else:
        body = json.dumps({"type": "demo.noop", "payload": {"n": 1}})
    if args.site_chain:
        from django.core.handlers.wsgi import WSGIHandler

        app = WSGIHandler()
    else:
        from queuey_site.wsgi import application as app  # what gunicorn serves

    statuses: list[str] = []
    if args.path in ("enqueue", "enqueue_many"):
        once = _enqueue_call(args.path)
    else:
        once = _wsgi_call(app, args.path, body.encode(), key, statuses)

    for _ in range(200):  # warm caches, connections, scripts
        once()
    profile = cProfile.Profile()
    began = time.perf_counter()
    if not args.no_profile:
        profile.enable()
    for _ in range(args.requests):
        once()
    profile.disable()
    elapsed = time.perf_counter() - began
    bad = [s for s in statuses if not s.startswith(("200", "201"))]
    mode = "" if args.no_profile else " (under cProfile)"
    print(f"{args.requests / elapsed:.0f} requests/s in one process{mode}; bad={len(bad)}")
    if not args.no_profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(35)


def _wsgi_call(app, path: str, body: bytes, key: str, statuses: list[str]):
    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def once() -> None:
        response = app(_environ(path, body, key), start_response)
        b"".join(response)

    return once


def _enqueue_call(kind: str):
    """What benchmarks.enqueue_callers times: one job a call, or 100 a call."""
    from jobs.enqueue import enqueue, enqueue_many

    if kind == "enqueue":
        return lambda: enqueue("demo.noop", {"n": 1})
    jobs = [{"type": "demo.noop", "payload": {"n": i}} for i in range(100)]
    return lambda: enqueue_many(jobs)


if __name__ == "__main__":
    main()
