"""Handler registry and the built-in handlers; importing this package registers them."""

from jobs.handlers import builtin  # noqa: F401  (registers the built-in handlers)
from jobs.handlers.registry import PayloadError, handler

__all__ = ["PayloadError", "handler"]
