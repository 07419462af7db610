"""Benchmark settings: the production settings plus a bare DRF endpoint as the ceiling."""

from queuey_site.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
