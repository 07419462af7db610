"""Multi-row INSERT for the hot paths (submit, batch submit, attempt rows).

Django's bulk_create compiles every value of every row through the SQL compiler, which
cost more than the database itself on the submit and outcome paths (profiled: 45% of a
100-job batch request). Here each column's conversion is looked up once and applied
directly, so both backends store exactly what the ORM would, at a fraction of the cost.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.db.backends.utils import CursorWrapper

Converter = Callable[[Any], Any]

# PostgreSQL: from this many rows on, one array parameter per column (see unnest); below
# it, psycopg dumps a few scalars faster than it dumps arrays (a single submit's insert
# cost twice as much as arrays).
ARRAY_MIN_ROWS = 8


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """INSERT rows (values in `columns` order); returns the number of rows inserted.

    A JSON column's value is JSON text already (no parse and re-encode). With
    `ignore_conflicts`, a row that breaks a unique constraint is skipped silently.
    """
    return insert_plan(model, columns, rows, ignore_conflicts=ignore_conflicts)()


def insert_plan(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> Callable[[], int]:
    """insert_rows in two steps: the values are converted now, the statements run when
    the returned function is called. A writer that holds a lock while it inserts (SQLite's
    write lock, from BEGIN IMMEDIATE on) converts before it takes the lock."""
    if not rows:
        return lambda: 0
    statement = _statement(model, tuple(columns), ignore_conflicts, connection.vendor)
    if statement.arrays and len(rows) >= ARRAY_MIN_ROWS:
        by_column = zip(*rows, strict=True)
        columns_data = [
            list(col) if c is _identity else [c(v) for v in col]
            for c, col in zip(statement.convert, by_column, strict=True)
        ]
        sql, params = statement.arrays_with_constants(columns_data)
        return lambda: max(execute_arrays(sql, params), 0)
    width = len(columns)
    if any(len(row) != width for row in rows):
        raise ValueError(f"every row needs {width} values")
    chunks = []
    for start in range(0, len(rows), statement.rows_per_statement):
        chunk = rows[start : start + statement.rows_per_statement]
        params = [v for row in chunk for v in row]
        # Only the columns whose values change (ids, times): most pass as they are.
        for column, change in statement.converting:
            params[column::width] = [change(v) for v in params[column::width]]
        chunks.append((statement.sql(len(chunk)), params))

    def run() -> int:
        inserted = 0
        with connection.cursor() as cursor:
            for sql, params in chunks:
                if statement.qmark:
                    _execute_qmark(cursor, sql, params)
                else:
                    cursor.execute(sql, params)
                inserted += max(cursor.rowcount, 0)
        return inserted

    return run


def _execute_qmark(cursor: CursorWrapper, sql: str, params: list[Any]) -> None:
    """SQLite: run qmark-style SQL on the driver's cursor. Django's wrapper rewrites
    every `%s` with a regex on each call, a twentieth of a 100-job batch request; the
    statement text here is built with `?` once and cached."""
    with connection.wrap_database_errors:
        sqlite3.Cursor.execute(cursor.cursor, sql, params)


class _Statement:
    """An INSERT's text and per-column conversions, built once per shape."""

    def __init__(self, model: type[models.Model], columns: tuple[str, ...], ignore: bool) -> None:
        fields = [column_field(model, c) for c in columns]
        postgres = connection.vendor == "postgresql"
        qn = connection.ops.quote_name
        self.convert = [_converter(f) for f in fields]
        self.converting = [(i, c) for i, c in enumerate(self.convert) if c is not _identity]
        self.qmark = connection.vendor == "sqlite"
        placeholder = "?" if self.qmark else "%s"
        self.row_sql = "(" + ", ".join([placeholder] * len(fields)) + ")"
        # ON CONFLICT DO NOTHING on both: SQLite's INSERT OR IGNORE would also drop a row
        # that breaks NOT NULL, silently.
        head = "INSERT INTO"
        cols = ", ".join(qn(column_of(f)) for f in fields)
        # Identifiers come from model metadata through quote_name; values are parameters.
        self.head = f"{head} {qn(model._meta.db_table)} ({cols}) VALUES "
        self.tail = " ON CONFLICT DO NOTHING" if ignore else ""
        self.rows_per_statement = max(1, _max_params() // len(fields))
        self.arrays = postgres
        self.array_sql = (
            f"{head} {qn(model._meta.db_table)} ({cols}) SELECT * FROM {unnest(fields)}{self.tail}"  # noqa: S608  # nosec B608
        )
        self.insert_head = f"{head} {qn(model._meta.db_table)} ({cols})"
        self.db_types = [f.db_type(connection) for f in fields] if postgres else []
        self._sql: dict[int, str] = {}
        self._constant_sql: dict[tuple[bool, ...], str] = {}

    def arrays_with_constants(self, columns_data: list[list[Any]]) -> tuple[str, list[Any]]:
        """PostgreSQL: a column whose value is the same in every row (a new job's error,
        result, attempts, timestamps ...) goes as one scalar, not an array: psycopg dumps
        array elements one by one in Python (a sixth of the GIL's time in a 16-caller
        enqueue_many on PostgreSQL) and the server unnests fewer arrays."""
        constant = [col.count(col[0]) == len(col) for col in columns_data]
        if all(constant):
            constant[0] = False  # unnest() needs one array: it gives the row count
        key = tuple(constant)
        sql = self._constant_sql.get(key)
        if sql is None:
            sql = self._constant_statement(key)
            if len(self._constant_sql) < 64:
                self._constant_sql[key] = sql
        scalars = [col[0] for col, c in zip(columns_data, key, strict=True) if c]
        arrays = [col for col, c in zip(columns_data, key, strict=True) if not c]
        return sql, scalars + arrays

    def _constant_statement(self, constant: tuple[bool, ...]) -> str:
        typed = list(zip(self.db_types, constant, strict=True))
        select = ", ".join(f"%s::{t}" if c else f"u.c{i}" for i, (t, c) in enumerate(typed))
        arrays = ", ".join(f"%s::{t}[]" for t, c in typed if not c)
        names = ", ".join(f"c{i}" for i, (_, c) in enumerate(typed) if not c)
        # Types come from model metadata; values are parameters.
        return f"{self.insert_head} SELECT {select} FROM unnest({arrays}) AS u({names}){self.tail}"  # noqa: S608  # nosec B608

    def sql(self, rows: int) -> str:
        text = self._sql.get(rows)
        if text is None:
            text = self.head + ", ".join([self.row_sql] * rows) + self.tail
            if len(self._sql) < 64:
                self._sql[rows] = text
        return text


@functools.cache
def _statement(
    model: type[models.Model], columns: tuple[str, ...], ignore: bool, vendor: str
) -> _Statement:
    return _Statement(model, columns, ignore)


def insert_instances(objs: Sequence[models.Model], *, ignore_conflicts: bool = False) -> int:
    """INSERT unsaved model instances of one model (every concrete column)."""
    if not objs:
        return 0
    model = type(objs[0])
    fields, stamped, json_attnames = _columns_of(model)
    for obj in objs:
        for f in stamped:
            f.pre_save(obj, add=True)
    rows = [[getattr(obj, f.attname) for f in fields] for obj in objs]
    for name in json_attnames:
        i = next(n for n, f in enumerate(fields) if f.attname == name)
        for row in rows:
            if row[i] is not None:
                row[i] = json.dumps(row[i], cls=fields[i].encoder)
    return insert_rows(model, [f.attname for f in fields], rows, ignore_conflicts=ignore_conflicts)


@functools.cache
def _columns_of(model: type[models.Model]) -> tuple[list, list, list[str]]:
    # Database-generated columns (auto ids) are left to the database.
    fields = [f for f in model._meta.concrete_fields if not f.db_returning]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    json_attnames = [f.attname for f in fields if isinstance(f, models.JSONField)]
    return fields, stamped, json_attnames


def column_field(model: type[models.Model], name: str) -> models.Field:
    """The model's field `name` (or attname), one that has a column."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} has no column")  # a reverse relation
    return field


def column_of(field: models.Field) -> str:
    """The field's column name (column_field's fields always have one)."""
    if field.column is None:
        raise TypeError(f"{field.name} has no column")
    return field.column


def unnest(fields: Sequence[models.Field]) -> str:
    """PostgreSQL: rows as one array parameter per column. The statement text stays the
    same whatever the row count, so psycopg does not re-parse thousands of placeholders
    on every call (a tenth of a worker's time in the drain profile) and the server plans
    one short query. Parameters are bound client-side, hence the explicit types."""
    return "unnest(" + ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields) + ")"


def execute_arrays(sql: str, params: list[Any]) -> int:
    """PostgreSQL: run an unnest() statement with its parameters bound server-side, in
    binary. Django's client-side binding quotes every array element into SQL text with
    regular expressions, a fifth of a 100-job batch submit, and the server parses it all
    back. Returns the row count."""
    import psycopg  # here, not at the top: a worker on SQLite never loads it (0.13 s)

    connection.close_if_health_check_failed()  # as Django's own cursors do first
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        # %b: every parameter in binary; prepare=False: no server-side prepared
        # statements (transaction-mode poolers cannot carry them).
        cursor.execute(sql.replace("%s", "%b"), params, prepare=False)
        return cursor.rowcount


def _converter(field: models.Field) -> Converter:
    if isinstance(field, models.JSONField):
        return _identity  # JSON text
    if isinstance(field, models.DateTimeField):
        return _last_value_memo(connection.ops.adapt_datetimefield_value)
    if isinstance(field, models.UUIDField | models.ForeignKey):
        native = connection.features.has_native_uuid_field

        def uuid_value(value: Any) -> Any:
            # The common case inline; anything else the way the ORM does it.
            if type(value) is uuid.UUID:
                return value if native else value.hex
            return field.get_db_prep_value(value, connection, prepared=False)

        return uuid_value
    return _identity


def _last_value_memo(convert: Converter) -> Converter:
    """The rows of one batch share their timestamps: convert each distinct object once.
    The (value, result) pair is swapped in whole, so threads never see a torn one."""
    last: list[tuple[Any, Any]] = [(object(), None)]

    def converted(value: Any) -> Any:
        seen, result = last[0]
        if value is seen:
            return result
        result = convert(value)
        last[0] = (value, result)
        return result

    return converted


def _identity(value: Any) -> Any:
    return value


def _max_params() -> int:
    """Parameters one statement may carry. Django assumes SQLite's old default of 999;
    the library in use says its own limit (often 250,000), which lets a 1,000-job batch
    go in one statement instead of twenty."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return min(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 30000)
    limit = getattr(connection.features, "max_query_params", None) or 30000
    return min(limit, 30000)
