"""Strict serializer fields: JSON types as sent, nothing coerced.

DRF by default turns 5 into "5" for a CharField and "5" into 5 for an IntegerField; for a
job queue an exact contract beats leniency (a dedupe key of 123 and "123" must not be the
same thing by accident).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.handlers.registry import get_handler, registered_types


class StrictCharField(serializers.CharField):
    """A JSON string, kept exactly as sent (no trimming)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class JobTypeField(StrictCharField):
    """A registered job type. The schema lists them as an enum (jobs.api.docs), so an
    unknown one breaks the schema and is refused here, with the valid ones listed."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if get_handler(value) is None:
            raise serializers.ValidationError(
                f"unknown job type; valid types: {', '.join(registered_types())}"
            )
        return value


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictNumberField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        try:
            return float(data)
        except OverflowError:  # an integer too large for a float
            self.fail("max_value", max_value=self.max_value)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset; a naive time is ambiguous across hosts, so refused."""

    default_error_messages = {
        "naive": "give a UTC offset, e.g. 2030-01-01T12:00:00Z",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.JSONField):
    """A JSON object (already parsed and depth-checked by the parser)."""

    default_error_messages = {"not_object": "must be a JSON object"}

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            self.fail("not_object")
        return data
