"""A producer that commits a transaction holding an enqueued job, then dies at once,
before the job reaches Redis (test_transactional_enqueue.py runs it as a process).

Usage: python -m tests.acceptance.commit_then_die <text>; prints the job id, exits 17.
"""

from __future__ import annotations

import os
import sys

import django

DIED_AFTER_COMMIT = 17


def main() -> None:
    django.setup()
    from django.db import transaction

    from jobs.enqueue import enqueue

    with transaction.atomic():
        # on_commit callbacks run in order: this one, registered before enqueue's own,
        # runs first, so the row is committed and the process gone before the dispatch.
        transaction.on_commit(lambda: os._exit(DIED_AFTER_COMMIT))
        job_id = enqueue("text.reverse", {"text": sys.argv[1]})
        print(job_id, flush=True)
    raise SystemExit("the commit did not run the on_commit callbacks")


if __name__ == "__main__":
    main()
