"""Benchmark settings: the production settings plus a bare DRF endpoint as the ceiling."""

import os

from queuey_site.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"

# The hop probe (benchmarks/hops.py): workers that time each step of a job's start.
if os.environ.get("BENCH_HOPS_DIR"):
    QUEUEY_WORKER_CLASS = "benchmarks.hops.HopWorker"
