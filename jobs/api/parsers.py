"""Request bodies: bounded in size before they are read, strict JSON, bounded nesting.

Plain DRF reads the whole body whatever its length, accepts NaN and Infinity, and lets
RecursionError (about 1,000 nested arrays on Python 3.11) escape as a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from jobs import conf

# Nesting the API itself adds around a payload (body -> jobs -> item -> payload), so a
# payload at the limit still parses and the service names the field when it is over.
ENVELOPE_DEPTH = 3


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "the request body is too large"
    default_code = "payload_too_large"


def check_body_size(request: Request) -> None:
    """Refuse by Content-Length before a byte of the body is read."""
    limit = conf.get("MAX_REQUEST_BYTES")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParseError("Content-Length is not a number") from None
    if length > limit:
        raise RequestTooLarge(f"the request body is {length} bytes; the limit is {limit}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf, which PostgreSQL cannot store
        raise ValueError("number out of range")
    return value


def _check_depth(value: Any, max_depth: int) -> None:
    """Iterative, so hostile nesting cannot overflow the stack here either."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise ParseError(f"the request body nests deeper than {max_depth} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class StrictJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = conf.get("MAX_REQUEST_BYTES")
        # Content-Length was checked already; read at most one byte past the limit anyway
        # so a body without a trustworthy length still costs bounded memory.
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"the request body is over the limit of {limit} bytes")
        try:
            data = json.loads(
                raw.decode("utf-8"),
                parse_constant=_reject_constant,
                parse_float=_finite_float,
            )
        except RecursionError:
            raise ParseError("the request body nests too deeply") from None
        except json.JSONDecodeError as exc:
            raise ParseError(f"the request body is not valid JSON: {exc}") from None
        except ValueError:  # not UTF-8, NaN/Infinity, 1e400, integers of 4,300+ digits
            raise ParseError(
                "the request body is not valid JSON (UTF-8, finite numbers, integers of at "
                "most 4,300 digits)"
            ) from None
        _check_depth(data, conf.get("MAX_JSON_DEPTH") + ENVELOPE_DEPTH)
        return data
