"""One UPDATE statement for many job rows, each guarded by its version.

Django's bulk_update cannot express the guard ("only if this row is older"), and one
UPDATE per row costs a database round trip per job; on the outcome hot path that was
the worker's bottleneck. Values go through each field's own get_db_prep_value, so both
backends store exactly what the ORM would.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Field

from jobs.bulk_insert import column_field, column_of, execute_arrays, unnest
from jobs.models import Job


def update_versioned(
    *, constants: dict[str, Any], columns: list[str], rows: list[list[Any]]
) -> int:
    """UPDATE job SET constants, columns FROM rows WHERE id matches AND version is older.

    `columns` must start with "id" and contain "version"; each row lists their values.
    A JSON column's value is passed as JSON text already (no parse and re-encode).
    """
    if not rows:
        return 0
    qn = connection.ops.quote_name
    table = qn(Job._meta.db_table)
    fields = [column_field(Job, c) for c in columns]
    postgres = connection.vendor == "postgresql"

    const_fields = [(column_field(Job, name), value) for name, value in constants.items()]
    sets = [f"{qn(column_of(f))} = %s" for f, _ in const_fields]
    sets += [f"{qn(column_of(f))} = v.{qn(column_of(f))}" for f in fields if f.name != "id"]
    set_params = [_prep(f, value) for f, value in const_fields]
    cols = ", ".join(qn(column_of(f)) for f in fields)
    set_sql = ", ".join(sets)
    id_, version = qn("id"), qn("version")
    prepped = [[_prep(f, value) for f, value in zip(fields, row, strict=True)] for row in rows]
    # Identifiers come from model metadata through quote_name; values are parameters.
    if postgres:
        head = f"UPDATE {table} AS j SET {set_sql} FROM {unnest(fields)} AS v({cols})"  # noqa: S608  # nosec B608
        sql = f"{head} WHERE j.{id_} = v.{id_} AND j.{version} < v.{version}"
        params = set_params + [list(column) for column in zip(*prepped, strict=True)]
        return execute_arrays(sql, params)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values_sql = ", ".join([row_sql] * len(rows))
    head = f"WITH v({cols}) AS (VALUES {values_sql}) UPDATE {table} SET {set_sql} FROM v"  # noqa: S608  # nosec B608
    where = f"{table}.{id_} = v.{id_} AND {table}.{version} < v.{version}"
    sql = f"{head} WHERE {where}"
    params = [value for row in prepped for value in row] + set_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _prep(field: Field, value: Any) -> Any:
    if field.get_internal_type() == "JSONField":
        return value  # already JSON text (or None for SQL NULL)
    return field.get_db_prep_value(value, connection, prepared=False)
