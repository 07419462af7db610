"""JSON that both SQLite and PostgreSQL can store, within size and depth limits."""

from __future__ import annotations

import json
import math
from typing import Any

from jobs.errors import InvalidInput, PayloadTooLarge


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: the form that is measured, hashed and sent to Redis."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def check_storable(value: Any, *, field: str, max_depth: int) -> None:
    """Refuse what PostgreSQL's jsonb cannot hold or what nests deeper than max_depth.

    Walks iteratively: a recursive walk would itself overflow on hostile nesting.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidInput(f"{field} nests deeper than {max_depth} levels", field=field)
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                if isinstance(key, str):
                    _check_string(key, field)
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            _check_string(item, field)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(
                f"{field} holds a number out of range (NaN or infinity)", field=field
            )


def _check_string(text: str, field: str) -> None:
    if "\x00" in text:
        raise InvalidInput(f"{field} holds a NUL character (\\u0000)", field=field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} holds an unpaired surrogate", field=field) from None


def encode_limited(value: Any, *, field: str, max_bytes: int, max_depth: int) -> str:
    """Validate and encode; raise PayloadTooLarge past max_bytes (UTF-8).

    Encodes first and walks the value only when the text says it might break a rule
    (an escaped NUL, more brackets than max_depth, a float or string the encoder
    refused): the walk cost more than the encoding for every ordinary payload.
    """
    try:
        text = json.dumps(
            value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
        )
        size = len(text.encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        check_storable(value, field=field, max_depth=max_depth)  # names what is wrong
        raise InvalidInput(f"{field} cannot be stored as JSON", field=field) from None
    if "\\u0000" in text or text.count("{") + text.count("[") > max_depth:
        check_storable(value, field=field, max_depth=max_depth)
    if size > max_bytes:
        raise PayloadTooLarge(f"{field} is {size} bytes; the limit is {max_bytes}", field=field)
    return text
