"""The handler registry: `@handler("text.reverse")` maps a job type to a function.

Handlers live in `<app>/handlers.py` (or a `handlers` package) of any installed app and
are discovered in `JobsConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules


class PayloadError(ValueError):
    """A payload the handler cannot accept; `field` names the offending key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    func: Callable[[dict[str, Any]], Any]
    queue: str = "default"
    max_attempts: int | None = None
    timeout: float | None = None
    validate: Callable[[dict[str, Any]], None] | None = None
    # Per-type backoff overrides; None falls back to the QUEUEY_BACKOFF_* settings.
    backoff_base: float | None = None
    backoff_factor: float | None = None
    backoff_max: float | None = None


_registry: dict[str, HandlerSpec] = {}


def handler(
    name: str,
    *,
    queue: str = "default",
    max_attempts: int | None = None,
    timeout: float | None = None,
    validate: Callable[[dict[str, Any]], None] | None = None,
    backoff_base: float | None = None,
    backoff_factor: float | None = None,
    backoff_max: float | None = None,
) -> Callable[[Callable[[dict[str, Any]], Any]], Callable[[dict[str, Any]], Any]]:
    """Register the decorated function as the handler of job type `name`."""

    def register(func: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        if name in _registry and _registry[name].func is not func:
            raise ValueError(f"job type {name!r} is registered twice")
        _registry[name] = HandlerSpec(
            name=name,
            func=func,
            queue=queue,
            max_attempts=max_attempts,
            timeout=timeout,
            validate=validate,
            backoff_base=backoff_base,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
        )
        return func

    return register


def get_handler(name: str) -> HandlerSpec | None:
    return _registry.get(name)


def registered_types() -> list[str]:
    return sorted(_registry)


def autodiscover() -> None:
    autodiscover_modules("handlers")
