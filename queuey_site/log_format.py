"""Log formats: JSON lines (QUEUEY_LOG_FORMAT=json) or readable text, same fields.

Event records (jobs/events.py) carry their fields as `extra`; JSON puts each one at the
top level of the line, text appends them as `key=value` after the message, so a record
reads the same in a terminal and in a log store.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

_STANDARD = frozenset(RESERVED_ATTRS) | {"taskName"}


class KeyValueFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> <message> key=value ...` with the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key != "event" and value is not None
        ]
        if not extra:
            return line
        head, sep, rest = line.partition("\n")  # a traceback stays below the fields
        return f"{head} {' '.join(extra)}{sep}{rest}"


_LINE = "%(asctime)s %(levelname)s %(name)s %(message)s"
FORMATS = ("json", "text")


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter of a QUEUEY_LOG_FORMAT value."""
    if fmt == "json":
        return JsonFormatter(
            _LINE, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
        )
    return KeyValueFormatter(_LINE)


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """The LOGGING dict for settings: one console handler in the chosen format."""
    if fmt not in FORMATS:
        raise ValueError(f"QUEUEY_LOG_FORMAT must be 'json' or 'text', not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {fmt: {"()": make_formatter, "fmt": fmt}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
