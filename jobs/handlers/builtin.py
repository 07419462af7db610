"""Built-in handlers for the README, the tests, the benchmark and the load test."""

from __future__ import annotations

import time
from typing import Any

from jobs.handlers.ledger import record_step
from jobs.handlers.registry import PayloadError, handler


def _require(payload: dict[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    value = payload.get(field)
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise PayloadError(f"payload.{field} must be a {names}", field=f"payload.{field}")
    return value


def _validate_text(payload: dict[str, Any]) -> None:
    _require(payload, "text", str)


def _validate_sleep(payload: dict[str, Any]) -> None:
    if "fail" in payload and not isinstance(payload["fail"], bool):
        raise PayloadError("payload.fail must be a boolean", field="payload.fail")
    seconds = _require(payload, "seconds", (int, float))
    if not 0 <= seconds <= 3600:
        raise PayloadError("payload.seconds must be between 0 and 3600", field="payload.seconds")


def _validate_flaky(payload: dict[str, Any]) -> None:
    fail_times = _require(payload, "fail_times", int)
    if not 0 <= fail_times <= 100:
        raise PayloadError("payload.fail_times must be between 0 and 100", "payload.fail_times")


@handler("text.reverse", validate=_validate_text)
def reverse_text(payload: dict[str, Any]) -> str:
    return payload["text"][::-1]


@handler("demo.noop")
def noop(payload: dict[str, Any]) -> None:
    record_step(payload, "start")
    record_step(payload, "end")
    return None


@handler("demo.sleep", validate=_validate_sleep)
def sleep(payload: dict[str, Any]) -> dict[str, float]:
    record_step(payload, "start")
    time.sleep(float(payload["seconds"]))
    record_step(payload, "end")
    if payload.get("fail"):  # the chaos suite's late *fail* after a lost lease
        raise RuntimeError("demo.sleep: failing after the sleep on purpose")
    return {"slept": float(payload["seconds"])}


@handler("demo.flaky", validate=_validate_flaky)
def flaky(payload: dict[str, Any]) -> str:
    from jobs.handlers.context import current_attempt

    record_step(payload, "start")
    if current_attempt() <= payload["fail_times"]:
        raise RuntimeError(f"demo.flaky: failing attempt {current_attempt()} on purpose")
    record_step(payload, "end")
    return "ok"


@handler("demo.fail", max_attempts=3, backoff_base=0.2, backoff_max=1.0)
def fail(payload: dict[str, Any]) -> None:
    record_step(payload, "start")
    raise RuntimeError(str(payload.get("message", "demo.fail always fails")))
