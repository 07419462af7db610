"""The queues, highest priority first: importable without Django (workers/supervise.py)."""

QUEUES = ("high", "default", "low")  # strict priority order
