"""Load generator: submits jobs at a steady rate and records every submit's outcome.

    python -m tests.chaos.loadgen --out record.jsonl --rate 100 --seconds 60 \
        [--http http://127.0.0.1:8000 --key KEY] [--threads 8] [--mix noop:6,sleep:3,flaky:1]

Without --http it calls jobs.services.submit_job in this process (DJANGO_SETTINGS_MODULE
and DATABASE_URL from the environment). Each line of --out is one submit:
{"status": acknowledged | refused | unknown, "job": id or null, "detail", "t"}.
Refused means a definite no (4xx, 503, StoreUnavailable); unknown means we cannot tell
(timeout, connection reset, other 5xx). Stops by itself after --seconds or --count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request


def payload_for(kind: str, rng: random.Random, i: int) -> tuple[str, dict]:
    if kind == "sleep":
        return "demo.sleep", {"seconds": round(rng.uniform(0.01, 0.3), 3), "i": i}
    if kind == "flaky":
        return "demo.flaky", {"fail_times": 1, "i": i}
    return "demo.noop", {"i": i}


class Recorder:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.lock = threading.Lock()

    def add(self, status: str, job: str | None, detail: str = "") -> None:
        line = json.dumps({"status": status, "job": job, "detail": detail[:200], "t": time.time()})
        with self.lock:
            os.write(self.fd, (line + "\n").encode())


def submit_services(type_: str, payload: dict, dedupe: str | None) -> tuple[str, str | None, str]:
    from django.db import close_old_connections

    from jobs.errors import QueueyError
    from jobs.services import submit_job
    from jobs.submission import JobRequest

    close_old_connections()  # as a request would: drop a connection the server closed
    try:
        result = submit_job(JobRequest(type=type_, payload=payload, dedupe_key=dedupe))
    except QueueyError as exc:
        return "refused", None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        return "unknown", None, repr(exc)
    return "acknowledged", result.job_id, ""


def submit_http(base: str, key: str, type_: str, payload: dict, dedupe: str | None):
    body = {"type": type_, "payload": payload}
    if dedupe:
        body["dedupe_key"] = dedupe
    req = urllib.request.Request(
        base.rstrip("/") + "/v1/jobs",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return "acknowledged", json.loads(resp.read())["job_id"], str(resp.status)
    except urllib.error.HTTPError as exc:
        text = exc.read()[:200].decode(errors="replace")
        if exc.code < 500 or exc.code == 503:
            return "refused", None, f"{exc.code} {text}"
        return "unknown", None, f"{exc.code} {text}"
    except Exception as exc:
        return "unknown", None, repr(exc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--http", default="")
    ap.add_argument("--key", default="")
    ap.add_argument("--mix", default="noop:6,sleep:3,flaky:1")
    ap.add_argument("--dedupe", default="")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not args.http:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
        django.setup()
    kinds = []
    for part in args.mix.split(","):
        name, weight = part.split(":")
        kinds += [name] * int(weight)
    rec = Recorder(args.out)
    total = args.count or int(args.rate * args.seconds)
    start = time.monotonic()
    counter = iter(range(total))
    lock = threading.Lock()

    def run(seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with lock:
                i = next(counter, None)
            if i is None or time.monotonic() - start > args.seconds + 30:
                return
            wait = start + i / args.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            type_, payload = payload_for(rng.choice(kinds), rng, i)
            dedupe = args.dedupe or None
            if args.http:
                status, job, detail = submit_http(args.http, args.key, type_, payload, dedupe)
            else:
                status, job, detail = submit_services(type_, payload, dedupe)
            rec.add(status, job, detail)

    threads = [
        threading.Thread(target=run, args=(args.seed * 1000 + t,)) for t in range(args.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
